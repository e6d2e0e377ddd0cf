/**
 * RP-initiated log-out: when the IdP logs out at once and when it asks "Log out of JMB?", and what
 * "Stay logged in" and the pages after a log-out say.
 */
import test from 'ava';
import nock from 'nock';
import * as client from 'openid-client';
import { Browser, hiddenField, type PageResponse } from '../helpers/browser.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// ID tokens of this client carry `sid` (back-channel log-out with sessions); it has a home page.
const WEBSITE_WITH_SID = {
  ...WEBSITE,
  client_name: 'JMB website',
  client_uri: 'https://rp.example.com/',
  backchannel_logout_uri: 'https://rp.example.com/backchannel-logout',
  backchannel_logout_session_required: true,
};
// ID tokens of this one carry no `sid`; it registered no home page.
const SHOP = {
  client_id: 'shop',
  client_secret: 'shop-secret-for-tests-only-0123456789abc',
  client_name: 'JMB shop',
  redirect_uris: ['https://shop.example.com/cb'],
  post_logout_redirect_uris: ['https://shop.example.com/bye'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};
const BYE = WEBSITE.post_logout_redirect_uris[0]!;

let app: TestApp;
test.before(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);
  app = await startTestApp({ clients: [WEBSITE_WITH_SID, SHOP] });
});
test.after.always(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await app?.stop();
});

const website = () => RelyingParty.discover(app, { clientId: WEBSITE.client_id, clientSecret: WEBSITE.client_secret, redirectUri: WEBSITE.redirect_uris[0] });
const shop = () => RelyingParty.discover(app, { clientId: SHOP.client_id, clientSecret: SHOP.client_secret, redirectUri: SHOP.redirect_uris[0]! });

/** Logs in at `rp` in `browser`; the tokens the relying party got. */
async function logIn(browser: Browser, rp: RelyingParty, member: { number: string; password: string }) {
  const flow = await rp.start();
  return rp.redeem(await passwordLogIn(browser, flow.url, member.number, member.password), flow);
}

/** Whether the browser's JMB session still logs in at `rp` without a page (prompt=none). */
async function stillLoggedIn(browser: Browser, rp: RelyingParty): Promise<boolean> {
  const { url } = await browser.follow((await rp.start({ prompt: 'none' })).url);
  return new URL(url).searchParams.has('code');
}

/** The browser forgets its JMB session cookie (as after closing a private window), keeping the rest. */
function dropJmbSession(browser: Browser): void {
  browser.cookies.splice(0, browser.cookies.length, ...browser.cookies.filter((cookie) => !cookie.name.startsWith('_session')));
}

const asks = (page: PageResponse) => page.status === 200 && /<h1>Log out of JMB\?<\/h1>/.test(page.html);
const stayHref = (page: PageResponse) => /<a class="button-link secondary" href="([^"]*)">Stay logged in<\/a>/.exec(page.html)?.[1]?.replaceAll('&amp;', '&');

test('a log-out with a valid id_token_hint and a registered post_logout_redirect_uri logs out at once', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await website();
  const tokens = await logIn(browser, rp, member);
  const told = nock('https://rp.example.com').post('/backchannel-logout').reply(200);

  const answer = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE, state: 'xyz' }).href);
  t.is(answer.status, 303, 'no question');
  t.is(answer.location, `${BYE}?state=xyz`, 'straight back to the relying party, with its state');
  t.true(told.isDone(), 'the relying party is told by the back channel too');
  t.false(await stillLoggedIn(browser, rp), 'the JMB session ended');
  const refresh = await t.throwsAsync(client.refreshTokenGrant(rp.config, tokens.refresh_token!));
  t.is((refresh as client.ResponseBodyError).error, 'invalid_grant', 'the relying party\'s grant was revoked');
});

test('a valid id_token_hint without a post_logout_redirect_uri still asks', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await website();
  const tokens = await logIn(browser, rp, member);
  const page = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).href);
  t.true(asks(page));
  t.true(await stillLoggedIn(browser, rp), 'asking changes nothing');
});

test('a log-out that names no member (client_id only) asks; "Stay logged in" leads to the website\'s home page and leaves every session as it was', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await website();
  const tokens = await logIn(browser, rp, member);
  const page = await browser.get(`/session/end?client_id=${WEBSITE.client_id}&post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=xyz`);
  t.true(asks(page));
  t.is(stayHref(page), WEBSITE_WITH_SID.client_uri, '"Stay logged in" is a link to the website, not the log-out form');
  t.true(await stillLoggedIn(browser, rp));
  const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
  t.truthy(refreshed.access_token, 'the website\'s grant is untouched');
});

test('"Stay logged in" leads to the post_logout_redirect_uri (without state) of a relying party with no home page, and to the account page otherwise', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  await logIn(browser, await shop(), member);
  const fromShop = await browser.get(`/session/end?client_id=shop&post_logout_redirect_uri=${encodeURIComponent(SHOP.post_logout_redirect_uris[0]!)}&state=xyz`);
  t.true(asks(fromShop));
  t.is(stayHref(fromShop), SHOP.post_logout_redirect_uris[0]);

  const fromAccount = await browser.get('/session/end');
  t.true(asks(fromAccount));
  t.is(stayHref(fromAccount), '/account?stayed=1');
  const account = await browser.get(stayHref(fromAccount)!);
  t.regex(account.html, /<p class="notice" role="status">You are still logged in\.<\/p>/);
});

test('an id_token_hint for another member asks', async (t) => {
  const [someone, member] = [await createMember(app.store), await createMember(app.store)];
  const browser = new Browser(app.url);
  const rp = await website();
  const theirs = await logIn(browser, rp, someone);
  dropJmbSession(browser);
  await logIn(browser, rp, member);
  const page = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: theirs.id_token!, post_logout_redirect_uri: BYE }).href);
  t.true(asks(page), 'the question, not an immediate log-out of whoever is logged in now');
  t.true(await stillLoggedIn(browser, rp));
});

test('an id_token_hint from an earlier JMB session of the same member asks; one from this session does not', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await website();
  const earlier = await logIn(browser, rp, member);
  dropJmbSession(browser);
  const now = await logIn(browser, rp, member);
  t.not(earlier.claims()!.sid, now.claims()!.sid);

  const page = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: earlier.id_token!, post_logout_redirect_uri: BYE }).href);
  t.true(asks(page), 'the earlier ID token names another session');
  nock('https://rp.example.com').post('/backchannel-logout').reply(200);
  const answer = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: now.id_token!, post_logout_redirect_uri: BYE }).href);
  t.is(answer.status, 303);
  t.is(answer.location, BYE);
});

test('without sid in its ID tokens, a relying party\'s hint counts only where this session logged in at it', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await shop();
  const tokens = await logIn(browser, rp, member);
  t.is(tokens.claims()!.sid, undefined);
  dropJmbSession(browser);
  // Logged in again, at another relying party only.
  await logIn(browser, await website(), member);
  nock('https://rp.example.com').post('/backchannel-logout').reply(200);
  const page = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: SHOP.post_logout_redirect_uris[0]! }).href);
  t.true(asks(page), 'this session never logged in at the shop');

  // Single sign-on: the JMB session logs in at the shop without a page.
  const flow = await rp.start();
  const again = await rp.redeem((await browser.follow(flow.url)).url, flow);
  const answer = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: again.id_token!, post_logout_redirect_uri: SHOP.post_logout_redirect_uris[0]! }).href);
  t.is(answer.status, 303);
});

test('an id_token_hint whose signature does not verify logs nobody out', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await website();
  const tokens = await logIn(browser, rp, member);
  const [header, payload, signature] = tokens.id_token!.split('.');
  const forged = `${header}.${payload}.${signature!.slice(0, -4)}AAAA`;
  const page = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: forged, post_logout_redirect_uri: BYE }).href);
  t.is(page.status, 400);
  t.is(page.location, undefined, 'no redirect');
  t.true(await stillLoggedIn(browser, rp));
});

test('the page after a log-out says what holds: logged out, or still logged in', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const rp = await website();
  const tokens = await logIn(browser, rp, member);

  // Opened while logged in (Back, a bookmark, another tab): it does not claim a log-out.
  const opened = await browser.get('/session/end/success');
  t.regex(opened.html, /<h1>You are still logged in\.<\/h1>/);
  t.notRegex(opened.html, /You have been logged out/);

  // The confirmation form sent without "Log out" (as oidc-provider's own page offered) ends only the
  // relying party's part; the page says exactly that.
  const question = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).href);
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(question.html)![1]!;
  nock('https://rp.example.com').post('/backchannel-logout').reply(200);
  const onlyWebsite = await browser.follow((await browser.post(action, { xsrf: hiddenField(question.html, 'xsrf') })).location!);
  t.regex(onlyWebsite.final.html, /<h1>You are still logged in\.<\/h1>/);
  t.regex(onlyWebsite.final.html, /You have been logged out of JMB website\. You are still logged in to JMB on this device\./);

  const again = await browser.get('/session/end');
  nock('https://rp.example.com').post('/backchannel-logout').reply(200);
  const done = await browser.follow((await browser.post(action, { xsrf: hiddenField(again.html, 'xsrf'), logout: 'yes' })).location!);
  t.regex(done.final.html, /<h1>You have been logged out\.<\/h1>/);
  t.false(await stillLoggedIn(browser, rp));

  // The same form sent once more (Back to the question, or a second tab): still logged out, and said so.
  const twice = await browser.post(action, { xsrf: hiddenField(again.html, 'xsrf'), logout: 'yes' });
  t.regex(twice.html, /<h1>You have been logged out\.<\/h1>/);
  t.notRegex(twice.html, /We could not complete your request/);
});
