import test from 'ava';
import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { passkeyAttempt, passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey, enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { scrape } from '../helpers/metrics.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

// The IdP's own connection is made read-only (as when the file system goes read-only after a disk
// error) and writable again; readiness is checked afresh once the clock has moved on.
const sms = new MemorySms();
let now = Date.now();
const clock = () => now;
let connection: DatabaseSync;
let app: TestApp;
test.before(async () => {
  app = await startTestApp({
    sms,
    clock,
    metrics: true,
    openStore: (file) => openSqliteStore(file, clock, {
      owner: true,
      signInKinds: { Interaction: { max: 1000, perOwner: 1000 }, WebAuthnChallenge: { max: 1000, perOwner: 1000 } },
      connected: (db) => {
        connection = db;
      },
    }),
  });
});
test.after.always(async () => app?.stop());

const writesFail = () => connection.exec('PRAGMA query_only = 1');
const writesWork = () => connection.exec('PRAGMA query_only = 0');
const website = () => RelyingParty.website(app);
const basic = `Basic ${Buffer.from(`${WEBSITE.client_id}:${WEBSITE.client_secret}`).toString('base64')}`;
let phone = 2000;
const newMember = () => createMember(app.store, { phone: `+81901235${String(phone++).padStart(4, '0')}` });

async function readyz() {
  now += 5_000;
  const response = await fetch(`${app.url}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function tokenRequest(form: Record<string, string>) {
  const response = await fetch(`${app.url}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), json: await response.json() };
}

/** What every refused request must look like to a browser. */
function assertUnavailablePage(t: import('ava').ExecutionContext, response: { status: number; html: string; headers: Headers }) {
  t.is(response.status, 503);
  t.regex(response.headers.get('retry-after') ?? '', /^\d+$/);
  t.regex(response.html, /We cannot complete this right now/);
  t.regex(response.html, /Please try again in a few minutes/);
  t.notRegex(response.html, /Something went wrong|Internal Server Error/);
}

test.serial('while the store cannot write: 503 with Retry-After everywhere, /readyz 503; afterwards everything works and nothing was half-written', async (t) => {
  const member = await newMember();
  const passkeyMember = await newMember();
  const passkey = await enrolSoftPasskey(app.store, passkeyMember.id, 'localhost');
  const rp = await website();
  t.is((await readyz()).status, 200);

  // Prepared while writes work: a code not yet redeemed, a refresh token, a log-in page, a sign-in
  // that is about to open the SMS step, and a member at Passkey Settings.
  const pending = await rp.start();
  const pendingCallback = new URL(await passwordLogIn(new Browser(app.url), pending.url, member.number, member.password));
  const code = pendingCallback.searchParams.get('code')!;
  const refreshFlow = await rp.start();
  const tokens = await rp.redeem(await passwordLogIn(new Browser(app.url), refreshFlow.url, member.number, member.password), refreshFlow);
  const loginBrowser = new Browser(app.url);
  const { final: loginPage, url: loginUrl } = await loginBrowser.follow((await rp.start()).url);
  const passkeyBrowser = new Browser(app.url);
  const { url: passkeyUrl } = await passkeyBrowser.follow((await rp.start()).url);
  const smsBrowser = new Browser(app.url);
  const stepUp = await smsBrowser.follow((await rp.start({ acr_values: 'urn:jmb:loa:2' })).url);
  const afterPassword = await smsBrowser.post(`${stepUp.url}/login`, { csrf: hiddenField(stepUp.final.html, 'csrf'), number: member.number, password: member.password });
  const resumed = await smsBrowser.get(afterPassword.location!);
  t.regex(resumed.location ?? '', /\/interaction\//, 'the SMS step comes next');
  const settingsBrowser = new Browser(app.url);
  await passwordLogIn(settingsBrowser, (await rp.start()).url, member.number, member.password);
  const step = await settingsBrowser.get('/account/passkeys');
  await settingsBrowser.post('/account/sms/verify', { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
  t.is((await settingsBrowser.get('/account/passkeys')).status, 200);
  const sentBefore = sms.sent.length;

  writesFail();
  try {
    const notReady = await readyz();
    t.is(notReady.status, 503, '/readyz takes the instance out');
    t.is(notReady.body.status, 'unavailable');
    t.is((await scrape(app.metricsUrl!)).value('jmb_store_up'), 0, 'the metrics say so too');

    assertUnavailablePage(t, await loginBrowser.post(`${loginUrl}/login`, { csrf: hiddenField(loginPage.html, 'csrf'), number: member.number, password: member.password }));

    const assertion = await passkeyAttempt(passkeyBrowser, passkeyUrl, passkey);
    t.is(assertion.status, 503);
    t.regex(assertion.headers.get('retry-after') ?? '', /^\d+$/);
    t.is(assertion.json.error, 'temporarily_unavailable');

    assertUnavailablePage(t, await smsBrowser.get(resumed.location!));
    t.is(sms.sent.length, sentBefore, 'no code was sent that could not be stored');

    const options = await settingsBrowser.postJson('/account/passkeys/options');
    t.is(options.status, 200, 'options hold nothing on disk');
    const { response } = SoftPasskey.create(options.json, app.url);
    const registered = await settingsBrowser.postJson('/account/passkeys', response);
    t.is(registered.status, 503);
    t.is(registered.json.error, 'temporarily_unavailable');
    t.regex(registered.headers.get('retry-after') ?? '', /^\d+$/);

    const grants: Record<string, string>[] = [
      { grant_type: 'authorization_code', code, redirect_uri: WEBSITE.redirect_uris[0]!, code_verifier: pending.verifier },
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
    ];
    for (const form of grants) {
      const answer = await tokenRequest(form);
      t.is(answer.status, 503, `${form.grant_type}: 503`);
      t.regex(answer.retryAfter ?? '', /^\d+$/);
      t.is(answer.json.error, 'temporarily_unavailable');
    }

    // The provider's own pages: a new sign-in cannot even start.
    const authorize = await new Browser(app.url).get((await rp.start({ prompt: 'login' })).url);
    t.true(authorize.status === 303 || authorize.status === 503, `the authorization endpoint answers ${authorize.status}`);
  } finally {
    writesWork();
  }

  t.is((await readyz()).status, 200, '/readyz lets the instance back in');
  t.is((await scrape(app.metricsUrl!)).value('jmb_store_up'), 1);
  const redeemed = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: WEBSITE.redirect_uris[0]!, code_verifier: pending.verifier });
  t.is(redeemed.status, 200, 'the code refused during the outage was not used up: it redeems now');
  t.truthy(redeemed.json.id_token);
  const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  t.is(refreshed.status, 200, 'nor was the refresh token rotated');
  t.deepEqual(await app.store.passkeys.listForMember(member.id), [], 'the refused registration left no passkey');
  const callback = await passkeyLogIn(new Browser(app.url), (await rp.start()).url, passkey);
  t.regex(callback, /code=/, 'passkeys log in again');

  const check = new DatabaseSync(path.join(app.dir, 'idp.db'), { readOnly: true });
  t.teardown(() => check.close());
  t.deepEqual(check.prepare('PRAGMA integrity_check').all().map((row) => row.integrity_check), ['ok']);
});
