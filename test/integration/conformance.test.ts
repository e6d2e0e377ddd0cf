/**
 * The OpenID Foundation conformance suite's Basic OP and Config OP test modules, one test each, named
 * after the module and asserting what the module checks, as a relying party sees it. The suite
 * itself needs its own server and database and cannot run here; see docs/relying-parties.md,
 * "The OpenID conformance suite's modules, mirrored".
 */
import test from 'ava';
import * as jose from 'jose';
import * as client from 'openid-client';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { logInWithPassword, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty, type RelyingPartyOptions } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// WEBSITE names no ID token algorithm, as a relying party that relies on the standard's default.
const RS256_WEBSITE = { ...WEBSITE, client_id: 'rs256-website', id_token_signed_response_alg: 'RS256' };
const POST_WEBSITE = { ...WEBSITE, client_id: 'post-website', token_endpoint_auth_method: 'client_secret_post' };
const TWO_REDIRECTS = { ...WEBSITE, client_id: 'two-redirects', redirect_uris: ['https://rp.example.com/cb', 'https://rp.example.com/cb2'] };
const SIGNED_USERINFO = { ...WEBSITE, client_id: 'signed-userinfo', userinfo_signed_response_alg: 'RS256' };
const SECOND_WEBSITE = { ...WEBSITE, client_id: 'second-website', client_secret: 'second-website-secret-for-tests-0123456789' };

const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms, clients: [WEBSITE, RS256_WEBSITE, POST_WEBSITE, TWO_REDIRECTS, SIGNED_USERINFO, SECOND_WEBSITE] });
});
test.after.always(async () => app?.stop());

type Client = { client_id: string; client_secret: string; redirect_uris: string[] };
const relyingParty = (metadata: Client = WEBSITE, options: Partial<RelyingPartyOptions> = {}) =>
  RelyingParty.of(app, metadata, options);

/** A member's password log-in for `params` (in `browser`, a fresh one by default), the callback and its tokens. */
async function logIn(rp: RelyingParty, params: Record<string, string> = {}, browser = new Browser(app.url), member?: Awaited<ReturnType<typeof createMember>>) {
  const who = member ?? await createMember(app.store);
  const { flow, callback, tokens } = await logInWithPassword(rp, who, { params, browser });
  return { member: who, browser, flow, callback: new URL(callback), tokens, idToken: tokens.claims()! };
}

/** Where the browser lands for an authorization request, following the IdP's own redirects. */
const land = async (url: string, browser = new Browser(app.url)) => browser.follow(url);

const jwks = async () => jose.createLocalJWKSet(await (await fetch(`${app.url}/jwks`)).json() as jose.JSONWebKeySet);
const discovery = async () => (await fetch(`${app.url}/.well-known/openid-configuration`)).json() as Promise<Record<string, unknown>>;
const nextSecond = async (after: number) => {
  while (Math.floor(Date.now() / 1000) <= after) await new Promise((resolve) => setTimeout(resolve, 100));
};

test('oidcc-server: the code flow answers code, state and iss, then tokens with a valid signed ID token', async (t) => {
  const rp = await relyingParty();
  const { member, flow, callback, tokens, idToken } = await logIn(rp);
  t.truthy(callback.searchParams.get('code'));
  t.is(callback.searchParams.get('state'), flow.state);
  t.is(callback.searchParams.get('iss'), app.url);
  t.is(tokens.token_type, 'bearer');
  t.true((tokens.expires_in ?? 0) > 0);
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token!, await jwks(), { issuer: app.url, audience: WEBSITE.client_id });
  t.truthy(protectedHeader.kid);
  t.like(payload, { sub: member.id, nonce: flow.nonce });
  t.true(payload.exp! > payload.iat!);
  t.is(idToken.auth_time, payload.auth_time as number);
});

test('oidcc-response-type-missing: a request without response_type is sent back with invalid_request', async (t) => {
  const rp = await relyingParty();
  const { url, state } = await rp.start();
  const missing = new URL(url);
  missing.searchParams.delete('response_type');
  const { url: back } = await land(missing.toString());
  t.true(back.startsWith(WEBSITE.redirect_uris[0]));
  t.is(new URL(back).searchParams.get('error'), 'invalid_request');
  t.is(new URL(back).searchParams.get('state'), state);
});

for (const [module, init] of [
  ['oidcc-userinfo-get', (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })],
  ['oidcc-userinfo-post-header', (token: string): RequestInit => ({ method: 'POST', headers: { authorization: `Bearer ${token}` } })],
  ['oidcc-userinfo-post-body', (token: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${token}` })],
] as const) {
  test(`${module}: userinfo answers JSON for the ID token's subject`, async (t) => {
    const { member, tokens, idToken } = await logIn(await relyingParty(), { scope: 'openid profile' });
    const response = await fetch(`${app.url}/me`, init(tokens.access_token));
    t.is(response.status, 200);
    t.regex(response.headers.get('content-type') ?? '', /^application\/json/);
    t.deepEqual(await response.json(), { sub: idToken.sub, name: member.name });
  });
}

test('oidcc-ensure-request-without-nonce-succeeds-for-code-flow: a code, and an ID token without nonce', async (t) => {
  const member = await createMember(app.store);
  const rp = await relyingParty();
  const flow = await rp.start();
  const url = new URL(flow.url);
  url.searchParams.delete('nonce');
  const callback = await passwordLogIn(new Browser(app.url), url.toString(), member.number, member.password);
  const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, idTokenExpected: true });
  t.is(tokens.claims()!.sub, member.id);
  t.false('nonce' in tokens.claims()!);
});

const scopeModules: [string, string, string[]][] = [
  ['oidcc-scope-profile', 'openid profile', ['name']],
  ['oidcc-scope-phone', 'openid phone', ['phone_number']],
  // The module asks for the standard scopes; email and address are not offered and are ignored.
  ['oidcc-scope-all', 'openid address email phone profile', ['name', 'phone_number']],
];
for (const [module, scope, expected] of scopeModules) {
  test(`${module}: "${scope}" releases ${expected.join(' and ')} at userinfo`, async (t) => {
    const { member, tokens } = await logIn(await relyingParty(), { scope });
    const userinfo = await client.fetchUserInfo((await relyingParty()).config, tokens.access_token, member.id);
    t.deepEqual(Object.keys(userinfo).sort(), ['sub', ...expected].sort());
    if (expected.includes('name')) t.is(userinfo.name, member.name);
    if (expected.includes('phone_number')) t.is(userinfo.phone_number, member.phone);
  });
}

test('oidcc-ensure-other-scope-order-succeeds: scopes and parameters in another order work alike', async (t) => {
  const member = await createMember(app.store);
  const rp = await relyingParty();
  const flow = await rp.start({ scope: 'phone profile openid' });
  const url = new URL(flow.url);
  const reordered = new URL(`${url.origin}${url.pathname}?${new URLSearchParams([...url.searchParams].reverse())}`);
  const tokens = await rp.redeem(await passwordLogIn(new Browser(app.url), reordered.toString(), member.number, member.password), flow);
  t.like(await client.fetchUserInfo(rp.config, tokens.access_token, member.id), { name: member.name, phone_number: member.phone });
});

for (const display of ['page', 'popup']) {
  test(`oidcc-display-${display}: display=${display} shows the usual log-in page and the sign-in completes`, async (t) => {
    const rp = await relyingParty();
    const { final, url } = await land((await rp.start({ display })).url);
    t.is(final.status, 200);
    t.regex(url, /\/interaction\//);
    t.regex(final.html, /<button[^>]*>Log in<\/button>/);
    const { idToken } = await logIn(rp, { display });
    t.truthy(idToken.sub);
  });
}

test('oidcc-prompt-login: prompt=login asks again despite the session, and auth_time moves on', async (t) => {
  const rp = await relyingParty();
  const first = await logIn(rp);
  await nextSecond(first.idToken.auth_time!);
  const { final, url } = await land((await rp.start({ prompt: 'login' })).url, first.browser);
  t.regex(url, /\/interaction\//, 'the log-in page, not a code');
  t.regex(final.html, /JMB membership number/);
  const second = await logIn(rp, { prompt: 'login' }, first.browser, first.member);
  t.is(second.idToken.sub, first.idToken.sub);
  t.true(second.idToken.auth_time! > first.idToken.auth_time!);
});

test('oidcc-prompt-none-not-logged-in: prompt=none without a session answers login_required', async (t) => {
  const rp = await relyingParty();
  const { url, state } = await rp.start({ prompt: 'none' });
  const { url: back } = await land(url);
  t.true(back.startsWith(WEBSITE.redirect_uris[0]));
  t.is(new URL(back).searchParams.get('error'), 'login_required');
  t.is(new URL(back).searchParams.get('state'), state);
});

test('oidcc-prompt-none-logged-in: prompt=none with a session signs in silently, same sub and auth_time', async (t) => {
  const rp = await relyingParty();
  const first = await logIn(rp);
  const flow = await rp.start({ prompt: 'none' });
  const { url } = await land(flow.url, first.browser);
  t.true(url.startsWith(WEBSITE.redirect_uris[0]), 'straight back, no page');
  const claims = (await rp.redeem(url, flow)).claims()!;
  t.is(claims.sub, first.idToken.sub);
  t.is(claims.auth_time, first.idToken.auth_time);
});

test('oidcc-max-age-1: after more than a second, max_age=1 asks again and auth_time says when', async (t) => {
  const rp = await relyingParty();
  const first = await logIn(rp);
  await nextSecond(first.idToken.auth_time! + 1);
  const { url } = await land((await rp.start({ max_age: '1' })).url, first.browser);
  t.regex(url, /\/interaction\//, 'the log-in page, not a code');
  const second = await logIn(rp, { max_age: '1' }, first.browser, first.member);
  t.is(typeof second.idToken.auth_time, 'number');
  t.true(second.idToken.auth_time! > first.idToken.auth_time!);
});

test('oidcc-max-age-10000: max_age=10000 with a fresh session signs in silently, same sub and auth_time', async (t) => {
  const rp = await relyingParty();
  const first = await logIn(rp, { max_age: '15000' });
  t.is(typeof first.idToken.auth_time, 'number');
  const flow = await rp.start({ max_age: '10000' });
  const { url } = await land(flow.url, first.browser);
  t.true(url.startsWith(WEBSITE.redirect_uris[0]), 'straight back, no page');
  const claims = (await rp.redeem(url, flow)).claims()!;
  t.is(claims.sub, first.idToken.sub);
  t.is(claims.auth_time, first.idToken.auth_time);
});

test('oidcc-ensure-request-with-unknown-parameter-succeeds: extra=foobar is ignored', async (t) => {
  const { idToken, callback } = await logIn(await relyingParty(), { extra: 'foobar' });
  t.truthy(idToken.sub);
  t.is(callback.searchParams.get('extra'), null);
});

test('oidcc-id-token-hint: prompt=none with the earlier ID token as hint signs in silently as the same member', async (t) => {
  const rp = await relyingParty();
  const first = await logIn(rp);
  const flow = await rp.start({ prompt: 'none', id_token_hint: first.tokens.id_token! });
  const { url } = await land(flow.url, first.browser);
  t.true(url.startsWith(WEBSITE.redirect_uris[0]));
  const claims = (await rp.redeem(url, flow)).claims()!;
  t.is(claims.sub, first.idToken.sub);
  t.is(claims.auth_time, first.idToken.auth_time);
});

test('oidcc-login-hint: a login_hint is no error; a member number fills the field', async (t) => {
  const member = await createMember(app.store);
  const rp = await relyingParty();
  for (const hint of [member.number, 'buffy@localhost']) {
    const { final } = await land((await rp.start({ login_hint: hint })).url);
    t.is(final.status, 200, hint);
    t.regex(final.html, /name="number"/);
  }
  const { final } = await land((await rp.start({ login_hint: member.number })).url);
  t.regex(final.html, new RegExp(`name="number"[^>]*value="${member.number}"`));
  const { idToken } = await logIn(rp, { login_hint: member.number }, undefined, member);
  t.is(idToken.sub, member.id);
});

test('oidcc-ui-locales: ui_locales is no error, and the page is in a requested language', async (t) => {
  const rp = await relyingParty();
  const unknown = await land((await rp.start({ ui_locales: 'se' })).url);
  t.is(unknown.final.status, 200);
  const japanese = await land((await rp.start({ ui_locales: 'se ja' })).url);
  t.regex(japanese.final.html, /<html lang="ja"/);
  const english = new Browser(app.url);
  english.acceptLanguage = 'ja';
  const asked = await land((await rp.start({ ui_locales: 'en-GB' })).url, english);
  t.regex(asked.final.html, /<html lang="en"/);
});

test('oidcc-claims-locales: claims_locales is no error; claims come as registered', async (t) => {
  const { member, tokens } = await logIn(await relyingParty(), { claims_locales: 'se', scope: 'openid profile' });
  t.like(await client.fetchUserInfo((await relyingParty()).config, tokens.access_token, member.id), { name: member.name });
});

test('oidcc-ensure-request-with-acr-values-succeeds: every advertised acr value asked for; the acr is one of them', async (t) => {
  const acrValues = (await discovery()).acr_values_supported as string[];
  const member = await createMember(app.store, { phone: '+819033330001' });
  const rp = await relyingParty();
  const flow = await rp.start({ acr_values: acrValues.join(' ') });
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow(flow.url);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  // urn:jmb:loa:2 is among them: the SMS step follows the password.
  const step = await browser.follow(posted.location!);
  const verified = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code: sms.lastCode(member.phone) });
  const { url: callback } = await browser.follow(verified.location!);
  const { acr } = (await rp.redeem(callback, flow)).claims()!;
  t.true(acrValues.includes(acr as string), String(acr));
});

test('oidcc-codereuse: a code used twice gets invalid_grant', async (t) => {
  const rp = await relyingParty();
  const { flow, callback } = await logIn(rp);
  const reuse = await t.throwsAsync(rp.redeem(callback.toString(), flow));
  t.is((reuse as client.ResponseBodyError).error, 'invalid_grant');
});

test('oidcc-codereuse-30seconds: 30 seconds later, a reused code gets invalid_grant and the first access token is revoked', async (t) => {
  t.timeout(60_000);
  const rp = await relyingParty();
  const { member, flow, callback, tokens } = await logIn(rp);
  t.truthy(await client.fetchUserInfo(rp.config, tokens.access_token, member.id));
  await new Promise((resolve) => setTimeout(resolve, 30_000));
  const reuse = await t.throwsAsync(rp.redeem(callback.toString(), flow));
  t.is((reuse as client.ResponseBodyError).error, 'invalid_grant');
  const after = await fetch(`${app.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(after.status, 401, 'RFC 6749 4.1.2: the tokens of the first redemption are revoked');
});

test('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri gets an error page, no redirect', async (t) => {
  const rp = await relyingParty();
  const { final } = await land((await rp.start({ redirect_uri: 'https://rp.example.com/unregistered' })).url);
  t.is(final.status, 400);
  t.is(final.location, undefined);
  t.regex(final.html, /We could not complete your request/);
});

test('oidcc-server-client-secret-post: the code flow with the secret in the token request body', async (t) => {
  const rp = await relyingParty(POST_WEBSITE, { secretIn: 'body' });
  const { member, idToken } = await logIn(rp);
  t.is(idToken.sub, member.id);
  t.is(idToken.aud, POST_WEBSITE.client_id);
});

test('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: rejected with request_not_supported', async (t) => {
  const metadata = await discovery();
  t.false('request_parameter_supported' in metadata && metadata.request_parameter_supported !== false);
  t.false('request_object_signing_alg_values_supported' in metadata);
  const rp = await relyingParty();
  const { url, state } = await rp.start();
  const withRequest = new URL(url);
  withRequest.searchParams.set('request', new jose.UnsecuredJWT({ client_id: WEBSITE.client_id, response_type: 'code', scope: 'openid', redirect_uri: WEBSITE.redirect_uris[0], state }).setIssuer(WEBSITE.client_id).setAudience(app.url).encode());
  const { url: back } = await land(withRequest.toString());
  t.true(back.startsWith(WEBSITE.redirect_uris[0]));
  t.is(new URL(back).searchParams.get('error'), 'request_not_supported');
  t.is(new URL(back).searchParams.get('state'), state);
});

test('oidcc-claims-essential: an essential name at userinfo is released with only the openid scope', async (t) => {
  const rp = await relyingParty();
  const { member, tokens } = await logIn(rp, { scope: 'openid', claims: JSON.stringify({ userinfo: { name: { essential: true } } }) });
  t.deepEqual(await client.fetchUserInfo(rp.config, tokens.access_token, member.id), { sub: member.id, name: member.name });
});

test('oidcc-ensure-redirect-uri-in-authorization-request: a client with two redirect URIs must name one', async (t) => {
  const rp = await relyingParty(TWO_REDIRECTS);
  const url = new URL((await rp.start()).url);
  url.searchParams.delete('redirect_uri');
  const { final } = await land(url.toString());
  t.is(final.status, 400);
  t.is(final.location, undefined, 'an error page, not a redirect');
  t.regex(final.html, /We could not complete your request/);
});

test('oidcc-ensure-post-request-succeeds: an authorization request by POST completes at the redirect URI', async (t) => {
  const member = await createMember(app.store);
  const rp = await relyingParty();
  const flow = await rp.start();
  const browser = new Browser(app.url);
  const posted = await browser.request(`${app.url}/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://rp.example.com' },
    body: new URL(flow.url).searchParams.toString(),
  });
  const callback = await passwordLogIn(browser, posted.location!, member.number, member.password);
  t.true(callback.startsWith(WEBSITE.redirect_uris[0]));
  t.is((await rp.redeem(callback, flow)).claims()!.sub, member.id);
});

test('oidcc-refresh-token: refresh tokens work, keep the ID token\'s subject and are bound to their client', async (t) => {
  const scope = (await discovery() as { scopes_supported: string[] }).scopes_supported.includes('offline_access') ? 'openid offline_access' : 'openid';
  const rp = await relyingParty();
  const { member, tokens, idToken } = await logIn(rp, { scope, prompt: 'consent' });
  t.regex(tokens.refresh_token!, /^[\x20-\x7E]+$/, 'RFC 6749 A.17: printable ASCII only');
  const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
  t.not(refreshed.access_token, tokens.access_token);
  t.truthy(await client.fetchUserInfo(rp.config, refreshed.access_token, member.id));
  // Core 12.2: the same iss, sub and aud, and auth_time of the original authentication.
  t.like(refreshed.claims(), { iss: idToken.iss, sub: idToken.sub, aud: idToken.aud, auth_time: idToken.auth_time });

  const second = await relyingParty(SECOND_WEBSITE);
  const { tokens: secondTokens } = await logIn(second, { scope, prompt: 'consent' });
  const crossed = await t.throwsAsync(client.refreshTokenGrant(rp.config, secondTokens.refresh_token!));
  t.is((crossed as client.ResponseBodyError).error, 'invalid_grant', 'another client\'s refresh token');
});

test('oidcc-discovery-endpoint-verification: the discovery document holds what the specifications require', async (t) => {
  const response = await fetch(`${app.url}/.well-known/openid-configuration`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^application\/json/);
  const metadata = await response.json() as Record<string, unknown> & { issuer: string };
  t.is(metadata.issuer, app.url, 'the issuer is the URL discovery was fetched under');
  const issuer = new URL(metadata.issuer);
  t.is(issuer.search + issuer.hash, '');
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
    t.true(typeof metadata[endpoint] === 'string' && (metadata[endpoint] as string).startsWith(app.url), endpoint);
  }
  const includes = (name: string, value: string) => t.true((metadata[name] as string[]).includes(value), `${name} includes ${value}`);
  includes('response_types_supported', 'code');
  includes('subject_types_supported', 'public');
  includes('id_token_signing_alg_values_supported', 'RS256');
  includes('scopes_supported', 'openid');
  includes('grant_types_supported', 'authorization_code');
  includes('code_challenge_methods_supported', 'S256');
  for (const name of ['claims_supported', 'token_endpoint_auth_methods_supported']) t.true(Array.isArray(metadata[name]) && (metadata[name] as unknown[]).length > 0, name);
  for (const scope of metadata.scopes_supported as string[]) t.regex(scope, /^[\x21\x23-\x5B\x5D-\x7E]+$/, 'RFC 6749 3.3 scope syntax');
  for (const locale of metadata.ui_locales_supported as string[]) t.regex(locale, /^[a-z]{2,3}(-[A-Z]{2})?$/, 'BCP 47, canonical casing');
  t.is(metadata.claims_parameter_supported, true);

  const { keys } = await (await fetch(metadata.jwks_uri as string)).json() as { keys: Record<string, unknown>[] };
  t.true(keys.length > 0);
  for (const key of keys) {
    t.truthy(key.kid);
    t.is(key.use, 'sig');
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) t.false(secret in key, `no private ${secret} in ${key.kid}`);
  }
});

test('oidcc-idtoken-rs256: a client registered for RS256 gets RS256 ID tokens with a kid, verified with the published key', async (t) => {
  const { tokens } = await logIn(await relyingParty(RS256_WEBSITE));
  const { protectedHeader } = await jose.jwtVerify(tokens.id_token!, await jwks(), { issuer: app.url, audience: RS256_WEBSITE.client_id, algorithms: ['RS256'] });
  t.is(protectedHeader.alg, 'RS256');
  t.truthy(protectedHeader.kid);
});

test('oidcc-idtoken-signature: a client that names no algorithm gets RS256, the default, with a kid', async (t) => {
  const { tokens } = await logIn(await relyingParty(WEBSITE));
  const { protectedHeader } = await jose.jwtVerify(tokens.id_token!, await jwks(), { issuer: app.url, audience: WEBSITE.client_id, algorithms: ['RS256'] });
  t.is(protectedHeader.alg, 'RS256');
  t.truthy(protectedHeader.kid);
});

test('oidcc-userinfo-rs256: a client registered for RS256 userinfo gets a signed JWT, not JSON', async (t) => {
  t.true(((await discovery()).userinfo_signing_alg_values_supported as string[]).includes('RS256'));
  const rp = await relyingParty(SIGNED_USERINFO);
  const { member, tokens } = await logIn(rp, { scope: 'openid profile' });
  const response = await fetch(`${app.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^application\/jwt/);
  const { payload, protectedHeader } = await jose.jwtVerify(await response.text(), await jwks(), { issuer: app.url, audience: SIGNED_USERINFO.client_id, algorithms: ['RS256'] });
  t.is(protectedHeader.alg, 'RS256');
  t.like(payload, { sub: member.id, name: member.name });
  t.false('nonce' in payload);
});
