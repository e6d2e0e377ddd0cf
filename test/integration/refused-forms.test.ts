/**
 * A form post refused for the member's security (CSRF token, another site) gets a page that explains
 * itself, leads back to the page the form was on (an address on the IdP only), and offers the
 * language switch for that page.
 */
import test from 'ava';
import { Browser, hiddenField, type PageResponse } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms });
});
test.after.always(async () => app?.stop());

let phone = 1000;
const newMember = () => createMember(app.store, { phone: `+81807654${String(phone++).padStart(4, '0')}` });

async function signedIn(member: { number: string; password: string }): Promise<Browser> {
  const browser = new Browser(app.url);
  await passwordLogIn(browser, (await (await RelyingParty.website(app)).start()).url, member.number, member.password);
  return browser;
}

const backHref = (page: PageResponse) => /<a class="button-link" href="([^"]*)">Back to the page<\/a>/.exec(page.html)?.[1];
const languageHrefs = (page: PageResponse) => [...page.html.matchAll(/<a href="([^"]*)" lang="(ja|en)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));

function refused(t: import('ava').ExecutionContext, page: PageResponse, formPage: string): void {
  t.is(page.status, 403);
  t.regex(page.html, /<h1>We could not accept this form<\/h1>/);
  t.regex(page.html, /<p>For your security, we accept a form only when it is sent from the page that showed it/);
  t.is(backHref(page), formPage, 'the way back is the page the form was on');
  t.deepEqual(languageHrefs(page), [`${formPage}?lang=ja`, `${formPage}?lang=en`], 'the language switch reloads that page');
}

test('a form on the account page sent without its token leads back to the account page', async (t) => {
  const browser = await signedIn(await newMember());
  refused(t, await browser.post('/account/sessions/logout-others', { csrf: 'not-the-token' }), '/account');
  refused(t, await browser.post('/account/sessions/some-session/logout', {}), '/account');
});

test('a rename or delete sent without its token leads back to its own page', async (t) => {
  const member = await newMember();
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost', { name: 'Keep me' });
  const browser = await signedIn(member);
  const step = await browser.get('/account/passkeys');
  await browser.post('/account/sms/verify', { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
  for (const action of ['rename', 'delete']) {
    refused(t, await browser.post(`/account/passkeys/${passkey.id}/${action}`, { name: 'x' }), `/account/passkeys/${passkey.id}/${action}`);
  }
  const form = await browser.get(`/account/passkeys/${passkey.id}/delete`);
  const crossSite = await browser.post(`/account/passkeys/${passkey.id}/delete`, { csrf: hiddenField(form.html, 'csrf') }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  refused(t, crossSite, `/account/passkeys/${passkey.id}/delete`);
  t.is((await app.store.passkeys.findById(passkey.id))?.name, 'Keep me', 'nothing was changed');
});

test('the SMS step\'s form leads back to Passkey Settings, and a sign-in\'s form to that sign-in', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  refused(t, await browser.post('/account/sms/verify', { csrf: 'x', code: '123456' }), '/account/passkeys');

  const fresh = new Browser(app.url);
  const { url } = await fresh.follow((await (await RelyingParty.website(app)).start()).url);
  const signIn = new URL(url).pathname;
  refused(t, await fresh.post(`${signIn}/login`, { csrf: 'x', number: member.number, password: member.password }), signIn);
});

test('in Japanese too', async (t) => {
  const browser = await signedIn(await newMember());
  browser.acceptLanguage = 'ja';
  const page = await browser.post('/account/sessions/logout-others', { csrf: 'x' });
  t.is(page.status, 403);
  t.regex(page.html, /<h1>この操作を受け付けられませんでした<\/h1>/);
  t.regex(page.html, /<a class="button-link" href="\/account">元のページに戻る<\/a>/);
  t.deepEqual(languageHrefs(page), ['/account?lang=ja', '/account?lang=en']);
});
