import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';
import * as client from 'openid-client';
import { SIGNING_KEY_RETENTION_SECONDS } from '../../src/oidc/lifetimes.ts';
import { retireKeys, type KeyStore } from '../../src/config/signing-keys.ts';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { runKeys } from '../helpers/keys-cli.ts';
import { scrape } from '../helpers/metrics.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const HOUR = 3600_000;

// The programme's own clients ask for ES256; a client that names nothing gets RS256.
const ES256_SITE = { ...WEBSITE, client_id: 'es256-site', id_token_signed_response_alg: 'ES256' };

/**
 * A relying party's JWKS cache as the careful ones keep it: fetched once, kept for `maxAgeMs` of the
 * IdP's clock, and never fetched again early, not even for a key id it does not know. Every ID token
 * it gets must verify against what it has.
 */
class CachedJwks {
  fetches = 0;
  private keys: jose.JSONWebKeySet | undefined;
  private fetchedAt = 0;
  private readonly url: string;
  private readonly maxAgeMs: number;
  private readonly clock: () => number;
  constructor(url: string, maxAgeMs: number, clock: () => number) {
    this.url = url;
    this.maxAgeMs = maxAgeMs;
    this.clock = clock;
  }

  async verify(idToken: string, audience: string, issuer: string) {
    if (!this.keys || this.clock() - this.fetchedAt >= this.maxAgeMs) {
      this.keys = await (await fetch(this.url)).json() as jose.JSONWebKeySet;
      this.fetchedAt = this.clock();
      this.fetches++;
    }
    return jose.jwtVerify(idToken, jose.createLocalJWKSet(this.keys), { issuer, audience });
  }
}

async function signedInParty(app: TestApp, metadata: typeof WEBSITE, clock: () => number) {
  const member = await createMember(app.store);
  const rp = await RelyingParty.of(app, metadata);
  const browser = new Browser(app.url);
  const cache = new CachedJwks(`${app.url}/jwks`, 20 * HOUR, clock);
  /** A log-in at the relying party (single sign-on while the IdP session lasts), its ID token verified against the cache. */
  const logIn = async () => {
    const flow = await rp.start();
    let { final, url } = await browser.follow(flow.url);
    if (url.includes('/interaction/')) {
      const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
      ({ url } = await browser.follow(posted.location!));
    }
    const tokens = await rp.redeem(url, flow);
    const { protectedHeader } = await cache.verify(tokens.id_token!, metadata.client_id, app.url);
    return { kid: protectedHeader.kid!, alg: protectedHeader.alg, idToken: tokens.id_token! };
  };
  return { rp, browser, cache, logIn };
}

const published = async (app: TestApp) => ((await (await fetch(`${app.url}/jwks`)).json()) as { keys: { kid: string; key_ops?: string[] }[] }).keys;

test('through a rotation and a retirement, every ID token verifies against a relying party\'s cached JWKS, for RS256 and ES256 alike', async (t) => {
  let now = Date.now();
  const clock = () => now;
  const app = await startTestApp({ clock, clients: [WEBSITE, ES256_SITE], metrics: true });
  t.teardown(() => app.stop());
  const parties = [await signedInParty(app, WEBSITE, clock), await signedInParty(app, ES256_SITE, clock)];

  const before = await Promise.all(parties.map((party) => party.logIn()));
  t.deepEqual(before.map((token) => token.alg), ['RS256', 'ES256']);

  const rotated = await runKeys(['rotate'], { DATA_DIR: app.dir });
  t.is(rotated.code, 0, rotated.stderr);
  t.deepEqual(rotated.rows.map((row) => [row.kind, row.state]), [['RSA', 'next'], ['EC P-256', 'next']]);
  const signsFrom = Date.parse(rotated.rows[0]!.signs_from!);
  t.true(Math.abs(signsFrom - (Date.now() + 24 * HOUR)) < HOUR, 'the new keys sign a day later');
  await app.checkSigningKeys();

  const newKids = rotated.rows.map((row) => row.kid!);
  const keys = await published(app);
  t.deepEqual(keys.filter((key) => newKids.includes(key.kid)).map((key) => key.key_ops), [['verify'], ['verify']], 'the new keys are published at once, for verification');
  for (const party of parties) {
    const token = await party.logIn();
    t.true(before.some((old) => old.kid === token.kid), 'and nothing is signed with them yet');
  }

  // Each cache (kept 20 hours) is renewed once within the day; the IdP switches keys only after the day has passed.
  now += 21 * HOUR;
  for (const party of parties) await party.logIn();
  now = signsFrom + 60_000;
  await app.checkSigningKeys();
  const after = await Promise.all(parties.map((party) => party.logIn()));
  t.deepEqual(after.map((token) => token.alg), ['RS256', 'ES256']);
  t.deepEqual(after.map((token) => token.kid), newKids, 'the new keys sign now');
  t.deepEqual(parties.map((party) => party.cache.fetches), [2, 2], 'no relying party had to fetch the JWKS early');

  // A member logging out with an ID token signed before the switch is still recognised.
  const [website] = parties;
  const hint = before[0]!.idToken;
  const confirm = await website!.browser.get(client.buildEndSessionUrl(website!.rp.config, { id_token_hint: hint }).toString());
  t.is(confirm.status, 200, 'an id_token_hint signed by the replaced key is accepted');
  t.truthy(hiddenField(confirm.html, 'xsrf'));

  // Retiring too early keeps the replaced keys; once nothing they signed can come back, they go.
  const early = await runKeys(['retire'], { DATA_DIR: app.dir });
  t.is(early.code, 0, early.stderr);
  t.is(early.rows.length, 4);
  now = signsFrom + SIGNING_KEY_RETENTION_SECONDS * 1000 + 60_000;
  const file = app.config.jwksFile;
  const { store, removed } = retireKeys(JSON.parse(readFileSync(file, 'utf8')) as KeyStore, now, SIGNING_KEY_RETENTION_SECONDS * 1000);
  t.deepEqual(removed.map((key) => key.kid), before.map((token) => token.kid).sort((a, b) => (a.startsWith('rs') ? 1 : -1) - (b.startsWith('rs') ? 1 : -1)));
  writeFileSync(file, JSON.stringify(store));
  await app.checkSigningKeys();
  t.deepEqual((await published(app)).map((key) => key.kid).sort(), [...newKids].sort(), 'only the new keys are published');
  // The IdP sessions have ended by now: the members log in again, and their ID tokens still verify.
  for (const party of parties) t.is((await party.logIn()).kid, newKids[parties.indexOf(party)]);
  t.is((await scrape(app.metricsUrl!)).value('jmb_signing_keys_reload_failures_total'), 0);
});

test('a running IdP picks up a rotation by itself, and a key store it cannot use changes nothing', async (t) => {
  const app = await startTestApp({ metrics: true, signingKeyCheckMs: 100 });
  t.teardown(() => app.stop());
  const original = await published(app);
  t.is((await runKeys(['rotate'], { DATA_DIR: app.dir })).code, 0);
  const deadline = Date.now() + 20_000;
  while ((await published(app)).length === original.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.is((await published(app)).length, original.length + 2, 'the new keys are published without a restart');

  const good = readFileSync(app.config.jwksFile, 'utf8');
  writeFileSync(app.config.jwksFile, '{"keys": [');
  await app.checkSigningKeys();
  writeFileSync(app.config.jwksFile, JSON.stringify({ keys: (JSON.parse(good) as KeyStore).keys.filter((key) => key.kty !== 'RSA') }));
  await app.checkSigningKeys();
  t.is((await published(app)).length, original.length + 2, 'a broken or incomplete key store leaves the keys as they were');
  t.true((await scrape(app.metricsUrl!)).value('jmb_signing_keys_reload_failures_total') >= 2, 'and is counted for the alert');
  const rp = await RelyingParty.website(app);
  const member = await createMember(app.store);
  const flow = await rp.start();
  t.truthy((await rp.redeem(await passwordLogIn(new Browser(app.url), flow.url, member.number, member.password), flow)).id_token, 'log-ins go on');
});
