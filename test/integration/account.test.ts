import test from 'ava';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { passkeyAttempt, passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey, enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { scrape } from '../helpers/metrics.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const GOOGLE = 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4';
const sms = new MemorySms();
let now = Date.now();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms, clock: () => now, metrics: true });
});
test.after.always(async () => app?.stop());

const website = () => RelyingParty.website(app);
let phone = 1000;
const newMember = (fields = {}) => createMember(app.store, { phone: `+81901234${String(phone++).padStart(4, '0')}`, ...fields });

/** A browser signed in at the website (and so at the IdP). */
async function signedIn(member: { number: string; password: string }) {
  const browser = new Browser(app.url);
  await passwordLogIn(browser, (await (await website()).start()).url, member.number, member.password);
  return browser;
}

/** Opens Passkey Settings, passing the SMS step with the code from the phone. */
async function openSettings(browser: Browser, member: { phone: string }) {
  const step = await browser.get('/account/passkeys');
  if (!/Enter the SMS verification code/.test(step.html)) return step;
  const verified = await browser.post('/account/sms/verify', { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
  if (verified.status !== 303) throw new Error(`SMS verification failed with ${verified.status}: ${alertText(verified.html)}`);
  return browser.get('/account/passkeys');
}

async function register(browser: Browser, options: { synced?: boolean; aaguid?: string } = {}) {
  const created = await browser.postJson('/account/passkeys/options');
  if (created.status !== 200) return { created, passkey: undefined, result: undefined };
  const { passkey, response } = SoftPasskey.create(created.json, app.url, options);
  const result = await browser.postJson('/account/passkeys', response);
  return { created, passkey, response, result };
}

test.serial('a visitor who is not signed in logs in first and comes back to Manage your account', async (t) => {
  const member = await newMember({ name: 'Hanako Sato' });
  const browser = new Browser(app.url);
  const start = await browser.get('/account');
  t.is(start.status, 303);
  t.true(start.location!.startsWith(`${app.url}/auth?`));
  t.is(new URL(start.location!).searchParams.get('client_id'), 'jmb-account');
  const { final, url } = await browser.follow(start.location!);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  const resumed = await browser.get(posted.location!);
  const callback = new URL(resumed.location!);
  t.is(`${callback.origin}${callback.pathname}`, `${app.url}/account/callback`);
  t.is(callback.searchParams.get('code'), null, 'no code is issued for the account page');
  const back = await browser.get(callback.toString());
  t.is(back.location, `${app.url}/account`);
  const page = await browser.get('/account');
  t.is(page.status, 200);
  t.regex(page.html, /<h1>Manage your account<\/h1>/);
  t.regex(page.html, /Hanako Sato/);
  t.regex(page.html, new RegExp(`•+${member.number.slice(-4)}`));
  t.notRegex(page.html, new RegExp(member.number), 'the full member number is not shown');
  t.regex(page.html, /<a class="button-link" href="\/account\/passkeys">Register \/ Change \/ Delete Passkey<\/a>/);
  t.regex(page.html, />Log out of this device</);
  t.regex(page.html, /Logged in with membership number and password/, 'recent security activity');
});

test.serial('a member signed in at the website is not asked to log in again', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  const page = await browser.get('/account');
  t.is(page.status, 200);
  t.regex(page.html, /Manage your account/);
});

test.serial('Passkey Settings need a fresh SMS verification; an 11-minute-old one is not fresh', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  const sentBefore = sms.sent.length;
  const step = await browser.get('/account/passkeys');
  t.regex(step.html, /Enter the SMS verification code/);
  t.notRegex(step.html, /Passkey Settings \(Register\/Delete\)<\/h1>/);
  t.is(sms.sent.length, sentBefore + 1, 'the code is sent as the step opens');
  t.is((await browser.postJson('/account/passkeys/options')).status, 403, 'no registration before the SMS step');

  const settings = await openSettings(browser, member);
  t.regex(settings.html, /<h1>Passkey Settings \(Register\/Delete\)<\/h1>/);
  t.regex(settings.html, />New registration</);

  now += 11 * 60 * 1000;
  const stale = await browser.get('/account/passkeys');
  t.regex(stale.html, /Enter the SMS verification code/, 'after 11 minutes the SMS step runs again');
  t.is((await browser.postJson('/account/passkeys/options')).status, 403);
});

test.serial('New registration stores a passkey, confirms it, and it logs in at the relying party', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  await openSettings(browser, member);
  const { created, passkey, result } = await register(browser, { synced: true, aaguid: GOOGLE });
  t.is(created.json.authenticatorSelection.residentKey, 'required');
  t.is(created.json.authenticatorSelection.userVerification, 'required');
  t.is(created.json.attestation, 'none');
  t.deepEqual(created.json.pubKeyCredParams.map((p: { alg: number }) => p.alg), [-7, -8, -257]);
  t.is(Buffer.from(created.json.user.id, 'base64url').toString(), member.id, 'the user handle is the opaque id, not the member number');
  t.is(result!.status, 200);
  const confirmation = await browser.get(result!.json.redirectTo);
  t.regex(confirmation.html, /<h1>Passkey registered<\/h1>/);
  t.regex(confirmation.html, /Google Password Manager/);
  t.regex(confirmation.html, />Back to Passkey Settings</);

  const rp = await website();
  const flow = await rp.start();
  const claims = (await rp.redeem(await passkeyLogIn(new Browser(app.url), flow.url, passkey!), flow)).claims()!;
  t.is(claims.acr, 'phr');
  t.is(claims.sub, member.id);
});

test.serial('the list shows name, dates, and whether a passkey is synced or bound to this device', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  await openSettings(browser, member);
  await register(browser, { synced: true, aaguid: GOOGLE });
  await register(browser, { synced: false });
  const page = await browser.get('/account/passkeys');
  t.regex(page.html, /Google Password Manager[\s\S]*Synced across your devices/);
  // The test browser names only its system: the passkey is named after it.
  t.regex(page.html, /<h2 class="passkey-name">Passkey on Linux<\/h2>[\s\S]*This device only/);
  t.regex(page.html, /Not used yet/);
});

test.serial('a replayed registration and an already registered authenticator are refused', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  await openSettings(browser, member);
  const { response, result } = await register(browser);
  t.is(result!.status, 200);
  const replay = await browser.postJson('/account/passkeys', response);
  t.is(replay.status, 400);
  t.is(replay.json.error, 'challenge_expired');

  const options = await browser.postJson('/account/passkeys/options');
  t.deepEqual(options.json.excludeCredentials.map((c: { id: string }) => c.id), [response!.id], 'existing passkeys are excluded');
  const duplicate = await browser.postJson('/account/passkeys', rebuildWithId(options.json, response!.id));
  t.is(duplicate.status, 409);
  t.is(duplicate.json.error, 'already_registered');
  t.is(duplicate.json.error_description, 'This device already has a passkey for your account.');
});

/** A registration response whose credential id is `id` (an authenticator that already holds it). */
function rebuildWithId(options: Parameters<typeof SoftPasskey.create>[0], id: string) {
  const { response } = SoftPasskey.create(options, app.url);
  const attestation = Buffer.from(response.response.attestationObject, 'base64url');
  const oldId = Buffer.from(response.id, 'base64url');
  const newId = Buffer.from(id, 'base64url');
  t_assert(oldId.length === newId.length);
  const patched = Buffer.from(attestation.toString('hex').replace(oldId.toString('hex'), newId.toString('hex')), 'hex');
  return { ...response, id, rawId: id, response: { ...response.response, attestationObject: patched.toString('base64url') } };
}
function t_assert(condition: boolean) {
  if (!condition) throw new Error('credential ids must have the same length');
}

test.serial('at most ten passkeys, with a clear message', async (t) => {
  const member = await newMember();
  for (let i = 0; i < 10; i++) await enrolSoftPasskey(app.store, member.id, 'localhost');
  const browser = await signedIn(member);
  const page = await openSettings(browser, member);
  t.regex(page.html, /You already have 10 passkeys, the most an account can hold\./);
  t.notRegex(page.html, /id="new-registration"/);
  const refused = await browser.postJson('/account/passkeys/options');
  t.is(refused.status, 400);
  t.is(refused.json.error, 'limit_reached');
});

test.serial('rename trims, limits to 64 characters and shows the name escaped', async (t) => {
  const member = await newMember();
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost', { name: 'Old name' });
  const browser = await signedIn(member);
  await openSettings(browser, member);
  const form = await browser.get(`/account/passkeys/${passkey.id}/rename`);
  t.regex(form.html, /<label for="name">Passkey name<\/label>/);
  t.regex(form.html, />Save</);
  const saved = await browser.post(`/account/passkeys/${passkey.id}/rename`, { csrf: hiddenField(form.html, 'csrf'), name: '  <script>alert(1)</script> phone  ' });
  t.is(saved.status, 303);
  const list = await browser.get('/account/passkeys');
  t.regex(list.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; phone/);
  t.notRegex(list.html, /<script>alert/);
  t.is((await app.store.passkeys.findById(passkey.id))!.name, '<script>alert(1)</script> phone');

  const tooLong = await browser.post(`/account/passkeys/${passkey.id}/rename`, { csrf: hiddenField(form.html, 'csrf'), name: 'x'.repeat(65) });
  t.is(tooLong.status, 400);
  t.is(alertText(tooLong.html), 'Enter a name of 1 to 64 characters.');
  const blank = await browser.post(`/account/passkeys/${passkey.id}/rename`, { csrf: hiddenField(form.html, 'csrf'), name: '   ' });
  t.is(blank.status, 400);
  t.is((await app.store.passkeys.findById(passkey.id))!.name, '<script>alert(1)</script> phone', 'nothing changed');
});

test.serial("another member's passkey cannot be renamed or deleted by id", async (t) => {
  const owner = await newMember();
  const theirs = await enrolSoftPasskey(app.store, owner.id, 'localhost', { name: 'Theirs' });
  const intruder = await newMember();
  const browser = await signedIn(intruder);
  await openSettings(browser, intruder);
  const own = await enrolSoftPasskey(app.store, intruder.id, 'localhost');
  const form = await browser.get(`/account/passkeys/${own.id}/rename`);
  const token = hiddenField(form.html, 'csrf');
  t.is((await browser.get(`/account/passkeys/${theirs.id}/rename`)).status, 404);
  t.is((await browser.post(`/account/passkeys/${theirs.id}/rename`, { csrf: token, name: 'Mine now' })).status, 404);
  t.is((await browser.post(`/account/passkeys/${theirs.id}/delete`, { csrf: token })).status, 404);
  const stored = await app.store.passkeys.findById(theirs.id);
  t.is(stored!.name, 'Theirs');
  t.is(stored!.memberId, owner.id);
});

test.serial('rename and delete without the CSRF token, or from another site, are refused', async (t) => {
  const member = await newMember();
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost', { name: 'Keep me' });
  const browser = await signedIn(member);
  await openSettings(browser, member);
  t.is((await browser.post(`/account/passkeys/${passkey.id}/delete`, {})).status, 403);
  t.is((await browser.post(`/account/passkeys/${passkey.id}/rename`, { name: 'x' })).status, 403);
  const form = await browser.get(`/account/passkeys/${passkey.id}/delete`);
  const crossSite = await browser.post(`/account/passkeys/${passkey.id}/delete`, { csrf: hiddenField(form.html, 'csrf') }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  t.is(crossSite.status, 403);
  const crossSiteJson = await browser.postJson('/account/passkeys/options', undefined, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  t.is(crossSiteJson.status, 403);
  t.truthy(await app.store.passkeys.findById(passkey.id), 'nothing was deleted');
});

test.serial('delete asks for confirmation, sends one notice, and the passkey can never log in again', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  await openSettings(browser, member);
  const noticesBefore = sms.sent.filter((m) => m.to === member.phone && /passkey was/.test(m.body)).length;
  const before = await scrape(app.metricsUrl!);
  const { passkey, result } = await register(browser);
  t.is(result!.status, 200);
  const added = await scrape(app.metricsUrl!);
  t.is(added.value('jmb_passkey_registrations_total', { outcome: 'success' }) - before.value('jmb_passkey_registrations_total', { outcome: 'success' }), 1);
  t.is(added.value('jmb_members_with_passkeys') - before.value('jmb_members_with_passkeys'), 1, 'the member now counts among those with a passkey');
  const afterAdd = sms.sent.filter((m) => m.to === member.phone && /passkey was/.test(m.body));
  t.is(afterAdd.length, noticesBefore + 1, 'one notice for the addition');
  t.regex(afterAdd.at(-1)!.body, /^JMB: A passkey was added to your JMB account on .+ If this was not you/);
  t.notRegex(afterAdd.at(-1)!.body, /#\d{6}/, 'a notice carries no code');

  const confirm = await browser.get(`/account/passkeys/${passkey!.id}/delete`);
  t.regex(confirm.html, /<button type="submit" class="danger">Delete passkey<\/button>/);
  const deleted = await browser.post(`/account/passkeys/${passkey!.id}/delete`, { csrf: hiddenField(confirm.html, 'csrf') });
  t.is(deleted.status, 303);
  const list = await browser.get(deleted.location!);
  t.regex(list.html, /data-signal-ids=""/, 'the page tells the browser which passkeys remain');
  t.regex(list.html, /was deleted/);
  const notices = sms.sent.filter((m) => m.to === member.phone && /passkey was/.test(m.body));
  t.is(notices.length, noticesBefore + 2, 'one notice for the removal');
  t.regex(notices.at(-1)!.body, /A passkey was removed from your JMB account/);
  const removed = await scrape(app.metricsUrl!);
  t.is(removed.value('jmb_passkey_deletions_total') - added.value('jmb_passkey_deletions_total'), 1);
  t.is(removed.value('jmb_members_with_passkeys'), before.value('jmb_members_with_passkeys'), 'and no longer does once it is gone');

  const rp = await website();
  const fresh = new Browser(app.url);
  const { url } = await fresh.follow((await rp.start()).url);
  const refused = await passkeyAttempt(fresh, url, passkey!);
  t.is(refused.json.error, 'unknown_credential');

  const events = (await app.store.audit.listForMember(member.id, 30)).map((e) => e.type);
  t.true(events.includes('passkey.added'));
  t.true(events.includes('passkey.removed'));
});

test.serial('renaming sends no notice', async (t) => {
  const member = await newMember();
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const browser = await signedIn(member);
  await openSettings(browser, member);
  const before = sms.sent.length;
  const form = await browser.get(`/account/passkeys/${passkey.id}/rename`);
  await browser.post(`/account/passkeys/${passkey.id}/rename`, { csrf: hiddenField(form.html, 'csrf'), name: 'Work laptop' });
  t.is(sms.sent.length, before);
});

test.serial('a passkey registered from the Android app origin is accepted like the website', async (t) => {
  const android = `android:apk-key-hash:${Buffer.alloc(32, 3).toString('base64url')}`;
  const other = await startTestApp({ sms, env: { WEBAUTHN_ORIGINS: android } });
  try {
    const member = await createMember(other.store, { phone: '+819099990000' });
    const browser = new Browser(other.url);
    const rp = await RelyingParty.website(other);
    await passwordLogIn(browser, (await rp.start()).url, member.number, member.password);
    const step = await browser.get('/account/passkeys');
    await browser.post('/account/sms/verify', { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
    const options = await browser.postJson('/account/passkeys/options');
    const { response } = SoftPasskey.create(options.json, android);
    const result = await browser.postJson('/account/passkeys', response);
    t.is(result.status, 200);
    const unknownApp = await browser.postJson('/account/passkeys/options');
    const refused = await browser.postJson('/account/passkeys', SoftPasskey.create(unknownApp.json, `android:apk-key-hash:${Buffer.alloc(32, 4).toString('base64url')}`).response);
    t.is(refused.json.error, 'origin_mismatch');
  } finally {
    await other.stop();
  }
});

test.serial('members outside Japan see why they cannot register a passkey here', async (t) => {
  const member = await newMember({ country: 'SG', phone: '+6591234567' });
  const browser = await signedIn(member);
  const before = sms.sent.length;
  const page = await browser.get('/account/passkeys');
  t.regex(page.html, /<h1>Passkey Settings \(Register\/Delete\)<\/h1>/);
  t.regex(page.html, /available only to JMB members residing in Japan/);
  t.notRegex(page.html, /New registration/);
  t.is(sms.sent.length, before);
});

test.serial('the well-known passkey endpoints point at Passkey Settings', async (t) => {
  const response = await fetch(`${app.url}/.well-known/passkey-endpoints`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { enroll: `${app.url}/account/passkeys`, manage: `${app.url}/account/passkeys` });
});

test.serial('the SMS step opened again in a new sign-in sends a code at once, and says "sent" only when it did', async (t) => {
  const member = await newMember();
  const first = await signedIn(member);
  await openSettings(first, member);
  const { passkey } = await register(first);

  // Within a minute: a passkey log-in in a new browser, and Passkey Settings again.
  const second = new Browser(app.url);
  await passkeyLogIn(second, (await (await website()).start()).url, passkey!);
  const sentBefore = sms.sent.filter((m) => m.to === member.phone).length;
  const step = await second.get('/account/passkeys');
  t.is(sms.sent.filter((m) => m.to === member.phone).length, sentBefore + 1, 'a code went out for this step at once');
  t.regex(step.html, /We sent a verification code by SMS to <span class="nowrap">090-••••-\d{4}<\/span>/, 'the number as members know it, kept on one line');
  t.is(alertText(step.html), undefined, 'no "a code was sent a moment ago"');

  // Past the burst budget (three in five minutes) no code goes out, and the page does not claim one did.
  const third = await signedIn(member);
  await third.get('/account/passkeys');
  const fourth = await signedIn(member);
  const refused = await fourth.get('/account/passkeys');
  t.regex(alertText(refused.html) ?? '', /Too many codes have been sent/);
  t.notRegex(refused.html, /We sent a verification code/);
  now += 10 * 60 * 1000;
});
