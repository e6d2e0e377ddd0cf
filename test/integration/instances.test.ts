import test, { type ExecutionContext } from 'ava';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import * as client from 'openid-client';
import { generateJwks } from '../../src/config/load.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/port.ts';
import { Browser, hiddenField, type PageResponse } from '../helpers/browser.ts';
import { startIdpProcess, type IdpProcess } from '../helpers/idp-process.ts';
import { runKeys } from '../helpers/keys-cli.ts';
import { createMember } from '../helpers/members.ts';
import { freePort } from '../helpers/ports.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';
import { enrolSoftPasskey, type SoftPasskey } from '../helpers/soft-authenticator.ts';

const REDIRECT_URI = 'https://rp.example.com/cb';
const SECRET = 'website-secret-for-tests-only-0123456789';
const BASIC = `Basic ${Buffer.from(`website:${SECRET}`).toString('base64')}`;
const TRIALS = 20;
/** Sign-ins one client address may start per minute, on all instances together. */
const STARTS_PER_ADDRESS = 6;

/** A step of a sign-in answered with something else than the step's success. */
class Refused extends Error {
  readonly status: number;
  constructor(step: string, response: { status: number }) {
    super(`${step} answered ${response.status}`);
    this.status = response.status;
  }
}

/** A client address of its own, as the load balancer in front would report it. */
const someAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const randomOf = <T>(items: readonly T[]): T => items[randomInt(items.length)]!;

/**
 * Three IdP processes, each `node src/main.ts` on a port of its own, on one PostgreSQL database, with
 * one key store file, one cookie key and one issuer, as behind a load balancer. A test chooses which
 * instance answers each request: a member's browser whose every step goes somewhere else, relying
 * parties racing one code at all three, an instance killed or the database stopped under load.
 */
withPostgres('three IdP instances on one PostgreSQL', () => {
  const cluster = sharedCluster();
  let dir: string;
  let issuer: string;
  let jwksFile: string;
  let store: Store;
  let instances: IdpProcess[] = [];
  let A: IdpProcess;
  let B: IdpProcess;
  let C: IdpProcess;
  /** The instances that are up: where the load balancer sends requests. */
  let alive: IdpProcess[] = [];
  let relyingParty: Server;
  /** Every back-channel logout token the relying party received. */
  const logoutTokens: string[] = [];

  test.serial.before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'jmb-instances-'));
    relyingParty = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
        logoutTokens.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => relyingParty.listen(0, '127.0.0.1', resolve));
    const clients = path.join(dir, 'clients.json');
    writeFileSync(clients, JSON.stringify([{
      client_id: 'website',
      client_secret: SECRET,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      backchannel_logout_uri: `http://127.0.0.1:${(relyingParty.address() as AddressInfo).port}/backchannel-logout`,
      backchannel_logout_session_required: true,
    }]));
    jwksFile = path.join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(generateJwks()), { mode: 0o600 });
    const databaseUrl = await cluster().createDatabase();
    // The issuer is the load balancer's address; nothing needs to listen there.
    issuer = `http://localhost:${await freePort()}`;
    const env = {
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '4',
      ISSUER: issuer,
      OIDC_CLIENTS_FILE: clients,
      JWKS_FILE: jwksFile,
      COOKIE_KEYS: randomBytes(32).toString('base64url'),
      SIGNING_KEY_CHECK_SECONDS: '1',
      // The test is the load balancer: it names each request's client address.
      TRUST_PROXY: '1',
      SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: String(STARTS_PER_ADDRESS),
      LOGIN_MAX_FAILURES_PER_MEMBER: '2',
      PASSKEY_OFFER: 'off',
      // Three IdPs and PostgreSQL share a small machine with other tests: no shedding here.
      PASSWORD_HASH_MAX_WAIT_MS: '60000',
      SHED_EVENT_LOOP_DELAY_MS: '60000',
    };
    instances = await Promise.all(['a', 'b', 'c'].map(async (name) => {
      mkdirSync(path.join(dir, name));
      return startIdpProcess({ ...env, PORT: String(await freePort()), DATA_DIR: path.join(dir, name) });
    }));
    [A, B, C] = instances as [IdpProcess, IdpProcess, IdpProcess];
    alive = [A, B, C];
    store = await openStore(databaseUrl, { poolSize: 2 });
  });
  test.after.always(async () => {
    await Promise.all(instances.map((idp) => idp.stop('SIGKILL')));
    await store?.close();
    relyingParty?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A member's browser behind the load balancer: every request goes to the instance `via` names. */
  class InstanceBrowser extends Browser {
    via: IdpProcess;
    constructor(via: IdpProcess) {
      super(issuer);
      this.via = via;
      this.extraHeaders = { 'x-forwarded-for': someAddress() };
    }

    override async request(url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<PageResponse> {
      const target = new URL(url, this.origin);
      if (target.origin !== this.origin) return super.request(url, init);
      const response = await super.request(`${this.via.url}${target.pathname}${target.search}`, init);
      // A redirect the IdP writes as a path comes back resolved against the instance: put it back on the issuer.
      const location = response.location?.startsWith(`${this.via.url}/`) ? `${this.origin}${response.location.slice(this.via.url.length)}` : response.location;
      return { ...response, location };
    }
  }

  /** An authorization request of the relying party (code flow with PKCE). */
  async function authorization() {
    const verifier = client.randomPKCECodeVerifier();
    const query = new URLSearchParams({
      client_id: 'website',
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: client.randomState(),
      nonce: client.randomNonce(),
    });
    return { url: `${issuer}/auth?${query}`, verifier };
  }

  /** The code in the redirect back to the relying party. */
  const codeIn = (callback: string, final: PageResponse) => {
    if (!callback.startsWith(REDIRECT_URI)) throw new Refused(`the way back to the relying party (${callback})`, final);
    return new URL(callback).searchParams.get('code')!;
  };

  /** A passkey log-in whose log-in page, options and assertion are answered by the instances given. */
  async function passkeyCode(browser: InstanceBrowser, passkey: SoftPasskey, [page, options, assertion]: IdpProcess[]) {
    const request = await authorization();
    browser.via = page!;
    const { final, url } = await browser.follow(request.url);
    if (!url.includes('/interaction/')) throw new Refused('the log-in page', final);
    browser.via = options!;
    const asked = await browser.postJson(`${url}/passkey/options`);
    if (asked.status !== 200) throw new Refused('passkey options', asked);
    browser.via = assertion!;
    const answered = await browser.postJson(`${url}/passkey`, passkey.assert(asked.json, browser.origin));
    if (answered.status !== 200) throw new Refused('the passkey assertion', answered);
    const back = await browser.follow(answered.json.redirectTo);
    return { code: codeIn(back.url, back.final), verifier: request.verifier };
  }

  /** A code for the member already logged in in `browser` (single sign-on), from the instance `via`. */
  async function ssoCode(browser: InstanceBrowser, via: IdpProcess) {
    const request = await authorization();
    browser.via = via;
    const back = await browser.follow(request.url);
    return { code: codeIn(back.url, back.final), verifier: request.verifier };
  }

  async function tokenAt(idp: IdpProcess, form: Record<string, string>) {
    const response = await fetch(`${idp.url}/token`, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, json: await response.json() as Record<string, string> };
  }
  const redeemAt = (idp: IdpProcess, { code, verifier }: { code: string; verifier: string }) =>
    tokenAt(idp, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  const userinfoAt = async (idp: IdpProcess, accessToken: string) => {
    const response = await fetch(`${idp.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    return { status: response.status, json: await response.json() as Record<string, string> };
  };
  const publishedKids = async (idp: IdpProcess) => ((await (await fetch(`${idp.url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
  const readyz = async (idp: IdpProcess) => (await fetch(`${idp.url}/readyz`)).status;

  /** Waits until `condition` holds, asking again and again; fails the test if it never does. */
  async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within a minute`);
      await sleep(50);
    }
  }

  async function memberWithPasskey() {
    const member = await createMember(store);
    return { member, passkey: await enrolSoftPasskey(store, member.id, 'localhost', { synced: false }) };
  }

  type Answered = { code: string; verifier: string; tokens: Record<string, string>; at: IdpProcess };

  /**
   * Members logging in with passkeys over and over, each step at an instance picked from those up,
   * until stopped: every token response answered 200 is kept, with its code; refusals by status.
   */
  async function startLoad(members: number) {
    const passkeys = await Promise.all(Array.from({ length: members }, async () => (await memberWithPasskey()).passkey));
    const answered: Answered[] = [];
    const refused = new Map<number, number>();
    let unreachable = 0;
    let running = true;
    const loop = async (passkey: SoftPasskey) => {
      while (running) {
        try {
          const got = await passkeyCode(new InstanceBrowser(randomOf(alive)), passkey, [randomOf(alive), randomOf(alive), randomOf(alive)]);
          const at = randomOf(alive);
          const response = await redeemAt(at, got);
          if (response.status !== 200) throw new Refused('the token request', response);
          answered.push({ ...got, tokens: response.json, at });
        } catch (error) {
          if (error instanceof Refused) refused.set(error.status, (refused.get(error.status) ?? 0) + 1);
          else unreachable++;
          // A browser that was refused does not come back at once either.
          await sleep(25);
        }
      }
    };
    const loops = passkeys.map(loop);
    return {
      answered,
      refused,
      unreachable: () => unreachable,
      async stop() {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  /** After an outage: every token answered 200 still works, and every code redeemed then is spent. */
  async function nothingAnsweredLost(t: ExecutionContext, answered: readonly Answered[]) {
    t.true(answered.length > 0);
    const userinfo = await Promise.all(answered.map(({ tokens }) => userinfoAt(randomOf(alive), tokens.access_token!)));
    t.deepEqual(userinfo.filter((response) => response.status !== 200), [], 'every access token answered works at userinfo');
    // Only now: a code redeemed twice revokes what it gave.
    const again = await Promise.all(answered.map((got) => redeemAt(randomOf(alive), got)));
    t.deepEqual(again.filter((response) => response.status !== 400 || response.json.error !== 'invalid_grant'), [], 'every code answered is single-use');
  }

  test.serial('a sign-in whose log-in page comes from A, passkey options from B and the assertion goes to C, redeemed at A', async (t) => {
    const { member, passkey } = await memberWithPasskey();
    const browser = new InstanceBrowser(A);
    const got = await passkeyCode(browser, passkey, [A, B, C]);
    const tokens = await redeemAt(A, got);
    t.is(tokens.status, 200);
    const jwks = jose.createLocalJWKSet(await (await fetch(`${B.url}/jwks`)).json() as jose.JSONWebKeySet);
    const { payload } = await jose.jwtVerify(tokens.json.id_token!, jwks, { issuer, audience: 'website' });
    t.is(payload.sub, member.id);
    t.is(payload.acr, 'phr');
    t.like(await userinfoAt(C, tokens.json.access_token!), { status: 200, json: { sub: member.id } });
    t.is((await store.passkeys.findById(passkey.id))?.counter, 1);
  });

  test.serial('the per-address sign-in budget holds across instances: spread over three, an address starts no more than on one', async (t) => {
    const address = someAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 2 * STARTS_PER_ADDRESS; i++) {
      const browser = new InstanceBrowser(instances[i % 3]!);
      browser.extraHeaders['x-forwarded-for'] = address;
      statuses.push((await browser.get((await authorization()).url)).status);
    }
    t.is(statuses.filter((status) => status === 303).length, STARTS_PER_ADDRESS);
    t.is(statuses.filter((status) => status === 429).length, STARTS_PER_ADDRESS);
  });

  test.serial('a member-number wait earned on A holds on B and C', async (t) => {
    const member = await createMember(store);
    const attemptAt = async (idp: IdpProcess, password: string) => {
      const browser = new InstanceBrowser(idp);
      const { final, url } = await browser.follow((await authorization()).url);
      return (await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password })).status;
    };
    const onA: number[] = [];
    while (onA.at(-1) !== 429 && onA.length < 8) onA.push(await attemptAt(A, 'a wrong guess'));
    t.is(onA.at(-1), 429, `wrong passwords on A ended in a wait: ${onA.join(', ')}`);
    t.is(await attemptAt(B, member.password), 429, 'on B the member number waits, even with the right password');
    t.is(await attemptAt(C, member.password), 429, 'and on C');
  });

  test.serial('one authorization code sent to three instances at the same moment yields exactly one token response, 20 times over', async (t) => {
    const { passkey } = await memberWithPasskey();
    const browser = new InstanceBrowser(A);
    await passkeyCode(browser, passkey, [A, B, C]);
    for (let i = 0; i < TRIALS; i++) {
      const got = await ssoCode(browser, instances[i % 3]!);
      const results = await Promise.all(instances.map((idp) => redeemAt(idp, got)));
      t.is(results.filter((result) => result.status === 200).length, 1, `trial ${i}`);
      t.deepEqual(results.filter((result) => result.status !== 200).map((result) => [result.status, result.json.error]), [[400, 'invalid_grant'], [400, 'invalid_grant']]);
    }
  });

  test.serial('one refresh token sent to three instances at the same moment yields exactly one new pair of tokens, 20 times over', async (t) => {
    const { passkey } = await memberWithPasskey();
    const browser = new InstanceBrowser(B);
    await passkeyCode(browser, passkey, [B, C, A]);
    for (let i = 0; i < TRIALS; i++) {
      const redeemed = await redeemAt(A, await ssoCode(browser, instances[i % 3]!));
      t.is(redeemed.status, 200);
      const results = await Promise.all(instances.map((idp) => tokenAt(idp, { grant_type: 'refresh_token', refresh_token: redeemed.json.refresh_token! })));
      t.is(results.filter((result) => result.status === 200).length, 1, `trial ${i}`);
      t.true(results.filter((result) => result.status !== 200).every((result) => result.status === 400 && result.json.error === 'invalid_grant'), `trial ${i}`);
    }
  });

  test.serial('"Log out everywhere else" on B ends the sessions made on A and C, and the relying party hears of both', async (t) => {
    const { passkey } = await memberWithPasskey();
    const signedIn = async (idp: IdpProcess) => {
      const browser = new InstanceBrowser(idp);
      const tokens = await redeemAt(idp, await passkeyCode(browser, passkey, [idp, idp, idp]));
      return { browser, tokens: tokens.json, sid: jose.decodeJwt(tokens.json.id_token!).sid };
    };
    const onA = await signedIn(A);
    const onC = await signedIn(C);
    const onB = await signedIn(B);
    const told = logoutTokens.length;
    const page = await onB.browser.get('/account');
    t.regex(page.html, />Log out everywhere else</);
    t.is((await onB.browser.post('/account/sessions/logout-others', { csrf: hiddenField(page.html, 'csrf') })).status, 303);
    await until(() => logoutTokens.length >= told + 2, 'two back-channel logouts');
    const jwks = jose.createLocalJWKSet(await (await fetch(`${C.url}/jwks`)).json() as jose.JSONWebKeySet);
    const sids = await Promise.all(logoutTokens.slice(told).map(async (token) => (await jose.jwtVerify(token, jwks, { issuer, audience: 'website' })).payload.sid));
    t.deepEqual(sids.sort(), [onA.sid, onC.sid].sort());

    for (const [ended, idp] of [[onA, A], [onC, C]] as const) {
      ended.browser.via = idp;
      t.regex((await ended.browser.follow((await authorization()).url)).url, /\/interaction\//, 'that browser must log in again');
      t.is((await tokenAt(idp, { grant_type: 'refresh_token', refresh_token: ended.tokens.refresh_token! })).status, 400, 'its refresh token is revoked');
    }
    t.truthy(await ssoCode(onB.browser, A), 'B\'s browser is still logged in, wherever it goes');
  });

  test.serial('npm run keys -- rotate on the shared key file is picked up by all three without a restart', async (t) => {
    const rotated = await runKeys(['rotate'], { JWKS_FILE: jwksFile });
    t.is(rotated.code, 0, rotated.stderr);
    const next = rotated.rows.filter((row) => row.state === 'next').map((row) => row.kid);
    t.is(next.length, 2);
    for (const idp of instances) {
      await idp.line((line) => line.msg === 'signing keys changed', 'the key change');
      const published = await publishedKids(idp);
      for (const kid of next) t.true(published.includes(kid!), `${idp.url} publishes ${kid}`);
    }
  });

  test.serial('PostgreSQL restarted and stopped under load: 503s while it is down, every instance serves again once it is back, and nothing answered is lost', async (t) => {
    const load = await startLoad(4);
    try {
      await until(() => load.answered.length >= 6, 'log-ins before the restart');
      await cluster().restart();
      const afterRestart = load.answered.length;
      await until(() => load.answered.slice(afterRestart).length >= 6, 'log-ins after the restart');
      // A longer outage, held until the load has met it: stopped (pg_ctl stop -m fast), then started again.
      await cluster().halt();
      try {
        await until(() => (load.refused.get(503) ?? 0) >= 3, '503s during the outage');
        for (const idp of instances) t.is(await readyz(idp), 503, `${idp.url}/readyz takes the instance out`);
      } finally {
        await cluster().resume();
      }
      const afterOutage = load.answered.length;
      for (const idp of instances) await until(async () => (await readyz(idp)) === 200, `${idp.url}/readyz ready again`);
      await until(() => load.answered.slice(afterOutage).length >= 6, 'log-ins after the outage');
    } finally {
      await load.stop();
    }
    t.deepEqual([...load.refused.keys()].filter((status) => status >= 500 && status !== 503), [], 'nothing but 503 for the outage');
    t.is(load.unreachable(), 0, 'no instance stopped answering');
    // Each instance serves a whole sign-in and token exchange of its own.
    const { passkey } = await memberWithPasskey();
    for (const idp of instances) t.is((await redeemAt(idp, await passkeyCode(new InstanceBrowser(idp), passkey, [idp, idp, idp]))).status, 200);
    await nothingAnsweredLost(t, load.answered);
  });

  test.serial('kill -9 of one instance under load loses nothing already answered, and the other two keep serving', async (t) => {
    const load = await startLoad(4);
    let killedAt = 0;
    try {
      await until(() => load.answered.filter((answered) => answered.at === A).length >= 2, 'log-ins redeemed at A');
      A.child.kill('SIGKILL');
      // The load balancer notices at once; requests already on their way to A fail.
      alive = [B, C];
      await A.exited;
      killedAt = load.answered.length;
      await until(() => load.answered.length >= killedAt + 8, 'log-ins after the kill');
    } finally {
      await load.stop();
    }
    t.true(load.answered.slice(killedAt).every((answered) => answered.at !== A));
    t.deepEqual([...load.refused.keys()].filter((status) => status >= 500), [], 'no instance answered with an error for another\'s death');
    await nothingAnsweredLost(t, load.answered);
  });
});
