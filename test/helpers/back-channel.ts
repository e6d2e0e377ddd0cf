/**
 * The test website registered for back-channel logout: its logout endpoint at rp.example.com is
 * played by nock, and the logout tokens the IdP sends there are kept for the test to read.
 */
import * as jose from 'jose';
import nock from 'nock';
import { WEBSITE } from './test-app.ts';

/** The test website client with a back-channel logout URI that needs the session id. */
export const BACK_CHANNEL_WEBSITE = {
  ...WEBSITE,
  backchannel_logout_uri: 'https://rp.example.com/backchannel-logout',
  backchannel_logout_session_required: true,
};

/**
 * Answers up to `times` back-channel logouts at the website with 200; `tokens` holds each logout
 * token received, in order, and `scope.isDone()` says whether all `times` arrived.
 */
export function expectBackChannelLogouts(times = 1): { scope: nock.Scope; tokens: string[] } {
  const tokens: string[] = [];
  const { origin, pathname } = new URL(BACK_CHANNEL_WEBSITE.backchannel_logout_uri);
  const scope = nock(origin)
    .post(pathname, (body: Record<string, string>) => {
      tokens.push(body.logout_token!);
      return true;
    })
    .times(times)
    .reply(200);
  return { scope, tokens };
}

/** A logout token checked as the website checks it: signed with a key the IdP publishes, from the IdP, for the website. */
export async function verifyLogoutToken(issuer: string, token: string) {
  const keys = jose.createLocalJWKSet(await (await fetch(`${issuer}/jwks`)).json() as jose.JSONWebKeySet);
  return jose.jwtVerify(token, keys, { issuer, audience: BACK_CHANNEL_WEBSITE.client_id });
}
