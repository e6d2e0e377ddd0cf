import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';
import { createLogger } from '../../src/log.ts';
import type { KeyStore, ScheduledJwk } from '../../src/config/signing-keys.ts';
import { runKeys } from '../helpers/keys-cli.ts';
import { scrape } from '../helpers/metrics.ts';
import { logInWithPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const ES256_SITE = { ...WEBSITE, client_id: 'es256-site', id_token_signed_response_alg: 'ES256' };
const RELOAD_FAILED = 'signing keys not reloaded: the IdP keeps signing with the keys it has';

type Logged = { level: string; msg: string; problem?: string };

async function startApp(signingKeyCheckMs?: number) {
  const lines: string[] = [];
  const app = await startTestApp({ clients: [WEBSITE, ES256_SITE], metrics: true, signingKeyCheckMs, logger: createLogger('info', (line) => lines.push(line)) });
  const failures = () => lines.map((line) => JSON.parse(line) as Logged).filter((entry) => entry.msg === RELOAD_FAILED);
  return { app, lines, failures };
}

/** The kid and algorithm of the ID token a fresh password log-in at `client` gets, verified against the published JWKS. */
async function signedBy(app: TestApp, client: typeof WEBSITE): Promise<[string | undefined, string]> {
  const member = await createMember(app.store);
  const rp = await RelyingParty.of(app, client);
  const { tokens } = await logInWithPassword(rp, member);
  const { protectedHeader } = await jose.jwtVerify(tokens.id_token!, jose.createLocalJWKSet(await (await fetch(`${app.url}/jwks`)).json()));
  return [protectedHeader.kid, protectedHeader.alg];
}

const published = async (app: TestApp) => (await (await fetch(`${app.url}/jwks`)).text());
const reloadFailures = async (app: TestApp) => (await scrape(app.metricsUrl!)).value('jmb_signing_keys_reload_failures_total');

/** Each way a key store was found to take a running IdP down, as a file's text. */
function badStores(good: KeyStore): { name: string; kid: string; text: string; material: string[] }[] {
  const rsa = good.keys.find((key) => key.kty === 'RSA')!;
  const ec = good.keys.find((key) => key.kty === 'EC')!;
  const { p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...withoutCrt } = rsa;
  const replaced = (key: ScheduledJwk) => JSON.stringify({ keys: good.keys.map((old) => (old.kty === key.kty ? key : old)) });
  const oct = { kty: 'oct', kid: 'hmac-1', k: 'cXVpdGUgYSBsb25nIHNoYXJlZCBzZWNyZXQgZm9yIEhTMjU2', d: String(ec.d) };
  const material = [rsa, ec].flatMap((key) => ['n', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'x', 'y'].map((member) => key[member]).filter((value): value is string => typeof value === 'string'));
  return [
    { name: 'an RSA key without its CRT parameters', kid: String(rsa.kid), text: replaced(withoutCrt as ScheduledJwk), material },
    { name: 'an RSA key with alg RS384', kid: String(rsa.kid), text: replaced({ ...rsa, alg: 'RS384' }), material },
    { name: 'an EC key for encryption', kid: String(ec.kid), text: replaced({ ...ec, use: 'enc' }), material },
    { name: 'an extra symmetric key', kid: 'hmac-1', text: JSON.stringify({ keys: [...good.keys, oct] }), material: [...material, oct.k] },
    { name: 'a file that is not JSON', kid: '', text: `{"keys": [{"kty": "EC", "d": ${String(ec.d)}}]}`, material },
  ];
}

test('a running IdP whose key store is replaced by a bad one keeps serving and signing with its keys, logs one line, and takes a good store later', async (t) => {
  const { app, failures } = await startApp();
  t.teardown(() => app.stop());
  const jwks = await published(app);
  const signers = [await signedBy(app, WEBSITE), await signedBy(app, ES256_SITE)];
  t.deepEqual(signers.map(([, alg]) => alg), ['RS256', 'ES256']);
  const goodText = readFileSync(app.config.jwksFile, 'utf8');

  for (const [i, bad] of badStores(JSON.parse(goodText) as KeyStore).entries()) {
    writeFileSync(app.config.jwksFile, bad.text);
    await app.checkSigningKeys();
    t.is(failures().length, i + 1, `${bad.name}: one line`);
    const line = JSON.stringify(failures().at(-1));
    t.like(failures().at(-1), { level: 'error' }, bad.name);
    if (bad.kid) t.true(line.includes(`key \\"${bad.kid}\\"`), `${bad.name}: the line names the key (${line})`);
    t.false(bad.material.some((value) => line.includes(value.slice(0, 8))), `${bad.name}: the line holds key material`);
    t.is(await reloadFailures(app), i + 1, `${bad.name}: counted for the alert`);
    t.is(await published(app), jwks, `${bad.name}: the published keys stay`);
  }
  t.deepEqual([await signedBy(app, WEBSITE), await signedBy(app, ES256_SITE)], signers, 'both kinds of client still get ID tokens signed with the keys from before');

  writeFileSync(app.config.jwksFile, goodText);
  const rotated = await runKeys(['rotate'], { JWKS_FILE: app.config.jwksFile });
  t.is(rotated.code, 0, rotated.stderr);
  const failed = failures().length;
  await app.checkSigningKeys();
  t.is(failures().length, failed, 'a good store again: no failure');
  const keys = (JSON.parse(await published(app)) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
  t.deepEqual(keys.slice(-2), rotated.rows.map((row) => row.kid), 'and its new keys are published');
});

test('the minute timer meets a bad key store without an uncaught error, and later takes a good one', async (t) => {
  const { app, failures } = await startApp(20);
  t.teardown(() => app.stop());
  const goodText = readFileSync(app.config.jwksFile, 'utf8');
  const jwks = await published(app);
  const [withoutCrt] = badStores(JSON.parse(goodText) as KeyStore);
  writeFileSync(app.config.jwksFile, withoutCrt!.text);
  await until(() => failures().length >= 3);
  t.is(await published(app), jwks);

  const rotated = await runKeys(['rotate'], { JWKS_FILE: app.config.jwksFile });
  t.is(rotated.code, 1, 'npm run keys refuses to rotate a bad store');
  writeFileSync(app.config.jwksFile, goodText);
  t.is((await runKeys(['rotate'], { JWKS_FILE: app.config.jwksFile })).code, 0);
  await until(async () => (await published(app)) !== jwks);
  t.is((JSON.parse(await published(app)) as { keys: unknown[] }).keys.length, 4, 'the rotation is published');
  t.deepEqual((await signedBy(app, WEBSITE))[1], 'RS256');
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
