import test from 'ava';
import nock from 'nock';
import * as client from 'openid-client';
import { BACK_CHANNEL_WEBSITE, expectBackChannelLogouts, verifyLogoutToken } from '../helpers/back-channel.ts';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { logInWithPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { setStatus } from '../../src/members/members.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  // One member logs in dozens of times here: more than a member's successes allowed in a window.
  app = await startTestApp({ clients: [BACK_CHANNEL_WEBSITE], env: { LOGIN_MAX_SUCCESSES_PER_MEMBER: '100' } });
});
test.after.always(async () => {
  nock.cleanAll();
  await app?.stop();
});

const website = () => RelyingParty.of(app, BACK_CHANNEL_WEBSITE);

/** A browser of its own, logged in at the website; with the tokens the website got. */
async function loggedIn(member: { number: string; password: string }, userAgent: string) {
  const browser = new Browser(app.url);
  browser.userAgent = userAgent;
  const rp = await website();
  const { tokens } = await logInWithPassword(rp, member, { browser });
  return { browser, rp, tokens };
}

const PHONE = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36';
const LAPTOP = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15';

test.serial('the account page lists where the member is logged in, this device first', async (t) => {
  const member = await createMember(app.store);
  await loggedIn(member, PHONE);
  const { browser } = await loggedIn(member, LAPTOP);
  const page = await browser.get('/account');
  t.regex(page.html, /<h2>Where you are logged in<\/h2>/);
  const devices = [...page.html.matchAll(/<p class="session-device"><strong>([^<]+)<\/strong>( <span class="badge">This device<\/span>)?/g)].map((m) => [m[1], !!m[2]]);
  t.deepEqual(devices, [['Safari on macOS', true], ['Chrome on Android', false]]);
  t.regex(page.html, /<dt>From<\/dt><dd>127\.0\.0\.1<\/dd>/);
  t.regex(page.html, /<dd class="when">[^<]+JST<\/dd>/);
  t.regex(page.html, />Log out everywhere else</);
});

test.serial('ending another session ends it for good: its next request needs a log-in, its refresh token fails, and the website is told', async (t) => {
  const member = await createMember(app.store);
  const phone = await loggedIn(member, PHONE);
  const laptop = await loggedIn(member, LAPTOP);
  const told = expectBackChannelLogouts();

  const page = await laptop.browser.get('/account');
  const uid = /action="\/account\/sessions\/([^/]+)\/logout"/.exec(page.html)![1]!;
  const ended = await laptop.browser.post(`/account/sessions/${uid}/logout`, { csrf: hiddenField(page.html, 'csrf') });
  t.is(ended.status, 303);
  t.regex((await laptop.browser.get('/account')).html, /That device was logged out\./);

  t.true(told.scope.isDone(), 'back-channel logout reached the website');
  const { payload } = await verifyLogoutToken(app.url, told.tokens[0]!);
  t.is(payload.sub, member.id);
  t.is(payload.sid, phone.tokens.claims()!.sid);

  const next = await phone.browser.follow((await phone.rp.start()).url);
  t.regex(next.url, /\/interaction\//, 'the phone must log in again');
  await t.throwsAsync(client.refreshTokenGrant(phone.rp.config, phone.tokens.refresh_token!), undefined, 'its refresh token is revoked');
  const sso = await laptop.browser.follow((await laptop.rp.start()).url);
  t.true(sso.url.startsWith(BACK_CHANNEL_WEBSITE.redirect_uris[0]!), 'this device stays logged in');

  const trail = await app.store.audit.listForMember(member.id, 10);
  t.like(trail.find((event) => event.type === 'session.ended'), { detail: { by: 'member' } });
});

test.serial('"Log out everywhere else" ends every other session and keeps this one', async (t) => {
  const member = await createMember(app.store);
  expectBackChannelLogouts(2);
  const others = [await loggedIn(member, PHONE), await loggedIn(member, PHONE)];
  const here = await loggedIn(member, LAPTOP);
  const page = await here.browser.get('/account');
  await here.browser.post('/account/sessions/logout-others', { csrf: hiddenField(page.html, 'csrf') });
  t.regex((await here.browser.get('/account')).html, /2 other devices were logged out\./);
  for (const other of others) t.regex((await other.browser.follow((await other.rp.start()).url)).url, /\/interaction\//);
  t.true((await here.browser.follow((await here.rp.start()).url)).url.startsWith(BACK_CHANNEL_WEBSITE.redirect_uris[0]!));
});

test.serial('the session least recently used is still listed and logged out after 35 newer log-ins (a stolen phone is not pushed out)', async (t) => {
  const member = await createMember(app.store);
  expectBackChannelLogouts(40);
  const stolen = await loggedIn(member, PHONE);
  const newer = [];
  for (let i = 0; i < 35; i++) newer.push(await loggedIn(member, LAPTOP));
  const here = newer.at(-1)!;
  const page = await here.browser.get('/account');
  t.is([...page.html.matchAll(/<p class="session-device">/g)].length, 36, 'every live session is listed');
  t.regex(page.html, /Chrome on Android/, 'the oldest among them');
  await here.browser.post('/account/sessions/logout-others', { csrf: hiddenField(page.html, 'csrf') });
  t.regex((await here.browser.get('/account')).html, /35 other devices were logged out\./);
  t.regex((await stolen.browser.follow((await stolen.rp.start()).url)).url, /\/interaction\//, 'the stolen phone must log in again');
  nock.cleanAll();
});

test.serial('sessions noted in the earlier one-list-per-member form are listed and logged out too', async (t) => {
  const member = await createMember(app.store);
  expectBackChannelLogouts(2);
  const earlier = await loggedIn(member, PHONE);
  // As an IdP before the upgrade left it: the member's sessions in one document.
  const [noted] = await app.store.documents.listByIdPrefix('MemberSession', `${member.id}/`, 10);
  await app.store.documents.destroy('MemberSession', noted!.id);
  await app.store.documents.upsert('MemberSessions', member.id, { sessions: [{ uid: noted!.id.slice(member.id.length + 1), ...noted!.payload }], until: Date.now() + 86_400_000 }, new Date(Date.now() + 86_400_000));
  const here = await loggedIn(member, LAPTOP);
  const page = await here.browser.get('/account');
  t.regex(page.html, /Chrome on Android/);
  await here.browser.post('/account/sessions/logout-others', { csrf: hiddenField(page.html, 'csrf') });
  t.regex((await here.browser.get('/account')).html, /1 other device was logged out\./);
  t.regex((await earlier.browser.follow((await earlier.rp.start()).url)).url, /\/interaction\//);
  nock.cleanAll();
});

test.serial('a session of another member, or a forged form, ends nothing', async (t) => {
  const member = await createMember(app.store);
  const stranger = await createMember(app.store);
  const theirs = await loggedIn(stranger, PHONE);
  await loggedIn(member, PHONE);
  const mine = await loggedIn(member, LAPTOP);
  const strangerUid = (await app.store.documents.listByIdPrefix('MemberSession', `${stranger.id}/`, 10))[0]!.id.slice(stranger.id.length + 1);
  const page = await mine.browser.get('/account');
  const refused = await mine.browser.post(`/account/sessions/${strangerUid}/logout`, { csrf: hiddenField(page.html, 'csrf') });
  t.is(refused.status, 303);
  t.regex((await mine.browser.get('/account')).html, /That device was already logged out\./, 'answered as for a session that is gone');
  t.true((await theirs.browser.follow((await theirs.rp.start()).url)).url.startsWith(BACK_CHANNEL_WEBSITE.redirect_uris[0]!), 'the stranger stays logged in');
  const forged = await mine.browser.post('/account/sessions/logout-others', { csrf: 'forged' });
  t.is(forged.status, 403);
  t.regex((await mine.browser.get('/account')).html, />Log out everywhere else</, 'the other session is still there');
});

test.serial('the support desk lists a member\'s sessions and logs them out everywhere, with the operator in the audit trail', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const path = await import('node:path');
  const member = await createMember(app.store);
  const phone = await loggedIn(member, PHONE);
  expectBackChannelLogouts();
  const env = {
    PATH: process.env.PATH, DATA_DIR: app.dir, DATABASE_URL: app.config.databaseUrl, OIDC_CLIENTS_FILE: path.join(app.dir, 'clients.json'), ISSUER: app.url,
  };
  const members = (...args: string[]) => spawnSync(process.execPath, ['src/cli/members.ts', ...args], { cwd: path.resolve(import.meta.dirname, '../..'), env, encoding: 'utf8', timeout: 60_000 });

  const listed = members('sessions', '--number', member.number);
  t.is(listed.status, 0, listed.stderr);
  const sessions = listed.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.is(sessions.length, 1);
  t.like(sessions[0], { device: 'Chrome on Android', from: '127.0.0.1' });

  t.is(members('logout-everywhere', '--number', member.number).status, 2, '--by is required');
  const ended = members('logout-everywhere', '--number', member.number, '--by', 'Hanako Sato', '--reason', 'lost phone');
  t.is(ended.status, 0, ended.stderr);
  t.regex((await phone.browser.follow((await phone.rp.start()).url)).url, /\/interaction\//, 'the member must log in again');
  await t.throwsAsync(client.refreshTokenGrant(phone.rp.config, phone.tokens.refresh_token!));
  const trail = await app.store.audit.listForMember(member.id, 10);
  t.like(trail.find((event) => event.type === 'session.ended'), { detail: { by: 'Hanako Sato', reason: 'lost phone' } });
  t.like(trail.find((event) => event.type === 'support.logged_out_everywhere'), { detail: { by: 'Hanako Sato' } });
});

test.serial('a member disabled while logged in gets "this account cannot log in" at the next sign-in, and the session ends', async (t) => {
  const member = await createMember(app.store);
  const english = await loggedIn(member, LAPTOP);
  const japanese = await loggedIn(member, PHONE);
  japanese.browser.acceptLanguage = 'ja';
  await setStatus(app.store.members, member.id, 'disabled');

  const flow = await english.rp.start();
  const { final, url } = await english.browser.follow(flow.url);
  t.is(final.status, 403, 'a page of its own, not a server error');
  t.regex(final.html, /This account cannot log in\./);
  t.regex(final.html, /Please contact JMB\./);
  t.false(url.startsWith(BACK_CHANNEL_WEBSITE.redirect_uris[0]!), 'nothing is sent on to the website: no code');
  t.regex((await japanese.browser.follow((await japanese.rp.start()).url)).final.html, /このアカウントではログインできません。/);

  const quiet = await createMember(app.store);
  const silent = await loggedIn(quiet, PHONE);
  await setStatus(app.store.members, quiet.id, 'disabled');
  const none = await silent.browser.follow((await silent.rp.start({ prompt: 'none' })).url);
  t.true(none.url.startsWith(BACK_CHANNEL_WEBSITE.redirect_uris[0]!), 'a silent request goes back to the website, never to a page');
  t.is(new URL(none.url).searchParams.get('error'), 'login_required');
  t.is(new URL(none.url).searchParams.get('code'), null);

  await setStatus(app.store.members, member.id, 'active');
  await setStatus(app.store.members, quiet.id, 'active');
  for (const { browser, rp } of [english, japanese, silent]) {
    const again = await browser.follow((await rp.start()).url);
    t.regex(again.url, /\/interaction\//, 'the session ended: even once enabled again, the member logs in anew');
  }
});
