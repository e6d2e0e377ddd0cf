import test from 'ava';
import { Browser } from '../helpers/browser.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp();
});
test.after.always(async () => app?.stop());

/** A form post to the authorization endpoint, as a relying party's page would send it. */
const postAuthorization = (browser: Browser, body: string, type = 'application/x-www-form-urlencoded') =>
  browser.request(`${app.url}/auth`, { method: 'POST', headers: { 'content-type': type, origin: 'https://rp.example.com', 'sec-fetch-site': 'cross-site' }, body });

test('an authorization request sent by POST goes on as the same request by GET, and the sign-in completes', async (t) => {
  const member = await createMember(app.store);
  const rp = await RelyingParty.website(app);
  const flow = await rp.start();
  const parameters = new URL(flow.url).searchParams;
  const browser = new Browser(app.url);

  const posted = await postAuthorization(browser, parameters.toString());
  t.is(posted.status, 303);
  const sentOn = new URL(posted.location!);
  t.is(`${sentOn.origin}${sentOn.pathname}`, `${app.url}/auth`);
  t.deepEqual([...sentOn.searchParams].sort(), [...parameters].sort(), 'every parameter, unchanged');

  const callback = await passwordLogIn(browser, posted.location!, member.number, member.password);
  const tokens = await rp.redeem(callback, flow);
  t.is(tokens.claims()!.sub, member.id);

  const silent = await rp.start({ prompt: 'none' });
  const again = await postAuthorization(browser, new URL(silent.url).searchParams.toString());
  const { url } = await browser.follow(again.location!);
  t.truthy(new URL(url).searchParams.get('code'), 'the GET carries the session cookie: prompt=none by POST signs in silently');
});

test('a POSTed request with a repeated parameter is refused as it would be by GET', async (t) => {
  const rp = await RelyingParty.website(app);
  const { url, state } = await rp.start();
  const body = `${new URL(url).searchParams}&scope=openid`;
  const browser = new Browser(app.url);
  const posted = await postAuthorization(browser, body);
  const { url: back } = await browser.follow(posted.location!);
  t.true(back.startsWith(WEBSITE.redirect_uris[0]));
  t.is(new URL(back).searchParams.get('error'), 'invalid_request');
  t.is(new URL(back).searchParams.get('state'), state);
});

test('a POST that is not a form, or too large, is refused', async (t) => {
  const browser = new Browser(app.url);
  const json = await postAuthorization(browser, '{"client_id":"website"}', 'application/json');
  t.is(json.status, 415);
  const huge = await postAuthorization(browser, `client_id=website&state=${'x'.repeat(9000)}`);
  t.is(huge.status, 413);
});

test('response_type=none, kept for the account page alone, is refused for every other client', async (t) => {
  const rp = await RelyingParty.website(app);
  const { url } = await rp.start({ response_type: 'none' });
  const { url: back } = await new Browser(app.url).follow(url);
  t.true(back.startsWith(WEBSITE.redirect_uris[0]));
  t.is(new URL(back).searchParams.get('error'), 'invalid_request');
  t.is(new URL(back).searchParams.get('code'), null);
});

test('response_mode query is accepted; fragment and form_post are refused before any log-in', async (t) => {
  const member = await createMember(app.store);
  const rp = await RelyingParty.website(app);
  const query = await rp.start({ response_mode: 'query' });
  const callback = await passwordLogIn(new Browser(app.url), query.url, member.number, member.password);
  t.truthy(new URL(callback).searchParams.get('code'));

  const fragment = await new Browser(app.url).get((await rp.start({ response_mode: 'fragment' })).url);
  t.is(fragment.status, 303);
  const answer = new URL(fragment.location!);
  t.true(answer.href.startsWith(WEBSITE.redirect_uris[0]));
  t.is(new URLSearchParams(answer.hash.slice(1)).get('error'), 'invalid_request', 'the refusal comes back the way it was asked for');

  const formPost = await new Browser(app.url).get((await rp.start({ response_mode: 'form_post' })).url);
  t.is(formPost.status, 400);
  t.regex(formPost.html, new RegExp(`<form method="post" action="${WEBSITE.redirect_uris[0]}"`));
  t.regex(formPost.html, /name="error" value="invalid_request"/);
  t.notRegex(formPost.html, /name="code"/);
});
