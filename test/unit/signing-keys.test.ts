import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SIGNING_KEY_RETENTION_SECONDS } from '../../src/oidc/lifetimes.ts';
import { generateSigningKey, keyStoreProblems, retireKeys, rotateKeys, RotationRefused, signersAt, type KeyStore } from '../../src/config/signing-keys.ts';
import { providerJwks } from '../../src/oidc/provider-keys.ts';
import { runKeys } from '../helpers/keys-cli.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const RETENTION = SIGNING_KEY_RETENTION_SECONDS * 1000;
const t0 = Date.parse('2026-06-01T00:00:00Z');

/** A store as two rotations leave it: the first keys (no schedule), then two more pairs a month apart. */
function rotatedTwice(): KeyStore {
  const first = [generateSigningKey('EC P-256', t0 - 90 * DAY), generateSigningKey('RSA', t0 - 90 * DAY)];
  const second = [generateSigningKey('RSA', t0 - 31 * DAY, t0 - 30 * DAY), generateSigningKey('EC P-256', t0 - 31 * DAY, t0 - 30 * DAY)];
  const third = [generateSigningKey('RSA', t0 - 2 * DAY, t0 - DAY), generateSigningKey('EC P-256', t0 - 2 * DAY, t0 - DAY)];
  return { keys: [...first, ...second, ...third] };
}

test('of each kind, the key whose signs_from is latest but not in the future signs; the others are published for verification only', (t) => {
  const store = rotatedTwice();
  const [, , , , rsaNow, ecNow] = store.keys;
  t.deepEqual([...signersAt(store.keys, t0).values()].map((key) => key.kid).sort(), [rsaNow!.kid, ecNow!.kid].sort());
  const jwks = providerJwks(store, t0);
  t.deepEqual(jwks.keys.map((key) => key.key_ops), [['verify'], ['verify'], ['verify'], ['verify'], undefined, undefined]);
  t.false(jwks.keys.some((key) => 'signs_from' in key || 'added_at' in key), 'the schedule stays ours');
  t.deepEqual([...signersAt(store.keys, t0 - 1.5 * DAY).values()].map((key) => key.kid).sort(), [store.keys[2]!.kid, store.keys[3]!.kid].sort(), 'a day and a half earlier, the second pair signed');
});

test('rotate adds a pair that signs after the overlap, and refuses while a pair waits', (t) => {
  const { store, added } = rotateKeys(rotatedTwice(), t0, 24 * HOUR);
  t.deepEqual(added.map((key) => [key.kty, key.alg, key.signs_from]), [['RSA', 'RS256', new Date(t0 + DAY).toISOString()], ['EC', 'ES256', new Date(t0 + DAY).toISOString()]]);
  t.deepEqual(keyStoreProblems(store, t0), []);
  t.throws(() => rotateKeys(store, t0 + HOUR, 24 * HOUR), { instanceOf: RotationRefused, message: /already waiting to sign from/ });
  t.notThrows(() => rotateKeys(store, t0 + DAY, 24 * HOUR), 'once they sign, the next rotation may start');
});

test('retire removes only keys replaced longer ago than anything they signed can come back', (t) => {
  const store = rotatedTwice();
  const { removed, kept } = retireKeys(store, t0, RETENTION);
  t.deepEqual(removed.map((key) => key.kid), [store.keys[0]!.kid, store.keys[1]!.kid], 'the first pair, replaced 30 days ago');
  t.deepEqual(kept.map(({ state }) => state), ['verifying', 'verifying', 'signing', 'signing']);
  t.is(kept[0]!.until, t0 - DAY + RETENTION, 'the second pair may go 14 days after it was replaced');
  t.deepEqual(retireKeys(store, t0 - 29 * DAY, RETENTION).removed, [], 'a day after the first replacement, nothing may go');
});

test('a key store must let an RSA and an EC P-256 key sign now, with unique ids and readable times', (t) => {
  const store = rotatedTwice();
  t.deepEqual(keyStoreProblems(store, t0), []);
  const problems = keyStoreProblems({ keys: [
    { ...store.keys[4]!, signs_from: new Date(t0 + DAY).toISOString() },
    { ...store.keys[5]!, kid: store.keys[4]!.kid, added_at: 'yesterday' },
    { ...store.keys[3]!, key_ops: ['sign'] },
  ] }, t0);
  t.true(problems.some((p) => /the same "kid" appears 2 times/.test(p)));
  t.true(problems.some((p) => /added_at must be an ISO 8601 time/.test(p)));
  t.true(problems.some((p) => /leave out key_ops/.test(p)));
  t.true(problems.some((p) => /no RSA key may sign yet/.test(p)));
  t.true(keyStoreProblems({ keys: [store.keys[5]!] }, t0).some((p) => /must include an RSA key/.test(p)));
});

test('npm run keys: status lists every key, retire writes the store without what is no longer needed, bad input writes nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'jwks.json');
  // Times relative to now, as the tool reads the real clock.
  const now = Date.now();
  const keys = [
    generateSigningKey('EC P-256', now - 90 * DAY), generateSigningKey('RSA', now - 90 * DAY),
    generateSigningKey('RSA', now - 31 * DAY, now - 30 * DAY), generateSigningKey('EC P-256', now - 31 * DAY, now - 30 * DAY),
  ];
  writeFileSync(file, JSON.stringify({ keys }));
  const env = { JWKS_FILE: file };

  const status = await runKeys(['status'], env);
  t.is(status.code, 0, status.stderr);
  t.deepEqual(status.rows.map((row) => [row.kid, row.state]), keys.map((key, i) => [key.kid, i < 2 ? 'verifying' : 'signing']));
  t.false(status.stdout.includes(String(keys[1]!.d)), 'no private key material is printed');

  for (const [args, code, reason] of [[['rotate', '--overlap-hours', 'soon'], 2, /--overlap-hours/], [['launch'], 2, /unknown command "launch"/], [[], 2, /missing command/]] as const) {
    const run = await runKeys([...args], env);
    t.is(run.code, code, args.join(' '));
    t.regex(run.stderr, reason);
    t.regex(run.stderr, /^[^\n]+\n$/);
  }
  t.is((await runKeys(['rotate'], { ...env, SIGNING_KEY_OVERLAP_HOURS: '0' })).code, 1, 'an overlap under an hour is refused from the setting');
  t.is(JSON.parse(readFileSync(file, 'utf8')).keys.length, 4, 'nothing was written');

  const retired = await runKeys(['retire'], env);
  t.is(retired.code, 0, retired.stderr);
  t.regex(retired.stderr, new RegExp(`retired 2 key\\(s\\): ${keys[0]!.kid}, ${keys[1]!.kid}`));
  t.deepEqual(JSON.parse(readFileSync(file, 'utf8')).keys.map((key: { kid: string }) => key.kid), [keys[2]!.kid, keys[3]!.kid]);
  t.is(statSync(file).mode & 0o777, 0o600, 'the store stays readable by its owner only');

  writeFileSync(file, JSON.stringify({ keys: [keys[2]] }));
  const broken = await runKeys(['rotate'], env);
  t.is(broken.code, 1);
  t.regex(broken.stderr, /must include an EC P-256 key/);
});
