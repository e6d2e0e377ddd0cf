import test from 'ava';
import nock from 'nock';
import * as client from 'openid-client';
import { BACK_CHANNEL_WEBSITE, expectBackChannelLogouts, verifyLogoutToken } from '../helpers/back-channel.ts';
import { hiddenField } from '../helpers/browser.ts';
import { logInWithPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ clients: [BACK_CHANNEL_WEBSITE] });
});
test.after.always(async () => {
  nock.cleanAll();
  await app?.stop();
});

test('logging out tells a client that registered a back-channel logout URI', async (t) => {
  const member = await createMember(app.store);
  const rp = await RelyingParty.of(app, BACK_CHANNEL_WEBSITE);
  const { browser, tokens } = await logInWithPassword(rp, member);
  const sid = tokens.claims()!.sid;
  t.truthy(sid, 'the ID token carries the session id the logout token will name');

  const told = expectBackChannelLogouts();

  const confirm = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.html)![1]!;
  const done = await browser.post(action, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' });
  const { final } = await browser.follow(done.location!);
  t.is(final.status, 200, 'no post-logout redirect was asked for: the IdP shows its own page');
  t.regex(final.html, /You have been logged out\./);

  t.true(told.scope.isDone(), 'the back-channel logout request was sent');
  const { payload, protectedHeader } = await verifyLogoutToken(app.url, told.tokens[0]!);
  t.is(protectedHeader.typ, 'logout+jwt');
  t.is(payload.sub, member.id);
  t.is(payload.sid, sid);
  t.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
});
