import test from 'ava';
import * as client from 'openid-client';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { NATIVE_APP, WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp();
});
test.after.always(async () => app?.stop());

const website = () => RelyingParty.website(app);

async function signedIn() {
  const member = await createMember(app.store);
  const rp = await website();
  const flow = await rp.start();
  const browser = new Browser(app.url);
  const callback = await passwordLogIn(browser, flow.url, member.number, member.password);
  return { member, rp, flow, browser, callback };
}

test('discovery advertises what relying parties rely on', async (t) => {
  const metadata = (await website()).config.serverMetadata();
  t.is(metadata.issuer, app.url);
  t.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  t.deepEqual(metadata.response_types_supported, ['code'], 'none is the account page client\'s alone and not advertised');
  t.true(metadata.authorization_response_iss_parameter_supported);
  t.deepEqual(metadata.id_token_signing_alg_values_supported, ['ES256', 'RS256']);
  t.true(metadata.acr_values_supported?.includes('urn:jmb:loa:1'));
  t.true(metadata.backchannel_logout_supported);
  t.truthy(metadata.end_session_endpoint);
  t.truthy(metadata.revocation_endpoint);
});

test('an unregistered redirect_uri gets an error page and no redirect', async (t) => {
  const rp = await website();
  for (const redirect of ['https://rp.example.com/cb/', 'https://RP.example.com/cb', 'https://rp.example.com/cb?x=1', 'https://evil.example/cb', 'http://rp.example.com/cb']) {
    const { url } = await rp.start({ redirect_uri: redirect });
    const response = await new Browser(app.url).get(url);
    t.is(response.status, 400, redirect);
    t.is(response.location, undefined, `no redirect to ${redirect}`);
    t.regex(response.html, /We could not complete your request/);
    t.notRegex(response.html, /at \w+ \(|node_modules/, 'no stack trace');
  }
});

test('PKCE is required even for the confidential website', async (t) => {
  const rp = await website();
  const url = new URL((await rp.start()).url);
  url.searchParams.delete('code_challenge');
  url.searchParams.delete('code_challenge_method');
  const response = await new Browser(app.url).get(url.toString());
  const error = new URL(response.location!).searchParams;
  t.is(error.get('error'), 'invalid_request');
  t.regex(error.get('error_description') ?? '', /PKCE/);
});

test('a code redeemed twice fails and revokes what the first redemption issued', async (t) => {
  const { member, rp, flow, callback } = await signedIn();
  const tokens = await rp.redeem(callback, flow);
  t.truthy(await client.fetchUserInfo(rp.config, tokens.access_token, member.id));
  const replay = await t.throwsAsync(rp.redeem(callback, flow));
  t.is((replay as client.ResponseBodyError).error, 'invalid_grant');
  await t.throwsAsync(client.fetchUserInfo(rp.config, tokens.access_token, member.id), undefined, 'the first access token no longer works');
});

test('refresh tokens rotate, and reusing an old one revokes the grant', async (t) => {
  const { rp, flow, callback } = await signedIn();
  const first = await rp.redeem(callback, flow);
  t.truthy(first.refresh_token);
  const second = await client.refreshTokenGrant(rp.config, first.refresh_token!);
  t.truthy(second.refresh_token);
  t.not(second.refresh_token, first.refresh_token, 'a new refresh token each time');
  const reuse = await t.throwsAsync(client.refreshTokenGrant(rp.config, first.refresh_token!));
  t.is((reuse as client.ResponseBodyError).error, 'invalid_grant');
  const afterReuse = await t.throwsAsync(client.refreshTokenGrant(rp.config, second.refresh_token!));
  t.is((afterReuse as client.ResponseBodyError).error, 'invalid_grant', 'the newest refresh token died with the grant');
});

test('after log-out, prompt=none answers login_required', async (t) => {
  const { rp, flow, browser, callback } = await signedIn();
  const tokens = await rp.redeem(callback, flow);

  const silent = await browser.follow((await rp.start({ prompt: 'none' })).url);
  t.truthy(new URL(silent.url).searchParams.get('code'), 'the session signs in silently while it lasts');

  // The relying party's own ID token and a registered post-logout address: no question (rp-logout.test.ts).
  const endSession = client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: WEBSITE.post_logout_redirect_uris[0] });
  const done = await browser.get(endSession.toString());
  t.is(done.status, 303);
  t.true(done.location!.startsWith(WEBSITE.post_logout_redirect_uris[0]));

  const after = await browser.follow((await rp.start({ prompt: 'none' })).url);
  t.is(new URL(after.url).searchParams.get('error'), 'login_required');
});

test('a session cookie whose value or signature was changed signs nobody in', async (t) => {
  for (const changed of ['_session', '_session.sig']) {
    const { rp, browser } = await signedIn();
    const cookie = browser.cookies.find((c) => c.name === changed)!;
    cookie.value = `${cookie.value.slice(0, -1)}${cookie.value.endsWith('A') ? 'B' : 'A'}`;
    const silent = await browser.follow((await rp.start({ prompt: 'none' })).url);
    t.is(new URL(silent.url).searchParams.get('error'), 'login_required', `changed ${changed}`);
  }
});

test('Cancel returns access_denied to the relying party', async (t) => {
  const rp = await website();
  const browser = new Browser(app.url);
  const { url } = await browser.follow((await rp.start()).url);
  const cancelled = await browser.follow(`${url}/abort`);
  const params = new URL(cancelled.url).searchParams;
  t.true(cancelled.url.startsWith(WEBSITE.redirect_uris[0]));
  t.is(params.get('error'), 'access_denied');
});

test('a native app signs in as a public client with PKCE and a custom-scheme redirect', async (t) => {
  const member = await createMember(app.store);
  const rp = await RelyingParty.of(app, NATIVE_APP);
  const flow = await rp.start();
  const callback = await passwordLogIn(new Browser(app.url), flow.url, member.number, member.password);
  t.true(callback.startsWith('jp.jmb.app:/oauth2redirect?'));
  const tokens = await rp.redeem(callback, flow);
  t.is(tokens.claims()!.sub, member.id);
  t.truthy(tokens.refresh_token);
});

test('a native app reusing a website session shows which app the member continues to', async (t) => {
  const { member, browser } = await signedIn();
  const rp = await RelyingParty.of(app, NATIVE_APP);
  const flow = await rp.start();
  const { final, url } = await browser.follow(flow.url);
  t.regex(final.html, /Continue to app\?|Continue/);
  t.regex(final.html, new RegExp(member.name));
  const continued = await browser.post(`${url}/continue`, { csrf: hiddenField(final.html, 'csrf') });
  const { url: callback } = await browser.follow(continued.location!);
  const tokens = await rp.redeem(callback, flow);
  t.is(tokens.claims()!.sub, member.id);
});

test('an unknown or expired interaction shows a friendly page', async (t) => {
  const response = await new Browser(app.url).get('/interaction/no-such-interaction');
  t.is(response.status, 400);
  t.regex(response.html, /This sign-in has expired\. Please start again\./);
  t.notRegex(response.html, /Error:|at \w+ \(/);
});

test('log-in form posts without the CSRF token or from another site are refused', async (t) => {
  const member = await createMember(app.store);
  const rp = await website();
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow((await rp.start()).url);
  const noToken = await browser.post(`${url}/login`, { number: member.number, password: member.password });
  t.is(noToken.status, 403);
  const crossSite = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  t.is(crossSite.status, 403);
  const stranger = new Browser(app.url);
  const otherBrowser = await stranger.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  t.is(otherBrowser.status, 400, 'another browser has no interaction cookie: the sign-in has expired for it');
  const ok = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  t.is(ok.status, 303, 'the genuine form still works');
});

test('a disabled member cannot log in and sees the usual message', async (t) => {
  const member = await createMember(app.store, { status: 'disabled' });
  const rp = await website();
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow((await rp.start()).url);
  const response = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  t.is(response.status, 401);
  t.regex(response.html, /The membership number or password is incorrect\./);
});

test('pages carry the security headers and no stack traces leak from bad input', async (t) => {
  const rp = await website();
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow((await rp.start()).url);
  const csp = final.headers.get('content-security-policy') ?? '';
  t.regex(csp, /script-src 'self'/);
  t.notRegex(csp, /unsafe-inline/);
  t.regex(csp, /frame-ancestors 'none'/);
  t.is(final.headers.get('referrer-policy'), 'no-referrer');
  const huge = await browser.post(`${url}/login`, { csrf: 'x', number: '1'.repeat(40_000), password: 'p' });
  t.is(huge.status, 413);
  const wrongType = await browser.request(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: app.url }, body: '{"a":' });
  t.is(wrongType.status, 415);
  t.notRegex(huge.html + wrongType.html, /at \w+ \(|node_modules/);
});

test('health and readiness answer JSON', async (t) => {
  const health = await fetch(`${app.url}/healthz`);
  t.is(health.status, 200);
  t.deepEqual(await health.json(), { status: 'ok' });
  const ready = await fetch(`${app.url}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(await ready.json(), { status: 'ready', store: 'sqlite' });
});

test('two simultaneous redemptions of one code: exactly one gets tokens', async (t) => {
  const { rp, flow, callback } = await signedIn();
  const results = await Promise.allSettled([rp.redeem(callback, flow), rp.redeem(callback, flow)]);
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.is((loser.reason as client.ResponseBodyError).error, 'invalid_grant');
});

test('an essential acr asking only for values the IdP does not offer ends with unmet_authentication_requirements; voluntary unknown values are ignored', async (t) => {
  const rp = await website();
  const essential = await rp.start({ claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:evil', 'urn:example:loa:9'] } } }) });
  const refused = await new Browser(app.url).get(essential.url);
  t.is(refused.status, 303);
  const back = new URL(refused.location!);
  t.is(`${back.origin}${back.pathname}`, WEBSITE.redirect_uris[0]);
  t.is(back.searchParams.get('error'), 'unmet_authentication_requirements');
  t.is(back.searchParams.get('state'), essential.state);
  t.is(back.searchParams.get('iss'), app.url);
  t.is(back.searchParams.get('code'), null, 'no log-in, no code');

  const single = await rp.start({ claims: JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:evil' } } }) });
  t.is(new URL((await new Browser(app.url).get(single.url)).location!).searchParams.get('error'), 'unmet_authentication_requirements');

  const member = await createMember(app.store);
  const voluntary = await rp.start({ acr_values: 'urn:evil', claims: JSON.stringify({ id_token: { acr: { values: ['urn:evil'] } } }) });
  const callback = await passwordLogIn(new Browser(app.url), voluntary.url, member.number, member.password);
  t.is((await rp.redeem(callback, voluntary)).claims()!.acr, 'urn:jmb:loa:1', 'a voluntary unknown acr is simply not met');

  const mixed = await rp.start({ claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:evil', 'urn:jmb:loa:1'] } } }) });
  t.truthy(await passwordLogIn(new Browser(app.url), mixed.url, member.number, member.password), 'one value the IdP offers is enough');
});
