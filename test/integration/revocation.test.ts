import test from 'ava';
import * as client from 'openid-client';
import { logInWithPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { NATIVE_APP, WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const PARTNER = { ...WEBSITE, client_id: 'partner', client_secret: 'partner-secret-for-tests-only-0123456789', redirect_uris: ['https://partner.example.com/cb'] };

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ clients: [WEBSITE, PARTNER, NATIVE_APP] });
});
test.after.always(async () => app?.stop());

/** A fresh log-in of a new member at `rp`: its tokens. */
async function tokensOf(rp: RelyingParty) {
  const member = await createMember(app.store);
  const { tokens } = await logInWithPassword(rp, member);
  return { member, tokens };
}

const revoke = (token: string, auth: { id: string; secret?: string }) => fetch(`${app.url}/token/revocation`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    ...(auth.secret && { authorization: `Basic ${Buffer.from(`${auth.id}:${auth.secret}`).toString('base64')}` }),
  },
  body: new URLSearchParams({ token, ...(!auth.secret && { client_id: auth.id }) }),
});

const works = async (rp: RelyingParty, accessToken: string, sub: string) =>
  client.fetchUserInfo(rp.config, accessToken, sub).then(() => true, () => false);

test('a client revokes its own refresh token, and the access tokens of that grant die with it', async (t) => {
  const rp = await RelyingParty.website(app);
  const { member, tokens } = await tokensOf(rp);
  const response = await revoke(tokens.refresh_token!, { id: WEBSITE.client_id, secret: WEBSITE.client_secret });
  t.is(response.status, 200);
  await t.throwsAsync(client.refreshTokenGrant(rp.config, tokens.refresh_token!));
  t.false(await works(rp, tokens.access_token, member.id));
});

test('a client that authenticated cannot revoke another client\'s token, and is told so', async (t) => {
  const website = await RelyingParty.website(app);
  const { member, tokens } = await tokensOf(website);
  for (const token of [tokens.access_token, tokens.refresh_token!]) {
    const response = await revoke(token, { id: PARTNER.client_id, secret: PARTNER.client_secret });
    t.is(response.status, 400);
    t.like(await response.json(), { error: 'invalid_request', error_description: 'the token was not issued to this client' });
  }
  t.true(await works(website, tokens.access_token, member.id), 'the access token still works');
  t.truthy((await client.refreshTokenGrant(website.config, tokens.refresh_token!)).access_token, 'the refresh token still works');
});

test('a public client cannot revoke another client\'s token and learns nothing about it', async (t) => {
  const website = await RelyingParty.website(app);
  const { member, tokens } = await tokensOf(website);
  const foreign = await revoke(tokens.access_token, { id: NATIVE_APP.client_id });
  const unknown = await revoke('no-such-token', { id: NATIVE_APP.client_id });
  t.is(foreign.status, 200);
  t.is(foreign.status, unknown.status);
  t.is(await foreign.text(), await unknown.text());
  t.true(await works(website, tokens.access_token, member.id));
});

test('a native app revokes its own refresh token without a secret', async (t) => {
  const app_ = await RelyingParty.of(app, NATIVE_APP);
  const { tokens } = await tokensOf(app_);
  t.is((await revoke(tokens.refresh_token!, { id: NATIVE_APP.client_id })).status, 200);
  await t.throwsAsync(client.refreshTokenGrant(app_.config, tokens.refresh_token!));
});
