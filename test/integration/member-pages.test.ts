/**
 * The member's pages, second pass: passkeys named after their device and told apart, renamed in
 * place, a security history in words, localized client names, "Last active" that moves on, the SMS
 * step's reason and its way on once a code is used up.
 */
import test from 'ava';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const GOOGLE = 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4';
const WINDOWS_CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36';
const ANDROID_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36';
const sms = new MemorySms();
let now = Date.now();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({
    sms,
    clock: () => now,
    env: { PASSKEY_OFFER: 'on' },
    clients: [{ ...WEBSITE, client_name: 'JMB website', 'client_name#ja': 'JMBウェブサイト', client_uri: 'https://rp.example.com/' }],
  });
});
test.after.always(async () => app?.stop());

let phone = 3000;
const newMember = () => createMember(app.store, { phone: `+81903333${String(phone++).padStart(4, '0')}`, country: 'JP' });
const website = () => RelyingParty.website(app);

/** A browser with this User-Agent and language, logged in at the website (the offer, if shown, is turned down). */
async function signedIn(member: { number: string; password: string }, userAgent = WINDOWS_CHROME, language = 'en') {
  const browser = new Browser(app.url);
  browser.userAgent = userAgent;
  browser.acceptLanguage = language;
  const { final, url } = await browser.follow((await (await website()).start()).url);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  const next = await browser.follow(posted.location!);
  if (/\/offer\/dismiss/.test(next.final.html)) await browser.post(`${next.url}/offer/dismiss`, { csrf: hiddenField(next.final.html, 'csrf') });
  return browser;
}

async function openSettings(browser: Browser, member: { phone: string }) {
  const step = await browser.get('/account/passkeys');
  const verified = await browser.post('/account/sms/verify', { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
  if (verified.status !== 303) throw new Error(`SMS verification failed: ${alertText(verified.html)}`);
  return step;
}

async function register(browser: Browser, aaguid?: string) {
  const options = await browser.postJson('/account/passkeys/options');
  const { response } = SoftPasskey.create(options.json, app.url, aaguid ? { aaguid } : {});
  const result = await browser.postJson('/account/passkeys', response);
  if (result.status !== 200) throw new Error(`registration refused: ${JSON.stringify(result.json)}`);
  return browser.get(result.json.redirectTo);
}

const names = (html: string) => [...html.matchAll(/<h2 class="passkey-name">([^<]+)<\/h2>/g)].map((m) => m[1]);

test.serial('a passkey of an unknown provider is named after the browser and system that made it, in the page\'s language; a known one after its provider; the same name is numbered', async (t) => {
  const member = await newMember();
  const english = await signedIn(member);
  await openSettings(english, member);
  const first = await register(english);
  t.regex(first.html, /<p class="passkey-name">Chrome on Windows<\/p>/);
  t.regex(first.html, /You can now log in with &#34;Chrome on Windows&#34;\./);
  await register(english, GOOGLE);
  await register(english);
  await register(english, GOOGLE);

  const japanese = await signedIn(member, ANDROID_CHROME, 'ja');
  await openSettings(japanese, member);
  const fromPhone = await register(japanese);
  t.regex(fromPhone.html, /<p class="passkey-name">Android の Chrome<\/p>/);
  t.deepEqual(names((await english.get('/account/passkeys')).html).sort(), [
    'Android の Chrome', 'Chrome on Windows', 'Chrome on Windows (2)', 'Google Password Manager', 'Google Password Manager (2)',
  ]);
});

test.serial('every card shows Created and Last used, with the device it was last used from in the page\'s language', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member, WINDOWS_CHROME, 'ja');
  await openSettings(browser, member);
  await register(browser);
  const [stored] = await app.store.passkeys.listForMember(member.id);
  await app.store.passkeys.recordUse(stored!.id, { expectedCounter: stored!.counter, counter: stored!.counter + 1, at: new Date(now), from: 'Safari on iOS' });
  const page = await browser.get('/account/passkeys');
  t.regex(page.html, /<dt>登録日時<\/dt><dd>[^<]+JST<\/dd>/);
  t.regex(page.html, /<dt>最終利用<\/dt><dd>[^<]+JST・iOS の Safari<\/dd>/);
});

test.serial('"Passkey registered" renames the new passkey in place, with the CSRF token; the rename page names the passkey it renames', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  await openSettings(browser, member);
  const done = await register(browser);
  t.regex(done.html, /<label for="name">Passkey name<\/label>/);
  t.regex(done.html, /<input id="name" name="name" type="text" maxlength="64" required value="Chrome on Windows"/);
  t.regex(done.html, /<button type="submit" class="secondary">Save<\/button>/);
  const action = /<form method="post" action="([^"]+\/rename)" class="stack rename-in-place">/.exec(done.html)![1]!;
  const [stored] = await app.store.passkeys.listForMember(member.id);

  t.is((await browser.post(action, { name: 'Stolen' })).status, 403, 'refused without the CSRF token');
  t.is((await app.store.passkeys.findById(stored!.id))?.name, 'Chrome on Windows');
  const saved = await browser.post(action, { csrf: hiddenField(done.html, 'csrf'), name: 'Work laptop' });
  t.is(saved.status, 303);
  t.regex((await browser.get(saved.location!)).html, /The passkey was renamed to &#34;Work laptop&#34;\./);

  const rename = await browser.get(`/account/passkeys/${encodeURIComponent(stored!.id)}/rename`);
  t.regex(rename.html, /<h1>Rename &#34;Work laptop&#34;<\/h1>/);
  const refused = await browser.post(`/account/passkeys/${encodeURIComponent(stored!.id)}/rename`, { csrf: hiddenField(rename.html, 'csrf'), name: ' ' });
  t.regex(refused.html, /<h1>Rename &#34;Work laptop&#34;<\/h1>/, 'a refused name still names the passkey being renamed');
});

test.serial('"Passkey registered" after a password log-in renames in place and goes on to the website', async (t) => {
  const member = await newMember();
  const browser = new Browser(app.url);
  browser.userAgent = WINDOWS_CHROME;
  browser.acceptLanguage = 'ja';
  const login = await browser.follow((await (await website()).start()).url);
  const offer = await browser.follow((await browser.post(`${login.url}/login`, { csrf: hiddenField(login.final.html, 'csrf'), number: member.number, password: member.password })).location!);
  const { url } = offer;
  t.regex(offer.final.html, /このままJMBウェブサイトに進みます。/, 'the client\'s Japanese name, no stray space');
  await browser.post(`${url}/offer/accept`, { csrf: hiddenField(offer.final.html, 'csrf') });
  const step = await browser.get(`${url}/offer/sms`);
  await browser.post(`${url}/offer/sms/verify`, { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
  const options = await browser.postJson(`${url}/offer/options`);
  const registered = await browser.postJson(`${url}/offer/register`, SoftPasskey.create(options.json, app.url).response);
  const done = await browser.get(registered.json.redirectTo);
  t.regex(done.html, /<p class="passkey-name">Windows の Chrome<\/p>/);
  t.regex(done.html, />JMBウェブサイトに進む</);
  const action = /<form method="post" action="([^"]+\/offer\/rename\?id=[^"]+)"/.exec(done.html)![1]!.replace(/&amp;/g, '&');

  const blank = await browser.post(action, { csrf: hiddenField(done.html, 'csrf'), name: '   ' });
  t.is(blank.status, 400);
  t.is(alertText(blank.html), '1〜64文字の名前を入力してください。');
  const saved = await browser.post(action, { csrf: hiddenField(done.html, 'csrf'), name: '会社のパソコン' });
  const renamed = await browser.get(saved.location!);
  t.regex(renamed.html, /<p class="passkey-name">会社のパソコン<\/p>/);
  t.regex(renamed.html, /パスキーの名前を「会社のパソコン」に変更しました。/);
  const [stored] = await app.store.passkeys.listForMember(member.id);
  t.is(stored?.name, '会社のパソコン');
  const continued = await browser.post(`${url}/offer/continue`, { csrf: hiddenField(renamed.html, 'csrf') });
  t.true((await browser.follow(continued.location!)).url.startsWith(WEBSITE.redirect_uris[0]!), 'then on to the website');
});

test.serial('the log-in page names the website in the member\'s language, falling back to client_name', async (t) => {
  const url = (await (await website()).start()).url;
  const japanese = new Browser(app.url);
  japanese.acceptLanguage = 'ja';
  t.regex((await japanese.follow(url)).final.html, /<p class="sub">ログイン後、JMBウェブサイトに進みます。<\/p>/);
  const english = new Browser(app.url);
  t.regex((await english.follow(url)).final.html, /<p class="sub">to continue to JMB website<\/p>/);
});

test.serial('the history says which device was logged out and from where, with the device in the member\'s language', async (t) => {
  const member = await newMember();
  await signedIn(member, ANDROID_CHROME);
  await signedIn(member, ANDROID_CHROME);
  const here = await signedIn(member, WINDOWS_CHROME, 'ja');
  const page = await here.get('/account');
  const uid = /action="\/account\/sessions\/([^/]+)\/logout"/.exec(page.html)![1]!;
  await here.post(`/account/sessions/${uid}/logout`, { csrf: hiddenField(page.html, 'csrf') });
  await here.post('/account/sessions/logout-others', { csrf: hiddenField(page.html, 'csrf') });
  const after = (await here.get('/account')).html;
  t.regex(after, /ほかの端末1台をログアウトしました。/);
  t.regex(after, /<td class="what" data-label="内容">端末をログアウト：Android の Chrome（127\.0\.0\.1）<\/td>/);
  t.regex(after, /<td class="what" data-label="内容">ほかの端末をすべてログアウト：Android の Chrome（127\.0\.0\.1）<\/td>/);
  t.regex(after, /<td data-label="端末">Windows の Chrome<\/td>\s*<td class="place" data-label="接続元">127\.0\.0\.1<\/td>/);
  t.notRegex(after, /アカウントの操作/, 'no row says only "account activity"');
  t.regex(after, /<p class="session-device"><strong>Windows の Chrome<\/strong>/, 'the sessions list names devices in Japanese too');
});

test.serial('using the account pages moves this device\'s "Last active" on, at most once a minute', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member);
  const lastActive = async () => (await app.store.documents.listByIdPrefix('MemberSession', `${member.id}/`, 5))[0]!.payload.lastActiveAt as number;
  const loggedIn = await lastActive();
  now += 30_000;
  await browser.get('/account');
  t.is(await lastActive(), loggedIn, 'not written again within the minute');
  now += 60_000;
  await browser.get('/account/passkeys');
  t.is(await lastActive(), now, 'a minute later the account page moved it on');
  now += 5 * 60_000;
  const page = await browser.get('/account');
  t.is(await lastActive(), now);
  const shown = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(now);
  t.regex(page.html, new RegExp(`<dt>Last active</dt><dd class="when">${shown} JST</dd>`), 'and the page shows it');
});

test.serial('the account page\'s SMS step says why it is asked, and a code used up makes "Resend code" the way on', async (t) => {
  const member = await newMember();
  const browser = await signedIn(member, WINDOWS_CHROME, 'ja');
  const step = await browser.get('/account/passkeys');
  t.regex(step.html, /<p>パスキーの登録・名前の変更・削除の前に、SMSでお送りする認証コードでご本人確認をお願いします。<\/p>/);
  t.regex(step.html, /<span class="nowrap">090-••••-\d{4}<\/span>/, 'the masked number is kept on one line');
  let page = step;
  for (let i = 0; i < 6 && /id="sms-verify"/.test(page.html); i += 1) {
    page = await browser.post('/account/sms/verify', { csrf: hiddenField(step.html, 'csrf'), code: '000000' });
  }
  t.is(alertText(page.html), 'このコードは入力回数の上限に達しました。新しいコードを送信してください。');
  t.notRegex(page.html, /id="sms-verify"/, 'no field for a code that can no longer be used');
  t.regex(page.html, /<button type="submit" class="primary" id="resend"/, '"Resend code" is the main action');
});

test.serial('Back to a finished sign-in names the relying party in the page\'s language', async (t) => {
  const member = await newMember();
  const browser = new Browser(app.url);
  browser.acceptLanguage = 'ja';
  const { final, url } = await browser.follow((await (await website()).start()).url);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  const next = await browser.follow(posted.location!);
  if (/\/offer\/dismiss/.test(next.final.html)) await browser.post(`${next.url}/offer/dismiss`, { csrf: hiddenField(next.final.html, 'csrf') });
  // The browser's Back button: the finished sign-in's page again.
  const again = await browser.get(url);
  t.is(again.status, 200);
  t.regex(again.html, /JMBウェブサイトに戻る/);
  t.notRegex(again.html, /JMB websiteに戻る/);
});
