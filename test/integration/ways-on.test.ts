import test from 'ava';
import * as client from 'openid-client';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// The website registers where its home page is and where a sign-in starts (OpenID Connect
// third-party-initiated log-in).
const HOME = 'https://rp.example.com/';
const INITIATE = 'https://rp.example.com/login';
const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms, clients: [{ ...WEBSITE, client_name: 'JMB website', client_uri: HOME, initiate_login_uri: INITIATE }] });
});
test.after.always(async () => app?.stop());

const linkTo = (html: string, text: string) => new RegExp(`<a[^>]*href="([^"]*)"[^>]*>${text}</a>`).exec(html)?.[1]?.replaceAll('&amp;', '&');

test('the IdP\'s own address leads to the account page', async (t) => {
  const response = await new Browser(app.url).get('/');
  t.is(response.status, 303);
  t.is(response.location, `${app.url}/account`);
});

test('an expired sign-in offers "Start again" at the website it came from', async (t) => {
  const browser = new Browser(app.url);
  const rp = await RelyingParty.website(app);
  const { url } = await browser.follow((await rp.start()).url);
  await app.store.documents.destroy('Interaction', url.split('/').at(-1)!);
  const expired = await browser.get(url);
  t.is(expired.status, 400);
  t.regex(expired.html, /This sign-in has expired\. Please start again\./);
  const again = new URL(linkTo(expired.html, 'Start again')!);
  t.is(`${again.origin}${again.pathname}`, INITIATE);
  t.is(again.searchParams.get('iss'), app.url, 'the website can tell which IdP asks it to start');

  const stranger = await new Browser(app.url).get(url);
  t.is(linkTo(stranger.html, 'Start again'), '/account', 'with no website known, the account page');
});

test('the account page and "Passkey registered" lead back to the website, and the help page back to the sign-in', async (t) => {
  const member = await createMember(app.store, { phone: '+819077770001' });
  const browser = new Browser(app.url);
  await passwordLogIn(browser, (await (await RelyingParty.website(app)).start()).url, member.number, member.password);
  const account = await browser.get(`/account?client_id=${WEBSITE.client_id}`);
  t.is(linkTo(account.html, 'Back to JMB website'), HOME);

  const step = await browser.get('/account/passkeys');
  await browser.post('/account/sms/verify', { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
  const options = await browser.postJson('/account/passkeys/options');
  const { response } = SoftPasskey.create(options.json, app.url);
  const registered = await browser.get((await browser.postJson('/account/passkeys', response)).json.redirectTo);
  t.regex(registered.html, /<h1>Passkey registered<\/h1>/);
  t.is(linkTo(registered.html, 'Back to JMB website'), HOME);

  const page = await browser.follow((await (await RelyingParty.website(app)).start({ prompt: 'login' })).url);
  const help = await browser.get(linkTo(page.final.html, 'Passkey compatibility')!);
  t.is(linkTo(help.html, 'Back'), new URL(page.url).pathname);
  const elsewhere = await browser.get('/help/passkeys?return=https://evil.example/');
  t.is(linkTo(elsewhere.html, 'Back'), '/account', 'never back to another site');
});

test('the logged-out page offers "Log in again" at the website', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await RelyingParty.website(app);
  const flow = await rp.start();
  const tokens = await rp.redeem(await passwordLogIn(browser, flow.url, member.number, member.password), flow);
  const confirm = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.html)![1]!;
  const done = await browser.post(action, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' });
  const page = await browser.follow(done.location!);
  t.regex(page.final.html, /You have been logged out\./);
  const again = new URL(linkTo(page.final.html, 'Log in again')!);
  t.is(`${again.origin}${again.pathname}`, INITIATE);
});

test('a favicon is served', async (t) => {
  const browser = new Browser(app.url);
  const icon = await browser.get('/favicon.ico');
  t.is(icon.status, 301);
  const svg = await fetch(icon.location!);
  t.is(svg.status, 200);
  t.is(svg.headers.get('content-type'), 'image/svg+xml');
});
