import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSigningKey, type KeyStore } from '../../src/config/signing-keys.ts';
import type { Jwks } from '../../src/oidc/provider-keys.ts';
import { watchSigningKeys } from '../../src/oidc/signing-key-watch.ts';

test('a store the provider refuses although it passed the checks is a failed reload, tried again at the next check', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-key-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'jwks.json');
  const now = Date.now();
  const initial: KeyStore = { keys: [generateSigningKey('RSA', now), generateSigningKey('EC P-256', now)] };
  writeFileSync(file, JSON.stringify({ keys: [...initial.keys, generateSigningKey('RSA', now, now + 3600_000)] }));
  const errors: { problem: string; error: unknown }[] = [];
  const applied: Jwks[] = [];
  let refuse = true;
  const watch = watchSigningKeys({
    file, initial, clock: () => now, everyMs: 3600_000,
    onChange(jwks) {
      if (refuse) throw new Error('jwks.keys[2] is of no use given the other configuration, remove it', { cause: jwks.keys[2] });
      applied.push(jwks);
    },
    onError: (problem, error) => errors.push({ problem, error }),
  });
  t.teardown(() => watch.close());
  await watch.check();
  t.is(errors.length, 1);
  t.regex(errors[0]!.problem, /the provider refused the keys of ".*jwks\.json"/);
  t.true(errors[0]!.error instanceof Error, 'the refusal is handed on for the (redacting) log, not thrown');
  t.is(applied.length, 0);
  refuse = false;
  await watch.check();
  t.is(applied.length, 1, 'the same store is offered again, and taken');
  t.is(applied[0]!.keys.length, 3);
});
