import test from 'ava';
import * as client from 'openid-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { scrape } from '../helpers/metrics.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';
import { passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// The real IdP on a private PostgreSQL cluster (DATABASE_URL=postgres://…), its schema migrated on
// start as outside production: members log in with a password and with a passkey, relying parties
// redeem and refresh, and while the database is down the IdP answers 503 and recovers by itself.
withPostgres('the IdP on PostgreSQL', () => {
  const cluster = sharedCluster();
  let app: TestApp;
  let databaseUrl: string;
  let now = Date.now();
  test.serial.before(async () => {
    databaseUrl = await cluster().createDatabase();
    app = await startTestApp({ env: { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '4' }, clock: () => now, metrics: true });
  });
  test.after.always(async () => app?.stop());

  const website = () => RelyingParty.website(app);
  const rows = (sql: string, values: unknown[] = []) => cluster().sql(sql, values, databaseUrl);
  const basic = `Basic ${Buffer.from(`${WEBSITE.client_id}:${WEBSITE.client_secret}`).toString('base64')}`;
  const tokenRequest = async (form: Record<string, string>) => {
    const response = await fetch(`${app.url}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), json: await response.json() as Record<string, string> };
  };
  const readyz = async () => {
    // Readiness answers from a write check at most two seconds old: move past it.
    now += 5_000;
    return (await fetch(`${app.url}/readyz`)).status;
  };

  test.serial('a password log-in, a code exchanged for tokens and a refresh, all kept in PostgreSQL', async (t) => {
    t.is(app.store.kind, 'postgres');
    t.is(app.store.inMemory, undefined, 'no sign-in state is held in the process');
    const member = await createMember(app.store);
    const rp = await website();
    const flow = await rp.start();
    const browser = new Browser(app.url);
    const { final, url } = await browser.follow(flow.url);
    const [interaction] = await rows("SELECT owner FROM documents WHERE kind = 'Interaction'");
    t.truthy(interaction, 'the sign-in in progress is in the database, where any instance can finish it');
    t.is(interaction!.owner, '127.0.0.1', 'counted against the address that started it');
    const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
    const { url: callback } = await browser.follow(posted.location!);
    const tokens = await rp.redeem(callback, flow);
    t.is(tokens.claims()!.sub, member.id);
    const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, member.id);
    t.is(userinfo.sub, member.id);
    const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
    t.truthy(refreshed.access_token);
    const replay = await t.throwsAsync(rp.redeem(callback, flow));
    t.is((replay as client.ResponseBodyError).error, 'invalid_grant', 'the code is single-use');
    const [audit] = await rows("SELECT count(*)::int AS n FROM audit WHERE member_id = $1 AND type = 'login.password' AND outcome = 'success'", [member.id]);
    t.is(audit!.n, 1);
  });

  test.serial('a passkey log-in: the challenge in the database, the counter moved forward', async (t) => {
    const member = await createMember(app.store);
    const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost', { synced: false });
    const rp = await website();
    const flow = await rp.start();
    const tokens = await rp.redeem(await passkeyLogIn(new Browser(app.url), flow.url, passkey), flow);
    t.is(tokens.claims()!.sub, member.id);
    t.is(tokens.claims()!.acr, 'phr');
    t.is((await app.store.passkeys.findById(passkey.id))?.counter, 1);
    const [challenges] = await rows("SELECT count(*)::int AS n FROM documents WHERE kind = 'WebAuthnChallenge'");
    t.true(challenges!.n >= 1, 'the record of the sign-in\'s challenges is in the database');
  });

  test.serial('a passkey log-in runs at most the counted statements and round trips, and the metrics show them', async (t) => {
    // The benchmark's client gets no refresh token: 25 statements and 25 round trips
    // (docs/benchmarks.md). This one is allowed refresh tokens, which adds the INSERT of one.
    const STATEMENTS = 26;
    const ROUND_TRIPS = 26;
    const member = await createMember(app.store);
    const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
    const traffic = async () => {
      const metrics = await scrape(app.metricsUrl!);
      return { statements: metrics.value('jmb_store_statements_total'), roundTrips: metrics.value('jmb_store_round_trips_total') };
    };
    const before = await traffic();
    t.deepEqual([app.store.statementsRun?.(), app.store.roundTripsRun?.()], [before.statements, before.roundTrips], 'the metrics are the store\'s own counts');
    const rp = await website();
    const flow = await rp.start({ scope: 'openid profile' });
    await rp.redeem(await passkeyLogIn(new Browser(app.url), flow.url, passkey), flow);
    const after = await traffic();
    const statements = after.statements - before.statements;
    const roundTrips = after.roundTrips - before.roundTrips;
    t.true(statements > 0 && statements <= STATEMENTS, `a passkey log-in ran ${statements} statements, at most ${STATEMENTS} expected`);
    t.true(roundTrips >= statements && roundTrips <= ROUND_TRIPS, `a passkey log-in made ${roundTrips} round trips, at least one a statement and at most ${ROUND_TRIPS} expected`);
    t.is(await readyz(), 200);
    t.deepEqual(await traffic(), after, 'a readiness check is not counted');
  });

  test.serial('a member logging in over another member\'s session in the same browser: asked to log the other out, then signed in', async (t) => {
    const [first, second] = [await createMember(app.store), await createMember(app.store)];
    const rp = await website();
    const browser = new Browser(app.url);
    const before = await rp.start();
    await rp.redeem(await passwordLogIn(browser, before.url, first.number, first.password), before);
    const flow = await rp.start({ prompt: 'login' });
    const { final, url } = await browser.follow(flow.url);
    const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: second.number, password: second.password });
    // The resume finds the log-in is for another member than the browser's session: oidc-provider
    // writes the sign-in back and has the browser confirm ending the first member's session.
    const { final: question } = await browser.follow(posted.location!);
    const action = /<form method="post" action="([^"]+)"/.exec(question.html)?.[1];
    t.regex(action ?? '', /\/session\/end\/confirm$/);
    const uid = new URL(url).pathname.split('/').at(-1)!;
    t.deepEqual(await rows("SELECT id FROM documents WHERE kind = 'Interaction' AND id = $1", [uid]), [{ id: uid }], 'the sign-in is kept across the question');
    const confirmed = await browser.post(action!, { xsrf: hiddenField(question.html, 'xsrf'), logout: 'yes' });
    const { url: callback } = await browser.follow(confirmed.location!);
    const tokens = await rp.redeem(callback, flow);
    t.is(tokens.claims()!.sub, second.id);
    t.deepEqual(await rows("SELECT id FROM documents WHERE kind = 'Interaction' AND id = $1", [uid]), [], 'and gone once it is finished');
  });

  test.serial('while PostgreSQL is down: 503 with Retry-After, /readyz 503; once it is back the IdP serves again without a restart and nothing answered is lost', async (t) => {
    const member = await createMember(app.store);
    const rp = await website();
    const pending = await rp.start();
    const code = new URL(await passwordLogIn(new Browser(app.url), pending.url, member.number, member.password)).searchParams.get('code')!;
    const flow = await rp.start();
    const tokens = await rp.redeem(await passwordLogIn(new Browser(app.url), flow.url, member.number, member.password), flow);
    t.is(await readyz(), 200);

    await cluster().halt();
    try {
      t.is(await readyz(), 503, '/readyz takes the instance out');
      const login = await new Browser(app.url).get((await rp.start()).url);
      t.is(login.status, 503, 'no new sign-in can start');
      t.regex(login.headers.get('retry-after') ?? '', /^\d+$/);
      t.notRegex(login.html, /Something went wrong|Internal Server Error|at \w+ \(/);
      const grants: Record<string, string>[] = [
        { grant_type: 'authorization_code', code, redirect_uri: WEBSITE.redirect_uris[0]!, code_verifier: pending.verifier },
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
      ];
      for (const form of grants) {
        const answer = await tokenRequest(form);
        t.is(answer.status, 503, form.grant_type);
        t.is(answer.json.error, 'temporarily_unavailable');
        t.regex(answer.retryAfter ?? '', /^\d+$/);
      }
    } finally {
      await cluster().resume();
    }

    const deadline = Date.now() + 30_000;
    while ((await readyz()) !== 200) {
      if (Date.now() > deadline) t.fail('/readyz did not turn 200 again');
      await sleep(100);
    }
    const redeemed = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: WEBSITE.redirect_uris[0]!, code_verifier: pending.verifier });
    t.is(redeemed.status, 200, 'the code refused during the outage was not used up');
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    t.is(refreshed.status, 200, 'nor was the refresh token rotated');
    const again = await rp.start();
    t.truthy((await rp.redeem(await passwordLogIn(new Browser(app.url), again.url, member.number, member.password), again)).id_token);
  });
});
