import test from 'ava';
import * as jose from 'jose';
import type { DemoSite } from '../../demo/site.ts';
import { demoClients } from '../../src/config/demo-clients.ts';
import { Browser, hiddenField, type PageResponse } from '../helpers/browser.ts';
import { startDemoSiteWithIdp } from '../helpers/demo-site.ts';
import { createMember, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
let site: DemoSite;
const website = demoClients().find((c) => c.client_id === 'jmb-website')!;

test.before(async () => {
  ({ site, app } = await startDemoSiteWithIdp());
});
test.after.always(async () => {
  await site?.close();
  await app?.stop();
});

/** Follows redirects across both origins, as a browser would, to the page that is finally shown. */
async function visit(browser: Browser, url: string, first?: PageResponse): Promise<{ page: PageResponse; url: string }> {
  let current = url;
  let response = first ?? (await browser.get(current));
  for (let hop = 0; hop < 15; hop++) {
    if (!response.location || response.status < 300 || response.status >= 400) return { page: response, url: current };
    current = response.location;
    response = await browser.get(current);
  }
  throw new Error('too many redirects');
}

/** Presses a button in one of the demo site's forms. */
const pressOnSite = (browser: Browser, path: string) => browser.post(`${site.url}${path}`, {}, { origin: site.url });

/** From the demo home page to the IdP's log-in page. */
async function startLogIn(browser: Browser): Promise<{ page: PageResponse; url: string }> {
  const home = await browser.get(`${site.url}/`);
  if (!/<button[^>]*>Log in<\/button>/.test(home.html)) throw new Error('the demo home page has no "Log in" button');
  const started = await pressOnSite(browser, '/login');
  return visit(browser, site.url, started);
}

async function logIn(browser: Browser, member: { number: string; password: string }): Promise<{ page: PageResponse; url: string }> {
  const { page, url } = await startLogIn(browser);
  if (!url.startsWith(`${app.url}/interaction/`)) throw new Error(`expected the IdP's log-in page, got ${page.status} at ${url}`);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(page.html, 'csrf'), number: member.number, password: member.password });
  return visit(browser, url, posted);
}

test('a member logs in on the IdP and the demo website shows who they are and how they proved it', async (t) => {
  const member = await createMember(app.store, { name: 'Hanako Suzuki <Ltd>' });
  const browser = new Browser(app.url);

  const signedOut = await browser.get(`${site.url}/`);
  t.is(signedOut.status, 200);
  t.regex(signedOut.html, /<h1>JMB website \(demo\)<\/h1>/);
  t.regex(signedOut.html, /<button type="submit">Log in<\/button>/);
  t.notRegex(signedOut.html, /<script/);

  const before = Math.floor(Date.now() / 1000);
  const { page, url } = await logIn(browser, member);
  t.is(url, `${site.url}/`, 'the member lands back on the demo home page');
  t.is(page.status, 200);
  t.true(page.html.includes('Welcome, Hanako Suzuki &#60;Ltd&#62;.'), 'the name from userinfo, escaped');
  t.regex(page.html, new RegExp(`<dt>Membership number</dt><dd>${member.number}</dd>`));
  t.regex(page.html, /<dt>Assurance level \(acr\)<\/dt><dd>urn:jmb:loa:1<\/dd>/);
  t.regex(page.html, /<dt>Authentication methods \(amr\)<\/dt><dd>pwd<\/dd>/);
  const shown = /<dt>Logged in at \(auth_time\)<\/dt><dd>(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC<\/dd>/.exec(page.html)?.[1];
  t.truthy(shown, 'auth_time is shown as a date and time');
  t.true(Date.parse(`${shown}Z`) / 1000 >= before - 1);
  t.true(page.html.includes(`<a href="${app.url}/account?client_id=jmb-website">Manage your account</a>`));
  t.regex(page.html, /<form method="post" action="\/logout"><button type="submit">Log out<\/button><\/form>/);
  t.notRegex(page.html, /Log in<\/button>/);

  const cookie = browser.cookies.find((c) => c.name === 'jmb_demo_site');
  t.truthy(cookie);
  t.regex(cookie!.value, /^[A-Za-z0-9_-]{43}$/, 'the cookie holds only a random key');
});

test('pressing Cancel on the IdP page brings the member back to a friendly message', async (t) => {
  const browser = new Browser(app.url);
  const { page, url } = await startLogIn(browser);
  t.true(url.startsWith(`${app.url}/interaction/`));
  const cancel = /<a href="(\/interaction\/[^"]+\/abort)">/.exec(page.html)?.[1];
  t.truthy(cancel, 'the log-in page has a cancel link');

  const back = await visit(browser, `${app.url}${cancel}`);
  t.is(back.url, `${site.url}/?notice=cancelled`);
  t.is(back.page.status, 200);
  t.true(back.page.html.includes('Log-in was cancelled.'));
  t.regex(back.page.html, /<button type="submit">Log in<\/button>/);
  t.notRegex(back.page.html, /Error|at [\w.]+ \(/, 'no error dump or stack trace');
});

test('a callback nobody started shows a message, not an error', async (t) => {
  const browser = new Browser(app.url);
  const { page, url } = await visit(browser, `${site.url}/callback?code=forged&state=forged&iss=${encodeURIComponent(app.url)}`);
  t.is(url, `${site.url}/?notice=expired`);
  t.is(page.status, 200);
  t.true(page.html.includes('Please try again.'));
});

test('Log out ends the session on the website and on the IdP at once, back on the website', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  await logIn(browser, member);

  t.is((await browser.post(`${site.url}/logout`, {}, { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' })).status, 403, 'a cross-site log-out is refused');
  t.true((await browser.get(`${site.url}/`)).html.includes('Log out'), 'and the member is still logged in');

  const home = await visit(browser, site.url, await pressOnSite(browser, '/logout'));
  t.is(home.url, `${site.url}/?notice=logged-out`, 'no question at the IdP: straight back to the website');
  t.true(home.page.html.includes('You have logged out of the JMB website.'));
  t.regex(home.page.html, /<button type="submit">Log in<\/button>/);
  t.false(home.page.html.includes('Membership number'));

  const again = await startLogIn(browser);
  t.true(again.url.startsWith(`${app.url}/interaction/`), 'the IdP asks for the password again');
});

test('the website keeps the member logged in until the IdP returns with the log-out\'s own state', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  await logIn(browser, member);
  const toIdp = await pressOnSite(browser, '/logout');
  const state = new URL(toIdp.location!).searchParams.get('state');
  t.truthy(state, 'the log-out carries a state of its own');

  // Back at the website without it (as after "Stay logged in"), or with another: still logged in.
  for (const query of ['', '?state=someone-elses']) {
    const home = await browser.get(`${site.url}/${query}`);
    t.true(home.html.includes(member.number), `still logged in at /${query}`);
  }
  const done = await visit(browser, `${site.url}/?state=${state}`);
  t.is(done.url, `${site.url}/?notice=logged-out`);
  t.false(done.page.html.includes(member.number));
});

test('logging out at the IdP ends the website session through the back channel', async (t) => {
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const signedIn = await logIn(browser, member);
  t.true(signedIn.page.html.includes(member.number));

  // Logging out at the IdP directly (as another JMB site would send the member), not through the demo.
  const { page } = await visit(browser, `${app.url}/session/end`);
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(page.html)?.[1];
  t.truthy(action);
  await browser.post(new URL(action!, app.url).href, { xsrf: hiddenField(page.html, 'xsrf'), logout: 'yes' });

  const home = await browser.get(`${site.url}/`);
  t.regex(home.html, /<button type="submit">Log in<\/button>/, 'the website forgot the member');
  t.false(home.html.includes(member.number));
});

const postLogoutToken = (body: string, type = 'application/x-www-form-urlencoded') =>
  fetch(`${site.url}/backchannel-logout`, { method: 'POST', headers: { 'content-type': type }, body });

/** A logout token signed with the IdP's own ES256 key, with `claims` added or replaced. */
async function idpSignedLogoutToken(claims: Record<string, unknown>, typ = 'logout+jwt'): Promise<string> {
  const jwk = app.config.jwks.keys.find((key) => key.alg === 'ES256')!;
  const key = await jose.importJWK(jwk as jose.JWK, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: app.url, aud: website.client_id, iat: now, exp: now + 120, jti: crypto.randomUUID(),
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    ...claims,
  };
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ, kid: jwk.kid! }).sign(key);
}

test('a logout token from the IdP naming the member ends their website session', async (t) => {
  const member = await createMember(app.store);
  const other = await createMember(app.store);
  const browser = new Browser(app.url);
  const otherBrowser = new Browser(app.url);
  await logIn(browser, member);
  await logIn(otherBrowser, other);

  const response = await postLogoutToken(`logout_token=${await idpSignedLogoutToken({ sub: member.id })}`);
  t.is(response.status, 200);
  t.is(response.headers.get('cache-control'), 'no-store');

  const home = await browser.get(`${site.url}/`);
  t.regex(home.html, /<button type="submit">Log in<\/button>/, 'the member is logged out of the website');
  t.true((await otherBrowser.get(`${site.url}/`)).html.includes(other.number), 'another member stays logged in');
});

test('the back-channel logout endpoint rejects tokens the IdP did not sign', async (t) => {
  const post = postLogoutToken;
  const garbage = await post('logout_token=not-a-jwt');
  t.is(garbage.status, 400);
  t.is(((await garbage.json()) as { error: string }).error, 'invalid_request');
  t.is((await post('')).status, 400, 'no token at all');
  t.is((await post('{"logout_token":"x"}', 'application/json')).status, 400, 'not a form');

  const { privateKey } = await jose.generateKeyPair('ES256');
  const forged = await new jose.SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 'any' })
    .setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt', kid: app.config.jwks.keys[0]!.kid as string })
    .setIssuer(app.url).setAudience(website.client_id).setSubject('any').setIssuedAt().setJti('forged').sign(privateKey);
  t.is((await post(`logout_token=${forged}`)).status, 400, 'a well-formed token signed with another key');

  t.is((await post(`logout_token=${await idpSignedLogoutToken({ sub: 'x', nonce: 'n' })}`)).status, 400, 'a nonce: an ID token, not a logout token');
  t.is((await post(`logout_token=${await idpSignedLogoutToken({ sub: 'x' }, 'JWT')}`)).status, 400, 'not typed as a logout token');
  t.is((await post(`logout_token=${await idpSignedLogoutToken({ sub: 'x', aud: 'another-client' })}`)).status, 400, 'for another client');
  t.is((await post(`logout_token=${await idpSignedLogoutToken({ sub: 'x', events: {} })}`)).status, 400, 'without the logout event');
  t.is((await post(`logout_token=${await idpSignedLogoutToken({})}`)).status, 400, 'naming neither member nor session');
  t.is((await post(`logout_token=${await idpSignedLogoutToken({ sub: 'x' })}`)).status, 200, 'while the same token done right is accepted');
});
