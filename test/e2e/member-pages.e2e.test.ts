/**
 * The member's pages, second pass, in Chromium: passkeys named from a known and an unknown AAGUID and
 * told apart, layouts that fit a 320, 390 and 1280 px wide window, targets a thumb can hit, and the
 * Japanese and English wording the pages had wrong.
 */
import test, { type ExecutionContext } from 'ava';
import type { BrowserContext, Page } from 'playwright-core';
import { accessibilityViolations } from '../helpers/axe.ts';
import { addVirtualAuthenticator, newPage, removeVirtualAuthenticator, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { codeOf, nextSms } from '../helpers/outbox.ts';
import { Browser as HttpBrowser } from '../helpers/browser.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

const e2e = sharedBrowserAndApp({
  // The passkey offer is on, as in production: a browser that cannot make a passkey moves past it by itself.
  env: { SMS_RESEND_COOLDOWN_SECONDS: '1', PASSKEY_OFFER: 'on' },
  clients: [{ ...WEBSITE, client_name: 'JMB website (demo)', 'client_name#ja': 'JMBウェブサイト（デモ）', client_uri: 'https://rp.example.com/' }],
});
const CALLBACK = WEBSITE.redirect_uris[0]!;
const GOOGLE_PASSWORD_MANAGER = 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4';
const ANDROID_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36';
const MAC_SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15';

let nextPhone = 1;
const eligible = () => createMember(e2e.app.store, { phone: `+8170${String(process.pid % 10000).padStart(4, '0')}${String(nextPhone++).padStart(4, '0')}`, country: 'JP' });
const localeOf = (lang: 'ja' | 'en') => (lang === 'ja' ? 'ja-JP' : 'en-US');

/**
 * Makes the page's next passkeys report `aaguid`, as a passkey provider's authenticator would: the
 * virtual authenticator's own AAGUID is known to no list. With "none" attestation nothing signs the
 * authenticator data, so the bytes are changed in the response the page sends.
 */
async function reportAaguid(page: Page, aaguid: string): Promise<void> {
  await page.addInitScript((hex: string) => {
    const bytes = new Uint8Array(hex.match(/../g)!.map((pair) => parseInt(pair, 16)));
    const create = navigator.credentials.create.bind(navigator.credentials);
    navigator.credentials.create = async (options?: CredentialCreationOptions) => {
      const credential = (await create(options)) as PublicKeyCredential;
      const response = credential.response as AuthenticatorAttestationResponse;
      const rpIdHash = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(options!.publicKey!.rp.id ?? location.hostname)));
      const patch = (buffer: ArrayBuffer) => {
        const copy = new Uint8Array(buffer.slice(0));
        const at = copy.findIndex((_, i) => rpIdHash.every((byte, j) => copy[i + j] === byte));
        copy.set(bytes, at + 37); // rpIdHash (32), flags (1), signCount (4), then the AAGUID (16).
        return copy.buffer;
      };
      const attestationObject = patch(response.attestationObject);
      const authenticatorData = patch(response.getAuthenticatorData());
      Object.defineProperty(response, 'attestationObject', { value: attestationObject });
      Object.defineProperty(response, 'getAuthenticatorData', { value: () => authenticatorData });
      return credential;
    };
  }, aaguid.replace(/-/g, ''));
}

/** Logs in at the website with number and password in `page`, and waits until the browser was sent back. */
async function logIn(page: Page, member: { number: string; password: string }): Promise<void> {
  const rp = await RelyingParty.website(e2e.app);
  await page.goto((await rp.start()).url);
  await page.locator('#number').fill(member.number);
  await page.locator('#password').fill(member.password);
  const callback = waitForRelyingPartyCallback(page, CALLBACK);
  await page.locator('form.stack button[type="submit"]').first().click();
  await callback;
  // The relying party's host does not resolve here: let that navigation end before the next one.
  for (const deadline = Date.now() + 3_000; Date.now() < deadline && !page.url().startsWith('chrome-error:');) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Opens Passkey Settings and passes its SMS step with the code from the outbox. */
async function openSettings(page: Page, member: { phone: string }, seen = 0): Promise<number> {
  await page.goto(`${e2e.app.url}/account/passkeys`);
  const { body, count } = await nextSms(e2e.app.dir, member.phone, seen);
  await page.locator('#code').fill(codeOf(body));
  await page.locator('#registration').waitFor();
  return count;
}

/** New registration on a device of its own (the virtual authenticator); the name "Passkey registered" shows. */
async function registerOnNewDevice(context: BrowserContext, page: Page): Promise<string> {
  const device = await addVirtualAuthenticator(context, page);
  await page.locator('#new-registration').click();
  const name = (await page.locator('p.passkey-name').textContent())!.trim();
  await removeVirtualAuthenticator(device);
  await page.goto(`${e2e.app.url}/account/passkeys`);
  return name;
}

const passkeyNames = (page: Page) => page.locator('li.passkey-row h2').allTextContents();

for (const [lang, labels] of [
  ['ja', { chrome: 'Linux の Chrome', numbered: 'Linux の Chrome（2）', newName: '会社のパソコン', save: '保存', rename: (name: string) => `「${name}」の名前を変更`, usedOn: '・Linux の Chrome' }],
  ['en', { chrome: 'Chrome on Linux', numbered: 'Chrome on Linux (2)', newName: 'Work laptop', save: 'Save', rename: (name: string) => `Rename "${name}"`, usedOn: ' · Chrome on Linux' }],
] as const) {
  test.serial(`${lang}: passkeys are named from a known AAGUID and, for an unknown one, after the browser and system; the same name is numbered; renamed in place`, async (t) => {
    const member = await eligible();
    const { context, page } = await newPage(e2e.browser, { locale: localeOf(lang) });
    try {
      await logIn(page, member);
      await openSettings(page, member);

      t.is(await registerOnNewDevice(context, page), labels.chrome, 'an unknown AAGUID: the browser and system');
      t.is(await registerOnNewDevice(context, page), labels.numbered, 'the same name again is numbered');
      await reportAaguid(page, GOOGLE_PASSWORD_MANAGER);
      await page.reload();
      t.is(await registerOnNewDevice(context, page), 'Google Password Manager', 'a known AAGUID: the provider');
      t.deepEqual((await passkeyNames(page)).sort(), [labels.chrome, labels.numbered, 'Google Password Manager'].sort());
      const created = page.locator('li.passkey-row dl.facts dd');
      t.is(await created.count(), 6, 'every card shows Created and Last used');

      // "Passkey registered" renames the new passkey in place.
      const device = await addVirtualAuthenticator(context, page);
      await page.locator('#new-registration').click();
      await page.locator('.rename-in-place').waitFor();
      await page.locator('#name').fill(labels.newName);
      await page.locator('.rename-in-place button').click();
      await page.locator('#registration').waitFor();
      t.true((await passkeyNames(page)).includes(labels.newName));
      // The rename page names the passkey it renames.
      await page.locator('li.passkey-row').filter({ hasText: labels.newName }).locator('.row-actions a').first().click();
      t.is((await page.locator('h1').textContent())?.trim(), labels.rename(labels.newName));

      // Logged in with it: its card says when, and from which browser, in the page's language.
      await page.context().clearCookies();
      const rp = await RelyingParty.website(e2e.app);
      const callback = waitForRelyingPartyCallback(page, CALLBACK);
      await page.goto((await rp.start()).url);
      await callback;
      await removeVirtualAuthenticator(device);
    } finally {
      await context.close();
    }
    const used = (await e2e.app.store.passkeys.listForMember(member.id)).find((passkey) => passkey.name === labels.newName);
    t.is(used?.lastUsedFrom, 'Chrome on Linux', 'the use was recorded');
    const { context: next, page: again } = await newPage(e2e.browser, { locale: localeOf(lang) });
    try {
      await logIn(again, member);
      await openSettings(again, member, (await smsCount(member.phone)));
      const card = again.locator('li.passkey-row').filter({ hasText: labels.newName });
      t.true((await card.locator('dd').nth(1).textContent())!.endsWith(labels.usedOn));
    } finally {
      await next.close();
    }
  });
}

async function smsCount(phone: string): Promise<number> {
  const { count } = await nextSms(e2e.app.dir, phone, 0);
  return count;
}

/** A member logged in on two other devices, one of them logged out from the account page, and a passkey. */
async function memberWithHistory(lang: 'ja' | 'en') {
  const member = await eligible();
  for (const userAgent of [ANDROID_CHROME, MAC_SAFARI]) {
    const other = new HttpBrowser(e2e.app.url);
    other.userAgent = userAgent;
    await passwordLogIn(other, (await (await RelyingParty.website(e2e.app)).start()).url, member.number, member.password);
  }
  const { context, page } = await newPage(e2e.browser, { locale: localeOf(lang) });
  await logIn(page, member);
  await page.goto(`${e2e.app.url}/account`);
  await page.locator('li.session-row').filter({ hasText: 'Android' }).locator('button').click();
  await page.waitForURL(`${e2e.app.url}/account`);
  await openSettings(page, member);
  const device = await addVirtualAuthenticator(context, page);
  await page.locator('#new-registration').click();
  await page.locator('p.passkey-name').waitFor();
  await removeVirtualAuthenticator(device);
  return { member, context, page };
}

async function fits(t: ExecutionContext, page: Page, what: string): Promise<void> {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: innerWidth }));
  t.true(scroll <= inner, `${what}: ${scroll} px wide in a ${inner} px window`);
}

for (const lang of ['ja', 'en'] as const) {
  test.serial(`${lang}: the log-in page, account page (sessions and history) and Passkey Settings fit 320, 390 and 1280 px; targets are 44 × 44 px on the phone`, async (t) => {
    const { context, page } = await memberWithHistory(lang);
    try {
      for (const width of [320, 390, 1280]) {
        await page.setViewportSize({ width, height: width === 1280 ? 800 : 844 });
        await page.goto(`${e2e.app.url}/account`);
        t.true(await page.locator('table.activity tbody tr').count() >= 4, 'history rows are shown');
        t.true(await page.locator('li.session-row').count() >= 2, 'sessions are shown');
        await fits(t, page, `the account page at ${width} px`);
        t.deepEqual(await accessibilityViolations(page), [], `the account page at ${width} px: no WCAG A or AA violation`);
        if (width < 1280) {
          // Below 40rem each history row is a card: its cells stack rather than sit side by side.
          const [what, when] = await Promise.all([page.locator('table.activity tbody tr').first().locator('td.what').boundingBox(), page.locator('table.activity tbody tr').first().locator('td.when').boundingBox()]);
          t.true(what!.y < when!.y, `history rows are stacked cards at ${width} px`);
          for (const button of await page.locator('li.session-row button').all()) {
            const box = (await button.boundingBox())!;
            t.true(box.width >= 44 && box.height >= 44, `Log out is ${box.width} × ${box.height} px at ${width} px`);
          }
        } else {
          const card = (await page.locator('main.card').boundingBox())!;
          t.true(card.width >= 700, `the account page is ${card.width} px wide on a desktop, not 448`);
          const row = (await page.locator('table.activity tbody tr').first().boundingBox())!;
          t.true(row.height < 60, `a history row is ${row.height} px high: one or two lines`);
        }
        await page.goto(`${e2e.app.url}/account/passkeys`);
        await page.locator('li.passkey-row').first().waitFor();
        await fits(t, page, `Passkey Settings at ${width} px`);
        t.deepEqual(await accessibilityViolations(page), [], `Passkey Settings at ${width} px: no WCAG A or AA violation`);
        if (width < 1280) {
          const targets = await page.locator('li.passkey-row .row-actions a').all();
          t.is(targets.length, 2, 'Rename and Delete');
          const boxes = await Promise.all(targets.map(async (target) => (await target.boundingBox())!));
          for (const box of boxes) t.true(box.width >= 44 && box.height >= 44, `Rename and Delete are ${box.width} × ${box.height} px at ${width} px`);
          t.true(boxes[1]!.x >= boxes[0]!.x + boxes[0]!.width + 8 || boxes[1]!.y >= boxes[0]!.y + boxes[0]!.height, 'apart from each other');
        }
        const rp = await RelyingParty.website(e2e.app);
        await page.goto((await rp.start({ prompt: 'login' })).url);
        await page.locator('#number').waitFor();
        await fits(t, page, `the log-in page at ${width} px`);
      }
    } finally {
      await context.close();
    }
  });
}

test.serial('Japanese pages: the website\'s Japanese name in a sentence, devices in Japanese, お客さま, no stray space before a bracket, 日本時間 and もう一度 kept whole', async (t) => {
  const { member, context, page } = await memberWithHistory('ja');
  try {
    await page.setViewportSize({ width: 320, height: 700 });
    const rp = await RelyingParty.website(e2e.app);
    await page.goto((await rp.start({ prompt: 'login' })).url);
    t.is((await page.locator('main p.sub').first().textContent())?.trim(), 'ログイン後、JMBウェブサイト（デモ）に進みます。');
    t.false((await page.locator('main').textContent())!.includes('JMB website (demo)'), 'not the English name');

    // A wrong password, then the account page: every row in Japanese words.
    await page.locator('#number').fill(member.number);
    await page.locator('#password').fill('wrong-password');
    await page.locator('form.stack button[type="submit"]').first().click();
    await page.locator('#login-error').waitFor();
    await page.goto(`${e2e.app.url}/account`);
    const sessions = await page.locator('p.session-device strong').allTextContents();
    t.true(sessions.includes('Linux の Chrome') && sessions.includes('macOS の Safari'), `devices in Japanese: ${sessions.join(', ')}`);
    const rows = await page.locator('table.activity td.what').allTextContents();
    t.true(rows.includes('端末をログアウト：Android の Chrome（127.0.0.1）'), `a logged-out device named: ${rows.join(' / ')}`);
    t.true(rows.includes('お得意様番号とパスワードでのログインに失敗'), 'a failure in words of its own');
    t.false(rows.some((row) => row === 'アカウントの操作' || /\s（/.test(row)), 'no "account activity" row, no space before a full-width bracket');

    // Registering again on a device that has a passkey: お客さま, not あなた.
    const device = await addVirtualAuthenticator(context, page);
    await page.goto(`${e2e.app.url}/account/passkeys`);
    await page.locator('#new-registration').click();
    await page.locator('.rename-in-place').waitFor();
    await page.goto(`${e2e.app.url}/account/passkeys`);
    await page.locator('#new-registration').click();
    const exists = page.locator('#registration-alert');
    await exists.waitFor();
    t.is((await exists.textContent())?.trim(), 'この端末には、すでにお客さまのアカウントのパスキーがあります。');
    await removeVirtualAuthenticator(device);

    // SMS verification locked until a time: 日本時間, and もう一度 on one line at 320 and 390 px.
    await e2e.app.store.counters.increment(`sms-lock:${member.id}`, 15 * 60);
    const { context: fresh, page: locked } = await newPage(e2e.browser, { locale: 'ja-JP' });
    try {
      await logIn(locked, member);
      for (const width of [320, 390]) {
        await locked.setViewportSize({ width, height: 700 });
        await locked.goto(`${e2e.app.url}/account/passkeys`);
        const alert = locked.locator('#sms-error');
        const text = (await alert.textContent())!.trim();
        t.regex(text, /日本時間\d{1,2}:\d{2}以降にもう一度お試しください。$/);
        t.notRegex(text, /\(JST\)/, 'no half-width brackets');
        const lines = await alert.evaluate((element) => {
          const node = [...element.childNodes].find((child) => child.textContent?.includes('もう一度'))!;
          const range = document.createRange();
          const start = node.textContent!.indexOf('もう一度');
          range.setStart(node, start);
          range.setEnd(node, start + 'もう一度'.length);
          return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
        });
        t.is(lines, 1, `もう一度 is on one line at ${width} px`);
      }
    } finally {
      await fresh.close();
    }
  } finally {
    await context.close();
  }
});

test.serial('English pages: "Coming soon" for the apps, "2 other devices were logged out."', async (t) => {
  const member = await eligible();
  for (const userAgent of [ANDROID_CHROME, MAC_SAFARI]) {
    const other = new HttpBrowser(e2e.app.url);
    other.userAgent = userAgent;
    await passwordLogIn(other, (await (await RelyingParty.website(e2e.app)).start()).url, member.number, member.password);
  }
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  try {
    await page.goto(`${e2e.app.url}/help/passkeys`);
    t.true((await page.locator('main').textContent())!.includes('Coming soon'));
    t.false((await page.locator('main').textContent())!.includes('To be introduced sequentially'));
    await logIn(page, member);
    await page.goto(`${e2e.app.url}/account`);
    await page.getByRole('button', { name: 'Log out everywhere else', exact: true }).click();
    await page.waitForURL(`${e2e.app.url}/account`);
    t.is((await page.getByRole('status').textContent())?.trim(), '2 other devices were logged out.');
  } finally {
    await context.close();
  }
});

test.serial('controls look alike: the body font everywhere, one weight for buttons and button-like links, the main action as wide as "Not now", the masked number on one line', async (t) => {
  const member = await eligible();
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  try {
    await page.setViewportSize({ width: 320, height: 700 });
    const rp = await RelyingParty.website(e2e.app);
    await page.goto((await rp.start()).url);
    const fonts = await page.evaluate(() => {
      const family = (selector: string) => getComputedStyle(document.querySelector(selector)!).fontFamily;
      return { body: family('body'), button: family('form.stack button'), input: family('#number') };
    });
    t.is(fonts.button, fonts.body, 'buttons use the body font');
    t.is(fonts.input, fonts.body, 'inputs use the body font');
    const buttonWeight = await page.locator('form.stack button.primary').evaluate((element) => getComputedStyle(element).fontWeight);
    await page.goto(`${e2e.app.url}/interaction/not-a-sign-in`);
    const link = page.locator('a.button-link');
    t.is(await link.evaluate((element) => getComputedStyle(element).fontWeight), buttonWeight, '"Start again" has the weight of a button');

    // The offer after a password log-in, on a device that can make a passkey.
    const device = await addVirtualAuthenticator(context, page);
    await page.goto((await rp.start()).url);
    await page.locator('#number').fill(member.number);
    await page.locator('#password').fill(member.password);
    await page.locator('form.stack button[type="submit"]').first().click();
    await page.locator('#passkey-offer').waitFor();
    const number = page.locator('#passkey-offer .nowrap');
    t.regex((await number.textContent())!, /^080-••••-\d{4}$|^070-••••-\d{4}$/);
    t.is(await number.evaluate((element) => element.getClientRects().length), 1, 'the masked number is on one line at 320 px');
    await page.locator('form[action$="/accept"] button').click();
    const { body } = await nextSms(e2e.app.dir, member.phone, 0);
    await page.locator('#code').fill(codeOf(body));
    await page.locator('#new-registration').waitFor();
    const [create, notNow] = await Promise.all([page.locator('#new-registration').boundingBox(), page.locator('form[action$="/dismiss"] button').boundingBox()]);
    t.true(create!.width >= notNow!.width, `"Create passkey" is ${create!.width} px wide, "Not now" ${notNow!.width} px`);
    await removeVirtualAuthenticator(device);
  } finally {
    await context.close();
  }
});
