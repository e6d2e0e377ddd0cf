import test from 'ava';
import { Browser, alertText, hiddenField, type PageResponse } from '../helpers/browser.ts';
import { submitPassword } from '../helpers/log-in.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// "Verify with SMS to log in now": strangers' failures hold a member number; the member, on a browser
// they never used, proves their phone and then logs in with their password, while the wait holds for
// everyone else. Nothing in it tells a stranger whether a number is a member's or has a phone.
const sms = new MemorySms();
let now = Date.now();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({
    sms,
    clock: () => now,
    env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_MEMBER: '1', LOGIN_WAIT_BASE_SECONDS: '600', LOGIN_WAIT_MAX_SECONDS: '900', SMS_MAX_PER_IP_PER_HOUR: '2' },
  });
});
test.after.always(async () => app?.stop());

let nextAddress = 1;
function browserAt(address = `198.51.100.${nextAddress++}`): Browser {
  const browser = new Browser(app.url);
  browser.extraHeaders = { 'x-forwarded-for': address };
  return browser;
}
let nextPhone = 1;
const newMember = (overrides: { phone?: string; country?: string } = {}) => createMember(app.store, { phone: `+8190222${String(nextPhone++).padStart(5, '0')}`, ...overrides });

/** A hidden field of the form with id `id`. */
function formField(html: string, id: string, name: string): string {
  const form = new RegExp(`<form [^>]*id="${id}"[\\s\\S]*?</form>`).exec(html)?.[0];
  if (!form) throw new Error(`no form "${id}" in page`);
  return hiddenField(form, name);
}

/** A new sign-in in `browser`, and its answer to `number` and `password`. */
async function logIn(browser: Browser, number: string, password: string, params: Record<string, string> = {}) {
  const rp = await RelyingParty.website(app);
  const { flow, url, posted: page } = await submitPassword(browser, rp, { number, password }, params);
  return { rp, flow, url, page };
}

/** Strangers' failures, until the number waits for every browser the member never used. */
async function holdNumber(number: string) {
  for (let i = 0; i < 2; i++) await logIn(browserAt(), number, 'a stranger guesses');
}

/** From a log-in page that explains a wait: "Verify with SMS to log in now". */
const openWayIn = (browser: Browser, url: string, page: PageResponse) =>
  browser.post(`${url}/sms-way-in`, { csrf: formField(page.html, 'sms-way-in', 'csrf'), number: formField(page.html, 'sms-way-in', 'number') });

/** The code form of the way-in step, posted with `code`. */
const enterCode = (browser: Browser, url: string, step: PageResponse, code: string) =>
  browser.post(`${url}/sms-way-in/verify`, { csrf: formField(step.html, 'sms-verify', 'csrf'), number: formField(step.html, 'sms-verify', 'number'), code });

/** A page with what differs by sign-in, browser and number taken out. */
const shape = (html: string, number: string) => html
  .replace(/\/interaction\/[\w-]+/g, '/interaction/UID')
  .replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value="TOKEN"')
  .replaceAll(number, 'NUMBER');

test.serial('a member held by strangers\' failures verifies by SMS on a new browser and logs in with the password; strangers still wait', async (t) => {
  const member = await newMember();
  await holdNumber(member.number);
  const browser = browserAt();
  const { rp, flow, url, page } = await logIn(browser, member.number, member.password);
  t.is(page.status, 429, 'the member waits like any browser they never used');
  t.regex(page.html, /<button type="submit" class="secondary">Verify with SMS to log in now<\/button>/);

  const sent = sms.sent.length;
  const step = await openWayIn(browser, url, page);
  t.is(step.status, 200);
  t.regex(step.html, /If this membership number has a mobile phone in Japan on file, we sent a code to it by SMS\./);
  t.notRegex(step.html, /••••/, 'the page shows no part of the phone number');
  t.is(sms.sent.length, sent + 1);
  t.is(sms.sent.at(-1)!.to, member.phone, 'the code went to the phone on file');

  const verified = await enterCode(browser, url, step, sms.lastCode(member.phone));
  t.is(verified.status, 200);
  t.regex(verified.html, /This browser is confirmed as yours: enter your password to log in\./);
  t.regex(verified.html, /name="password"/, 'back on the log-in page: the code alone logs no one in');
  t.true(verified.headers.getSetCookie().some((line) => line.startsWith('jmb.device=')), 'the browser is now known to the member');

  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(verified.html, 'csrf'), number: member.number, password: member.password });
  t.is(posted.status, 303, 'the password now counts against this browser, not the member number');
  const { url: callback } = await browser.follow(posted.location!);
  t.is((await rp.redeem(callback, flow)).claims()!.sub, member.id);

  t.is((await logIn(browserAt(), member.number, member.password)).page.status, 429, 'every other browser still waits');
  t.is((await logIn(browser, member.number, member.password, { prompt: 'login' })).page.status, 303, 'this one no longer does');
  const verifications = (await app.store.audit.listForMember(member.id, 20)).filter((event) => event.type === 'sms.verify');
  t.like(verifications[0], { outcome: 'success', detail: { purpose: 'way-in' } });
});

test.serial('a wrong password after the SMS proof counts against this browser alone, and the code is single use', async (t) => {
  const member = await newMember();
  await holdNumber(member.number);
  const browser = browserAt();
  const { url, page } = await logIn(browser, member.number, member.password);
  const step = await openWayIn(browser, url, page);
  const code = sms.lastCode(member.phone);
  const verified = await enterCode(browser, url, step, code);
  t.is(verified.status, 200);
  t.is((await enterCode(browser, url, step, code)).status, 400, 'a used code is refused');
  t.is((await browser.post(`${url}/login`, { csrf: hiddenField(verified.html, 'csrf'), number: member.number, password: 'a typo' })).status, 401,
    'a typo is a plain failure, not a wait');
});

test.serial('an unknown number, a member without a Japanese mobile and a member with one see the same pages; only the last gets an SMS', async (t) => {
  const member = await newMember();
  const abroad = await newMember({ phone: '+447700900123', country: 'GB' });
  const pages = [];
  for (const number of [member.number, abroad.number, '888888801']) {
    await holdNumber(number);
    const browser = browserAt();
    const { url, page } = await logIn(browser, number, 'whatever they type');
    t.is(page.status, 429);
    const sent = sms.sent.length;
    const step = await openWayIn(browser, url, page);
    const refused = await enterCode(browser, url, step, '000000');
    pages.push({ number, sent: sms.sent.length - sent, step, refused });
  }
  t.deepEqual(pages.map((p) => p.sent), [1, 0, 0], 'a code went out only to the member with a Japanese mobile');
  const [real, ...others] = pages;
  for (const other of others) {
    t.is(other.step.status, real!.step.status);
    t.is(shape(other.step.html, other.number), shape(real!.step.html, real!.number), 'the same page when the step opens');
    t.is(other.refused.status, real!.refused.status);
    t.is(shape(other.refused.html, other.number), shape(real!.refused.html, real!.number), 'and the same answer to a wrong code');
  }
  t.is(alertText(real!.refused.html), 'We could not verify this code. Check the code in the SMS, or request a new one.');
});

test.serial('wrong codes are limited: five per code, then ten per sign-in for any number', async (t) => {
  const member = await newMember();
  await holdNumber(member.number);
  const browser = browserAt();
  const { url, page } = await logIn(browser, member.number, member.password);
  const step = await openWayIn(browser, url, page);
  const code = sms.lastCode(member.phone);
  const wrong = code === '123456' ? '654321' : '123456';
  for (let i = 0; i < 5; i++) t.is((await enterCode(browser, url, step, wrong)).status, 400);
  const late = await enterCode(browser, url, step, code);
  t.is(late.status, 400, 'after five wrong tries the right code no longer works');
  t.false(late.headers.getSetCookie().some((line) => line.startsWith('jmb.device=')));
  const back = await browser.get(url);
  t.is((await browser.post(`${url}/login`, { csrf: hiddenField(back.html, 'csrf'), number: member.number, password: member.password })).status, 429,
    'and the browser still waits');

  now += 61_000;
  const resent = await browser.post(`${url}/sms-way-in/resend`, { csrf: formField(step.html, 'sms-verify', 'csrf'), number: member.number });
  t.is(resent.status, 200);
  const fresh = sms.lastCode(member.phone);
  t.not(fresh, code, 'a new code was sent');
  for (let i = 0; i < 4; i++) await enterCode(browser, url, resent, fresh === wrong ? code : wrong);
  const capped = await enterCode(browser, url, resent, fresh);
  t.is(capped.status, 400, 'the eleventh try in one sign-in is refused unread, the right code too');
  t.is(alertText(capped.html), 'Too many codes were tried. Please go back to the log-in page and try again later, or log in with a passkey.');

  const unknown = browserAt();
  await holdNumber('888888802');
  const other = await logIn(unknown, '888888802', 'x');
  const otherStep = await openWayIn(unknown, other.url, other.page);
  for (let i = 0; i < 10; i++) await enterCode(unknown, other.url, otherStep, '000000');
  t.is(alertText((await enterCode(unknown, other.url, otherStep, '000000')).html), alertText(capped.html), 'an unknown number reaches the same limit');
});

test.serial('the SMS budgets apply: past the address\'s hourly budget no code goes out, and the page reads the same', async (t) => {
  const address = '203.0.113.77';
  const members = [await newMember(), await newMember(), await newMember()];
  const steps = [];
  for (const member of members) {
    await holdNumber(member.number);
    const browser = browserAt(address);
    const { url, page } = await logIn(browser, member.number, member.password);
    const sent = sms.sent.length;
    const step = await openWayIn(browser, url, page);
    steps.push({ sent: sms.sent.length - sent, step, number: member.number });
  }
  t.deepEqual(steps.map((s) => s.sent), [1, 1, 0], 'SMS_MAX_PER_IP_PER_HOUR=2');
  t.is(shape(steps[2]!.step.html, steps[2]!.number), shape(steps[0]!.step.html, steps[0]!.number));
  now += 3_600_000;
});

test.serial('every way-in form needs this browser\'s sign-in, a token for that number, and the same origin; none sends a code otherwise', async (t) => {
  const member = await newMember();
  const victim = await newMember();
  await holdNumber(member.number);
  const browser = browserAt();
  const { url, page } = await logIn(browser, member.number, member.password);
  const csrf = formField(page.html, 'sms-way-in', 'csrf');
  const sent = sms.sent.length;

  t.is((await browser.post(`${url}/sms-way-in`, { csrf, number: victim.number })).status, 403, 'a token for another number');
  t.is((await browser.post(`${url}/sms-way-in`, { csrf: formField(page.html, 'login-form', 'csrf'), number: member.number })).status, 403, 'the log-in form\'s token');
  t.is((await browser.post(`${url}/sms-way-in`, { csrf, number: member.number }, { 'sec-fetch-site': 'cross-site' })).status, 403, 'a cross-site post');
  const elsewhere = browserAt();
  elsewhere.cookies.push(...browser.cookies.filter((c) => c.name === 'jmb.csrf'));
  t.is((await elsewhere.post(`${url}/sms-way-in`, { csrf, number: member.number })).status, 400, 'another browser without this sign-in\'s cookie');
  t.is(sms.sent.length, sent, 'no code went out');

  const step = await openWayIn(browser, url, page);
  t.is((await browser.post(`${url}/sms-way-in/verify`, { csrf: formField(step.html, 'sms-verify', 'csrf'), number: victim.number, code: sms.lastCode(member.phone) })).status, 403,
    'the code form is bound to its number too');
});

test.serial('in Japanese', async (t) => {
  const member = await newMember();
  await holdNumber(member.number);
  const browser = browserAt();
  browser.acceptLanguage = 'ja';
  const { url, page } = await logIn(browser, member.number, member.password);
  t.regex(page.html, />SMS認証ですぐにログイン</);
  const step = await openWayIn(browser, url, page);
  t.regex(step.html, /このお得意様番号に国内の携帯電話番号のご登録がある場合は、SMSで認証コードを送信しました。/);
  t.regex(step.html, />ログイン画面に戻る</);
  t.regex((await enterCode(browser, url, step, sms.lastCode(member.phone))).html, /本人確認が完了しました。パスワードを入力してログインしてください。/);
});
