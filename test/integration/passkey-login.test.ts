import test from 'ava';
import { Browser } from '../helpers/browser.ts';
import { passkeyAttempt, passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey, enrolSoftPasskey, userHandleOf } from '../helpers/soft-authenticator.ts';
import { NATIVE_APP, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const ANDROID_ORIGIN = `android:apk-key-hash:${Buffer.alloc(32, 7).toString('base64url')}`;

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ env: { WEBAUTHN_ORIGINS: ANDROID_ORIGIN } });
});
test.after.always(async () => app?.stop());

const rpId = 'localhost';
const website = () => RelyingParty.website(app);

async function memberWithPasskey(options: { synced?: boolean } = {}) {
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, rpId, options);
  return { member, passkey };
}

async function loginPage() {
  const browser = new Browser(app.url);
  const { url } = await browser.follow((await (await website()).start()).url);
  return { browser, url };
}

test('options: usernameless, user verification required, a fresh challenge each time', async (t) => {
  const { browser, url } = await loginPage();
  const first = await browser.postJson(`${url}/passkey/options`);
  const second = await browser.postJson(`${url}/passkey/options`);
  t.is(first.status, 200);
  t.is(first.json.rpId, rpId);
  t.is(first.json.userVerification, 'required');
  t.true(first.json.allowCredentials === undefined || first.json.allowCredentials.length === 0);
  t.true(Buffer.from(first.json.challenge, 'base64url').length >= 16);
  t.not(first.json.challenge, second.json.challenge);
});

test('a device-bound passkey logs in without a member number: acr phr, amr hwk', async (t) => {
  const { member, passkey } = await memberWithPasskey({ synced: false });
  const rp = await website();
  const flow = await rp.start();
  const tokens = await rp.redeem(await passkeyLogIn(new Browser(app.url), flow.url, passkey), flow);
  const claims = tokens.claims()!;
  t.is(claims.sub, member.id);
  t.is(claims.acr, 'phr');
  t.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
  const stored = await app.store.passkeys.findById(passkey.id);
  t.is(stored!.counter, 1, 'the counter moved forward');
  t.truthy(stored!.lastUsedAt);
});

test('a synced passkey gives amr swk and keeps working with a zero counter', async (t) => {
  const { passkey } = await memberWithPasskey({ synced: true });
  const rp = await website();
  for (let i = 0; i < 2; i++) {
    const flow = await rp.start();
    const tokens = await rp.redeem(await passkeyLogIn(new Browser(app.url), flow.url, passkey), flow);
    t.deepEqual(tokens.claims()!.amr, ['swk', 'user', 'mfa']);
  }
});

test('the success answer carries what the Signal API needs', async (t) => {
  const { member, passkey } = await memberWithPasskey();
  const other = await enrolSoftPasskey(app.store, member.id, rpId);
  const { browser, url } = await loginPage();
  const result = await passkeyAttempt(browser, url, passkey);
  t.is(result.status, 200);
  t.truthy(result.json.redirectTo);
  const { allAcceptedCredentialIds, ...details } = result.json.signals;
  t.deepEqual([...allAcceptedCredentialIds].sort(), [passkey.id, other.id].sort());
  t.deepEqual(details, { rpId, userId: userHandleOf(member.id), name: member.number, displayName: member.name });
});

test('a replayed assertion is refused', async (t) => {
  const { passkey } = await memberWithPasskey();
  const { browser, url } = await loginPage();
  const options = await browser.postJson(`${url}/passkey/options`);
  const assertion = passkey.assert(options.json, app.url);
  t.is((await browser.postJson(`${url}/passkey`, assertion)).status, 200);
  const { browser: second, url: secondUrl } = await loginPage();
  const replay = await second.postJson(`${secondUrl}/passkey`, assertion);
  t.is(replay.status, 400);
  t.is(replay.json.error, 'challenge_expired');
});

test('an expired challenge is refused', async (t) => {
  const { passkey } = await memberWithPasskey();
  const { browser, url } = await loginPage();
  const options = await browser.postJson(`${url}/passkey/options`);
  await app.store.documents.destroy('WebAuthnChallenge', options.json.challenge);
  const response = await browser.postJson(`${url}/passkey`, passkey.assert(options.json, app.url));
  t.is(response.status, 400);
  t.is(response.json.error, 'challenge_expired');
});

test('a challenge from another sign-in is refused', async (t) => {
  const { passkey } = await memberWithPasskey();
  const a = await loginPage();
  const b = await loginPage();
  const optionsA = await a.browser.postJson(`${a.url}/passkey/options`);
  const response = await b.browser.postJson(`${b.url}/passkey`, passkey.assert(optionsA.json, app.url));
  t.is(response.status, 400);
  t.is(response.json.error, 'challenge_mismatch');
});

test('a wrong origin, a wrong RP ID and a missing user verification are each refused with their own code', async (t) => {
  const { passkey } = await memberWithPasskey();
  const cases = [
    [{ origin: 'https://jmb-login.example' }, 'origin_mismatch'],
    [{ origin: 'http://localhost:1' }, 'origin_mismatch'],
    [{ rpId: 'example.com' }, 'rp_id_mismatch'],
    [{ userVerified: false }, 'user_verification_required'],
    [{ type: 'webauthn.create' }, 'invalid_request'],
  ] as const;
  for (const [tweak, code] of cases) {
    const { browser, url } = await loginPage();
    const response = await passkeyAttempt(browser, url, passkey, tweak);
    t.is(response.status >= 400 && response.status < 500, true, code);
    t.is(response.json.error, code);
    t.truthy(response.json.error_description);
  }
});

test('a counter that goes backwards is refused and recorded; the member is not logged in', async (t) => {
  const { member, passkey } = await memberWithPasskey({ synced: false });
  await passkeyLogIn(new Browser(app.url), (await (await website()).start()).url, passkey);
  await passkeyLogIn(new Browser(app.url), (await (await website()).start()).url, passkey);
  const { browser, url } = await loginPage();
  const response = await passkeyAttempt(browser, url, passkey, { counter: 1 });
  t.is(response.status, 401);
  t.is(response.json.error, 'counter_regression');
  const events = await app.store.audit.listForMember(member.id, 10);
  t.true(events.some((e) => e.type === 'passkey.possible_clone'));
  t.is((await app.store.passkeys.findById(passkey.id))!.counter, 2, 'the stored counter is untouched');
});

test("member A's credential presented with member B's user handle is refused", async (t) => {
  const { passkey } = await memberWithPasskey();
  const other = await createMember(app.store);
  const { browser, url } = await loginPage();
  const response = await passkeyAttempt(browser, url, passkey, { userHandle: userHandleOf(other.id) });
  t.is(response.status, 401);
  t.is(response.json.error, 'credential_mismatch');
});

test('an unknown credential answers unknown_credential', async (t) => {
  const stray = new SoftPasskey({ rpId, userHandle: userHandleOf('nobody') });
  const { browser, url } = await loginPage();
  const response = await passkeyAttempt(browser, url, stray);
  t.is(response.status, 401);
  t.is(response.json.error, 'unknown_credential');
  t.regex(response.json.error_description, /not registered/);
});

test('a disabled member cannot log in with a passkey', async (t) => {
  const { member, passkey } = await memberWithPasskey();
  await app.store.members.update(member.id, { status: 'disabled' });
  const { browser, url } = await loginPage();
  const response = await passkeyAttempt(browser, url, passkey);
  t.is(response.status, 403);
  t.is(response.json.error, 'member_unavailable');
});

test('garbage, oversized and cross-site bodies get a 4xx, never a 5xx', async (t) => {
  const { browser, url } = await loginPage();
  await browser.postJson(`${url}/passkey/options`);
  const bodies: unknown[] = [
    '{not json', '[]', 'null', '42', {}, { id: 'x' },
    { id: 'abc', rawId: 'abc', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'A'.repeat(50), signature: 'AA' } },
    { id: 'abc', rawId: 'abc', type: 'public-key', response: { clientDataJSON: Buffer.from('{"challenge":"' + 'a'.repeat(40) + '"}').toString('base64url'), authenticatorData: '!!', signature: 'AA' } },
  ];
  for (const body of bodies) {
    const response = await browser.postJson(`${url}/passkey`, body);
    t.true(response.status >= 400 && response.status < 500, `${JSON.stringify(body)} → ${response.status}`);
    t.truthy(response.json?.error);
  }
  const huge = await browser.postJson(`${url}/passkey`, { id: 'a'.repeat(200_000) });
  t.is(huge.status, 413);
  const crossSite = await browser.postJson(`${url}/passkey/options`, undefined, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  t.is(crossSite.status, 403);
  t.is(crossSite.json.error, 'cross_site_request');
});

test('a garbled signature on a registered credential is a 4xx', async (t) => {
  const { passkey } = await memberWithPasskey();
  const { browser, url } = await loginPage();
  const options = await browser.postJson(`${url}/passkey/options`);
  const assertion = passkey.assert(options.json, app.url);
  assertion.response.signature = Buffer.from('not a signature').toString('base64url');
  const response = await browser.postJson(`${url}/passkey`, assertion);
  t.is(response.status, 401);
  t.is(response.json.error, 'invalid_assertion');
});

test('an Android apk-key-hash origin is accepted when configured and refused when not', async (t) => {
  const { passkey } = await memberWithPasskey();
  const { browser, url } = await loginPage();
  t.is((await passkeyAttempt(browser, url, passkey, { origin: ANDROID_ORIGIN })).status, 200);
  const other = await loginPage();
  const refused = await passkeyAttempt(other.browser, other.url, passkey, { origin: `android:apk-key-hash:${Buffer.alloc(32, 9).toString('base64url')}` });
  t.is(refused.json.error, 'origin_mismatch');
});

test('a native public client signs in with a passkey too', async (t) => {
  const { member, passkey } = await memberWithPasskey({ synced: true });
  const rp = await RelyingParty.of(app, NATIVE_APP);
  const flow = await rp.start();
  const callback = await passkeyLogIn(new Browser(app.url), flow.url, passkey);
  t.true(callback.startsWith('jp.jmb.app:/oauth2redirect?'));
  const tokens = await rp.redeem(callback, flow);
  t.is(tokens.claims()!.sub, member.id);
  t.is(tokens.claims()!.acr, 'phr');
});

test('acr_values=phr after a password session asks for a passkey and then says phr', async (t) => {
  const { member, passkey } = await memberWithPasskey();
  const rp = await website();
  const browser = new Browser(app.url);
  const first = await rp.start();
  await passwordLogIn(browser, first.url, member.number, member.password);

  const stepUp = await rp.start({ acr_values: 'phr' });
  const { final, url } = await browser.follow(stepUp.url);
  t.true(url.includes('/interaction/'), 'the password session is not enough');
  t.regex(final.html, /This service asks you to log in with a passkey\./);
  const result = await passkeyAttempt(browser, url, passkey);
  const { url: callback } = await browser.follow(result.json.redirectTo);
  const claims = (await rp.redeem(callback, stepUp)).claims()!;
  t.is(claims.acr, 'phr');
  t.is(claims.sub, member.id);
});

test('acr_values=phr from a member without a passkey ends with an honest password log-in', async (t) => {
  const member = await createMember(app.store);
  const rp = await website();
  const flow = await rp.start({ acr_values: 'phr' });
  const callback = await passwordLogIn(new Browser(app.url), flow.url, member.number, member.password);
  const claims = (await rp.redeem(callback, flow)).claims()!;
  t.is(claims.acr, 'urn:jmb:loa:1', 'the acr says what really happened');
  t.deepEqual(claims.amr, ['pwd']);
});

test('an essential phr cannot be met by a member without a passkey', async (t) => {
  const member = await createMember(app.store);
  const rp = await website();
  const flow = await rp.start({ claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['phr'] } } }) });
  const callback = await passwordLogIn(new Browser(app.url), flow.url, member.number, member.password);
  t.is(new URL(callback).searchParams.get('error'), 'unmet_authentication_requirements');
});

test('an essential phr points a member who has a passkey to it', async (t) => {
  const { member, passkey } = await memberWithPasskey();
  const rp = await website();
  const flow = await rp.start({ claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['phr'] } } }) });
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow(flow.url);
  const { hiddenField } = await import('../helpers/browser.ts');
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  t.is(posted.status, 400);
  t.regex(posted.html, /Please log in with your passkey/);
  const result = await passkeyAttempt(browser, url, passkey);
  const { url: callback } = await browser.follow(result.json.redirectTo);
  t.is((await rp.redeem(callback, flow)).claims()!.acr, 'phr');
});
