import test from 'ava';
import * as jose from 'jose';
import nock from 'nock';
import * as client from 'openid-client';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { RelyingParty, passwordLogIn } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const BCL_CLIENT = {
  ...WEBSITE,
  backchannel_logout_uri: 'https://rp.example.com/backchannel-logout',
  backchannel_logout_session_required: true,
};

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ clients: [BCL_CLIENT] });
});
test.after.always(async () => {
  nock.cleanAll();
  await app?.stop();
});

test('logging out tells a client that registered a back-channel logout URI', async (t) => {
  const member = await createMember(app.store);
  const rp = await RelyingParty.discover(app, { clientId: BCL_CLIENT.client_id, clientSecret: BCL_CLIENT.client_secret, redirectUri: BCL_CLIENT.redirect_uris[0] });
  const flow = await rp.start();
  const browser = new Browser(app.url);
  const tokens = await rp.redeem(await passwordLogIn(browser, flow.url, member.number, member.password), flow);
  const sid = tokens.claims()!.sid;
  t.truthy(sid, 'the ID token carries the session id the logout token will name');

  let logoutToken: string | undefined;
  const scope = nock('https://rp.example.com')
    .post('/backchannel-logout', (body: Record<string, string>) => {
      logoutToken = body.logout_token;
      return true;
    })
    .reply(200);

  const confirm = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.html)![1]!;
  const done = await browser.post(action, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' });
  const { final } = await browser.follow(done.location!);
  t.is(final.status, 200, 'no post-logout redirect was asked for: the IdP shows its own page');
  t.regex(final.html, /You have been logged out\./);

  t.true(scope.isDone(), 'the back-channel logout request was sent');
  const jwks = jose.createLocalJWKSet(await (await fetch(`${app.url}/jwks`)).json());
  const { payload, protectedHeader } = await jose.jwtVerify(logoutToken!, jwks, { issuer: app.url, audience: BCL_CLIENT.client_id });
  t.is(protectedHeader.typ, 'logout+jwt');
  t.is(payload.sub, member.id);
  t.is(payload.sid, sid);
  t.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
});
