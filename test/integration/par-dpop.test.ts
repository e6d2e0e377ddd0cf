import test from 'ava';
import * as client from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { NATIVE_APP, WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

/** A native app that requires both pushed authorization requests (RFC 9126) and DPoP-bound tokens (RFC 9449). */
const STRICT_APP = {
  ...NATIVE_APP,
  client_id: 'strict-app',
  require_pushed_authorization_requests: true,
  dpop_bound_access_tokens: true,
};

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ clients: [WEBSITE, NATIVE_APP, STRICT_APP] });
});
test.after.always(async () => app?.stop());

const strictApp = () => RelyingParty.of(app, STRICT_APP);

/** The parameters of a fresh request, and the checks its callback must pass. */
async function request(rp: RelyingParty) {
  const verifier = client.randomPKCECodeVerifier();
  const checks = { pkceCodeVerifier: verifier, expectedState: client.randomState(), expectedNonce: client.randomNonce() };
  const params = {
    redirect_uri: rp.redirectUri,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: checks.expectedState,
    nonce: checks.expectedNonce,
  };
  return { params, checks };
}

/** A pushed request with a DPoP key, the member's log-in, and the callback the app receives. */
async function signInThroughPar(rp: RelyingParty, dpop?: client.DPoPHandle) {
  const member = await createMember(app.store);
  const { params, checks } = await request(rp);
  const url = await client.buildAuthorizationUrlWithPAR(rp.config, params, dpop ? { DPoP: dpop } : undefined);
  const callback = await passwordLogIn(new Browser(app.url), url.toString(), member.number, member.password);
  return { member, url, callback: new URL(callback), checks };
}

test('an app that requires pushed requests cannot start a sign-in with a plain one', async (t) => {
  const rp = await strictApp();
  const { url } = await rp.start();
  const { url: back } = await new Browser(app.url).follow(url);
  t.true(back.startsWith(STRICT_APP.redirect_uris[0]));
  t.is(new URL(back).searchParams.get('error'), 'invalid_request');
  t.regex(new URL(back).searchParams.get('error_description') ?? '', /Pushed Authorization Request must be used/);
});

test('through a pushed request with DPoP, the app gets sender-constrained tokens that only its key can use', async (t) => {
  const rp = await strictApp();
  const key = await client.randomDPoPKeyPair('ES256');
  const dpop = client.getDPoPHandle(rp.config, key);
  const { member, url, callback, checks } = await signInThroughPar(rp, dpop);
  t.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'the browser sees only a reference to the pushed request');
  t.regex(url.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);

  const tokens = await client.authorizationCodeGrant(rp.config, callback, checks, undefined, { DPoP: dpop });
  t.is(tokens.token_type, 'dpop');
  t.is(tokens.claims()!.sub, member.id);
  t.like(await client.fetchUserInfo(rp.config, tokens.access_token, member.id, { DPoP: dpop }), { sub: member.id, name: member.name });

  const asBearer = await fetch(`${app.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(asBearer.status, 401, 'without the proof the token is worth nothing');

  const otherKey = client.getDPoPHandle(rp.config, await client.randomDPoPKeyPair('ES256'));
  const stolen = await t.throwsAsync(client.refreshTokenGrant(rp.config, tokens.refresh_token!, undefined, { DPoP: otherKey }));
  t.is((stolen as client.ResponseBodyError).error, 'invalid_grant', 'the refresh token is bound to the app\'s key');
  const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!, undefined, { DPoP: dpop });
  t.is(refreshed.token_type, 'dpop');
});

test('an app that requires DPoP gets no tokens without a proof', async (t) => {
  const rp = await strictApp();
  const { callback, checks } = await signInThroughPar(rp);
  const refused = await t.throwsAsync(client.authorizationCodeGrant(rp.config, callback, checks));
  t.is((refused as client.ResponseBodyError).error, 'invalid_grant');
  const dpop = client.getDPoPHandle(rp.config, await client.randomDPoPKeyPair('ES256'));
  const tokens = await client.authorizationCodeGrant(rp.config, callback, checks, undefined, { DPoP: dpop });
  t.is(tokens.token_type, 'dpop', 'the same code, with a proof, is redeemed: the proof alone was missing');
});

test('clients that require neither may still push their requests, and keep bearer tokens', async (t) => {
  const rp = await RelyingParty.website(app);
  const { member, callback, checks } = await signInThroughPar(rp);
  const tokens = await client.authorizationCodeGrant(rp.config, callback, checks);
  t.is(tokens.token_type, 'bearer');
  t.like(await client.fetchUserInfo(rp.config, tokens.access_token, member.id), { sub: member.id });
});
