import test, { type ExecutionContext } from 'ava';
import { hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { RawBrowser, linksOf, rawSocketRequest, type RawResponse } from '../helpers/raw-http.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// Paths that are a 404 to the server and, written into a page, a link to another site: `//host` and
// `/\host` are read as another origin by browsers, a tab is dropped from a URL before it is read.
const EVIL_PATHS = [
  '//evil.example/x', '///evil.example/x', '////evil.example', '/\\evil.example/x', '/\\/evil.example/x', '/\\\\evil.example',
  '/%2F%2Fevil.example', '/%2f%2fevil.example/x', '/%5Cevil.example', '/%5C%5Cevil.example/x', '/%09/evil.example', '/.//evil.example/x',
  '//evil.example/x?lang=en&return=//evil.example',
];
// Where the request line itself goes through a router before it can be a 404.
const PREFIXES = ['', '/account', '/account/passkeys', '/interaction', '/help', '/assets', '/session/end', '/auth', '/.well-known'];
// Values for every query parameter a page reads, or might.
const EVIL_VALUES = [
  '//evil.example/x', '///evil.example/x', '/\\evil.example/x', '\\\\evil.example', '/%2F%2Fevil.example', '/%5Cevil.example',
  'https://evil.example/x', 'javascript:alert(1)', '/\t/evil.example', '\t//evil.example', '/\n/evil.example', ' //evil.example',
];
const PARAMS = ['return', 'returnTo', 'return_to', 'redirect', 'redirect_uri', 'next', 'back', 'lang', 'ui_locales', 'state', 'client_id', 'signal'];

/** The same page asked for with every evil value in every parameter, encoded and (where a request line allows it) as is. */
function withEvilQueries(path: string): string[] {
  const join = path.includes('?') ? '&' : '?';
  return EVIL_VALUES.flatMap((value) => [
    `${path}${join}${PARAMS.map((name) => `${name}=${encodeURIComponent(value)}`).join('&')}`,
    ...(/^[\x21-\x7e]+$/.test(value) ? [`${path}${join}${PARAMS.map((name) => `${name}=${value}`).join('&')}`] : []),
  ]);
}

/** Every href, action, src and Location in the answer leads to a path on the IdP itself. */
function staysHome(t: ExecutionContext, app: TestApp, target: string, response: RawResponse): void {
  const links = linksOf(response);
  for (const link of links) {
    const resolved = new URL(link, `${app.url}/`);
    if (resolved.origin !== app.url) t.fail(`${JSON.stringify(target)} (${response.status}) links to ${JSON.stringify(link)}`);
  }
  t.pass();
}

async function walk(t: ExecutionContext, app: TestApp, browser: RawBrowser, targets: string[]): Promise<RawResponse[]> {
  const responses: RawResponse[] = [];
  for (const target of targets) {
    const response = await browser.get(target);
    staysHome(t, app, target, response);
    responses.push(response);
  }
  return responses;
}

const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms });
});
test.after.always(async () => app?.stop());

test('404 and error pages asked for with //host, /\\host and their encodings link only to the IdP', async (t) => {
  const browser = new RawBrowser(app.url);
  const targets = [...PREFIXES.flatMap((prefix) => EVIL_PATHS.map((path) => `${prefix}${path}`)), 'http://evil.example//evil.example/x'];
  const responses = await walk(t, app, browser, targets);
  t.true(responses.filter((response) => response.status === 404).length > targets.length / 2, 'most are the 404 page');
  const notFound = responses.find((response) => response.status === 404 && response.body.includes('<html'))!;
  t.truthy(notFound, 'the 404 page is a page');

  // A request line with a tab or a line break in it is refused before any page is made.
  for (const target of ['/\t/evil.example/x', '/\t\t//evil.example', '/%0A/x\n//evil.example']) {
    const { statusLine, body } = await rawSocketRequest(app.url, target);
    t.regex(statusLine, /^HTTP\/1\.1 400/, JSON.stringify(target));
    staysHome(t, app, target, { body, location: undefined } as RawResponse);
  }
});

test('pages that read a return path, a language or a state from the query link only to the IdP', async (t) => {
  const browser = new RawBrowser(app.url);
  const rp = await RelyingParty.website(app);
  const authorize = new URL((await rp.start()).url);
  const pages = [
    '/', '/help/passkeys', '/help/login', '/account', '/account/passkeys', '/account/callback', '/interaction/no-such-sign-in', '/session/end',
    '/session/end/success', '/nowhere',
    // The provider's own error pages: a redirect URI that is not registered, an unknown client.
    `/auth?client_id=website&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`,
    '/auth?client_id=nobody&response_type=code&scope=openid',
    `/session/end?client_id=website&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
  ];
  await walk(t, app, browser, pages.flatMap(withEvilQueries));

  // The log-in page of a sign-in under way, and its paths.
  const started = await browser.get(`${authorize.pathname}${authorize.search}`);
  const interaction = new URL(started.location!, app.url).pathname;
  const [page] = await walk(t, app, browser, [interaction, ...withEvilQueries(interaction), ...EVIL_PATHS.map((path) => `${interaction}${path}`)]);
  t.regex(page!.body, /name="password"/, 'the log-in page was walked');
});

test('account pages, the SMS step and the logged-out page of a signed-in member link only to the IdP', async (t) => {
  const member = await createMember(app.store, { phone: '+819011112222' });
  const browser = new RawBrowser(app.url);
  // Log in to the account page, following the IdP's own redirects.
  let target = '/account';
  let response = await browser.get(target);
  for (let hop = 0; hop < 10 && response.location; hop++) {
    staysHome(t, app, target, response);
    target = new URL(response.location, app.url).pathname + new URL(response.location, app.url).search;
    response = await browser.get(target);
    if (response.body.includes('name="password"')) {
      response = await browser.post(`${target}/login`, { csrf: hiddenField(response.body, 'csrf'), number: member.number, password: member.password });
    }
  }
  t.regex(response.body, /class="session-row"/, 'signed in to the account page');

  const [smsStep] = await walk(t, app, browser, ['/account/passkeys', ...withEvilQueries('/account'), ...withEvilQueries('/account/passkeys')]);
  t.regex(smsStep!.body, /name="code"/, 'the SMS step was walked');
  await walk(t, app, browser, [...EVIL_PATHS, ...EVIL_PATHS.map((path) => `/account${path}`)]);

  const logout = await browser.get('/session/end');
  staysHome(t, app, '/session/end', logout);
  const confirmed = await browser.post(new URL(/<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(logout.body)![1]!).pathname, {
    xsrf: hiddenField(logout.body, 'xsrf'), logout: 'yes',
  });
  staysHome(t, app, 'logout', confirmed);
  await walk(t, app, browser, withEvilQueries('/session/end/success'));
});

test('the "too many requests" page offers "Try again" on the IdP only', async (t) => {
  const limited = await startTestApp({ env: { SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: '1' } });
  t.teardown(() => limited.stop());
  const rp = await RelyingParty.website(limited);
  const browser = new RawBrowser(limited.url);
  const authorize = new URL((await rp.start()).url);
  const first = await browser.get(`${authorize.pathname}${authorize.search}`);
  t.is(first.status, 303);
  const refusals = await walk(t, limited, new RawBrowser(limited.url), withEvilQueries(`${authorize.pathname}${authorize.search}`).slice(0, 4));
  for (const refusal of refusals) {
    t.is(refusal.status, 429);
    t.regex(refusal.body, /href="\/auth\?[^"]+">Try again</);
  }
});
