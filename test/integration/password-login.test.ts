import test from 'ava';
import * as jose from 'jose';
import * as client from 'openid-client';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp();
});
test.after.always(async () => app?.stop());

const website = () => RelyingParty.website(app);

test('a member logs in with number and password and the website gets an honest ID token', async (t) => {
  const member = await createMember(app.store, { name: 'Hanako Suzuki' });
  const rp = await website();
  const flow = await rp.start();
  const browser = new Browser(app.url);
  const before = Math.floor(Date.now() / 1000);
  const callback = await passwordLogIn(browser, flow.url, member.number, member.password);

  const params = new URL(callback).searchParams;
  t.is(params.get('iss'), app.url, 'the authorization response names its issuer (RFC 9207)');
  const tokens = await rp.redeem(callback, flow);
  const claims = tokens.claims()!;
  t.is(claims.sub, member.id);
  t.not(claims.sub, member.number, 'sub is never the member number');
  t.is(claims.acr, 'urn:jmb:loa:1');
  t.deepEqual(claims.amr, ['pwd']);
  t.true(typeof claims.auth_time === 'number' && claims.auth_time >= before - 1);
  t.is(jose.decodeProtectedHeader(tokens.id_token!).alg, 'RS256', 'the test website names no algorithm: RS256, the default of the standard');

  const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, member.id);
  t.is(userinfo.name, 'Hanako Suzuki');
  t.is(userinfo.jmb_member_number, member.number);
  t.is(userinfo.phone_number, member.phone);
});

test('a wrong password and an unknown member number get the same answer', async (t) => {
  const member = await createMember(app.store);
  const rp = await website();
  const attempt = async (number: string, password: string) => {
    const browser = new Browser(app.url);
    const { final, url } = await browser.follow((await rp.start()).url);
    const response = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password });
    const uid = url.split('/').pop()!;
    return { status: response.status, alert: alertText(response.html), html: response.html.replaceAll(uid, 'UID').replace(/name="csrf" value="[^"]*"/, '') };
  };
  const wrongPassword = await attempt(member.number, 'not the password');
  const unknown = await attempt('999999999', 'not the password');
  t.is(wrongPassword.status, 401);
  t.is(wrongPassword.alert, 'The membership number or password is incorrect. You have 5 more tries before you have to wait.');
  t.is(unknown.status, wrongPassword.status);
  t.is(unknown.alert, wrongPassword.alert);
  t.is(unknown.html.replace('999999999', 'N'), wrongPassword.html.replace(member.number, 'N'), 'the pages differ only in the number typed');
  t.regex(wrongPassword.html, new RegExp(`name="number"[^>]*value="${member.number}"`), 'the member number is kept');
  t.notRegex(wrongPassword.html, /name="password"[^>]*value="[^"]/, 'the password is cleared');
});
