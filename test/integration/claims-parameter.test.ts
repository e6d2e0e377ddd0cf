import test from 'ava';
import * as client from 'openid-client';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { logInWithPassword, passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { NATIVE_APP, WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// A relying party registered for the log-in alone: it may ask for `openid` and nothing more.
const LOG_IN_ONLY = { ...WEBSITE, client_id: 'log-in-only', client_secret: 'log-in-only-secret-for-tests-0123456789', scope: 'openid' };
// One that may ask for the member's name and nothing else.
const NAME_ONLY = { ...WEBSITE, client_id: 'name-only', client_secret: 'name-only-secret-for-tests-0123456789', scope: 'openid profile' };

const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms, clients: [WEBSITE, NATIVE_APP, LOG_IN_ONLY, NAME_ONLY] });
});
test.after.always(async () => app?.stop());

/** A password log-in for `params` (at the test website unless `at` names another client); the tokens and the member's userinfo. */
async function logIn(params: Record<string, string>, at: typeof WEBSITE = WEBSITE) {
  const member = await createMember(app.store);
  const rp = await RelyingParty.of(app, at);
  const { browser, tokens } = await logInWithPassword(rp, member, { params });
  const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, member.id);
  return { member, rp, browser, idToken: tokens.claims()!, userinfo };
}

const claims = (request: object) => JSON.stringify(request);

test('claims asked for one by one come in the ID token and in userinfo, essential or not', async (t) => {
  const { member, idToken, userinfo } = await logIn({
    scope: 'openid',
    claims: claims({
      id_token: { name: { essential: true }, jmb_member_number: null },
      userinfo: { phone_number: null, name: { essential: false } },
    }),
  });
  t.is(idToken.name, member.name);
  t.is(idToken.jmb_member_number, member.number);
  t.is(idToken.phone_number, undefined, 'asked for userinfo only');
  t.like(idToken, { sub: member.id, acr: 'urn:jmb:loa:1', amr: ['pwd'] }, 'the log-in claims as always');
  t.is(typeof idToken.auth_time, 'number');
  t.deepEqual(userinfo, { sub: member.id, phone_number: member.phone, name: member.name });
});

test('scopes release their claims as before, and the claims parameter adds to them', async (t) => {
  const byScope = await logIn({ scope: 'openid profile' });
  t.deepEqual(byScope.userinfo, { sub: byScope.member.id, name: byScope.member.name });
  t.is(byScope.idToken.name, undefined, 'claims of a scope come from userinfo when an access token is issued (Core 5.4)');

  const both = await logIn({ scope: 'openid profile', claims: claims({ userinfo: { jmb_member_number: { essential: true } } }) });
  t.deepEqual(both.userinfo, { sub: both.member.id, name: both.member.name, jmb_member_number: both.member.number });
});

test('a native app that continues an existing session gets the claims it asked for one by one', async (t) => {
  const { member, browser } = await logIn({ scope: 'openid' });
  const nativeApp = await RelyingParty.of(app, NATIVE_APP);
  const flow = await nativeApp.start({ scope: 'openid', claims: claims({ id_token: { name: null }, userinfo: { jmb_member_number: null } }) });
  const { final, url } = await browser.follow(flow.url);
  t.regex(final.html, /Continue/, 'the member confirms the app');
  const continued = await browser.post(`${url}/continue`, { csrf: hiddenField(final.html, 'csrf') });
  const { url: callback } = await browser.follow(continued.location!);
  const tokens = await nativeApp.redeem(callback, flow);
  t.is(tokens.claims()!.name, member.name);
  t.deepEqual(await client.fetchUserInfo(nativeApp.config, tokens.access_token, member.id), { sub: member.id, jmb_member_number: member.number });
});

test('a client registered for openid alone gets no claim of another scope through the claims parameter, essential or not', async (t) => {
  const rp = await RelyingParty.of(app, LOG_IN_ONLY);
  const refused = await new Browser(app.url).follow((await rp.start({ scope: 'openid phone' })).url);
  t.is(new URL(refused.url).searchParams.get('error'), 'invalid_scope', 'the scope itself is refused for this client');

  const { member, idToken, userinfo } = await logIn({
    scope: 'openid',
    claims: claims({ userinfo: { phone_number: null, jmb_member_number: null }, id_token: { name: { essential: true } } }),
  }, LOG_IN_ONLY);
  for (const withheld of ['name', 'phone_number', 'jmb_member_number']) {
    t.false(withheld in idToken, `${withheld} in the ID token`);
    t.false(withheld in userinfo, `${withheld} in userinfo`);
  }
  t.like(idToken, { sub: member.id, acr: 'urn:jmb:loa:1', amr: ['pwd'] }, 'the log-in claims as always');
  t.is(typeof idToken.auth_time, 'number');
  t.deepEqual(userinfo, { sub: member.id });
});

test('the claims parameter releases what a scope the client may ask for would release, and nothing beyond', async (t) => {
  const { member, idToken, userinfo } = await logIn({
    scope: 'openid',
    claims: claims({
      id_token: { name: { essential: true }, phone_number: { essential: true }, sid: null, auth_time: { essential: true } },
      userinfo: { jmb_member_number: null, name: null },
    }),
  }, NAME_ONLY);
  t.is(idToken.name, member.name, 'profile may be asked for, so name may be asked for one by one');
  t.false('phone_number' in idToken);
  t.truthy(idToken.sid, 'sid asked for by name still comes');
  t.is(typeof idToken.auth_time, 'number');
  t.deepEqual(userinfo, { sub: member.id, name: member.name });

  const byScope = await logIn({ scope: 'openid profile', claims: claims({ userinfo: { phone_number: null } }) }, NAME_ONLY);
  t.deepEqual(byScope.userinfo, { sub: byScope.member.id, name: byScope.member.name }, 'its scope releases name, the claims parameter adds nothing');
});

test('claims the IdP does not know are left out, without an error', async (t) => {
  const { member, idToken, userinfo } = await logIn({
    scope: 'openid',
    claims: claims({ id_token: { email: { essential: true }, address: null }, userinfo: { birthdate: null, email_verified: { value: true } } }),
  });
  for (const unknown of ['email', 'address', 'birthdate', 'email_verified']) {
    t.false(unknown in idToken, `${unknown} in the ID token`);
    t.false(unknown in userinfo, `${unknown} in userinfo`);
  }
  t.deepEqual(userinfo, { sub: member.id });
});

test('a claims parameter that is not JSON is refused with invalid_request', async (t) => {
  const rp = await RelyingParty.website(app);
  const { url, state } = await rp.start({ claims: '{"id_token":' });
  const { url: back } = await new Browser(app.url).follow(url);
  const params = new URL(back).searchParams;
  t.is(params.get('error'), 'invalid_request');
  t.is(params.get('state'), state);
});

test('a voluntary acr with "values" asks for a passkey like acr_values does, and the ID token tells what was done', async (t) => {
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const first = await rp.start();
  await passwordLogIn(browser, first.url, member.number, member.password);

  const voluntary = { claims: claims({ id_token: { acr: { values: ['phr'] } } }) };
  const silent = await browser.follow((await rp.start()).url);
  t.truthy(new URL(silent.url).searchParams.get('code'), 'the password session is enough when no acr is asked for');
  const asked = await browser.follow((await rp.start(voluntary)).url);
  t.regex(asked.url, /\/interaction\//, 'a password session gets the log-in page again');
  t.regex(asked.final.html, /Log in with passkey/);

  const flow = await rp.start(voluntary);
  const tokens = await rp.redeem(await passkeyLogIn(new Browser(app.url), flow.url, passkey), flow);
  t.is(tokens.claims()!.acr, 'phr');
});

test('a voluntary acr with "value" asks for the SMS step-up', async (t) => {
  const member = await createMember(app.store, { phone: '+819022220001' });
  const rp = await RelyingParty.website(app);
  const flow = await rp.start({ claims: claims({ id_token: { acr: { value: 'urn:jmb:loa:2' } } }) });
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow(flow.url);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  const step = await browser.follow(posted.location!);
  t.regex(step.final.html, /Enter the SMS verification code/);
  const verified = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code: sms.lastCode(member.phone) });
  const { url: callback } = await browser.follow(verified.location!);
  t.is((await rp.redeem(callback, flow)).claims()!.acr, 'urn:jmb:loa:2');
});

test('an acr request written wrongly is refused with invalid_request, not taken as voluntary', async (t) => {
  const rp = await RelyingParty.website(app);
  const malformed = [
    { essential: true, value: ['phr'] },
    { essential: true, values: 'phr' },
    { essential: true, values: ['phr', 2] },
    { essential: true, value: null },
    { essential: 'true', value: 'phr' },
    { value: ['phr'] },
  ];
  for (const acr of malformed) {
    const flow = await rp.start({ claims: claims({ id_token: { acr } }) });
    const { url } = await new Browser(app.url).follow(flow.url);
    const back = new URL(url);
    t.is(`${back.origin}${back.pathname}`, WEBSITE.redirect_uris[0], JSON.stringify(acr));
    t.is(back.searchParams.get('error'), 'invalid_request', JSON.stringify(acr));
    t.regex(back.searchParams.get('error_description') ?? '', /acr/, JSON.stringify(acr));
    t.is(back.searchParams.get('state'), flow.state);
    t.is(back.searchParams.get('code'), null, 'no code');
  }
});

test('an essential acr written correctly, with "value" or with "values", is held to', async (t) => {
  const member = await createMember(app.store);
  const rp = await RelyingParty.website(app);
  const password = await rp.start({ claims: claims({ id_token: { acr: { essential: true, value: 'urn:jmb:loa:1' } } }) });
  const tokens = await rp.redeem(await passwordLogIn(new Browser(app.url), password.url, member.number, member.password), password);
  t.is(tokens.claims()!.acr, 'urn:jmb:loa:1');

  for (const acr of [{ essential: true, value: 'phr' }, { essential: true, values: ['phr'] }]) {
    const flow = await rp.start({ claims: claims({ id_token: { acr } }) });
    const callback = await passwordLogIn(new Browser(app.url), flow.url, member.number, member.password);
    t.is(new URL(callback).searchParams.get('error'), 'unmet_authentication_requirements', `${JSON.stringify(acr)}: a password cannot give phr`);
    t.is(new URL(callback).searchParams.get('code'), null);
  }
});
