/**
 * The member's passkey registration journey of the programme's guide ("How to Register a Passkey",
 * STEP 1–5), end to end in Chromium: log in at the demo website, Manage your account, SMS
 * verification, New registration answered by the device, the confirmation screen. Then the new
 * passkey logs the member in (acr phr), is renamed, deleted, and refused once deleted.
 */
import test, { type ExecutionContext } from 'ava';
import type { Page, Request } from 'playwright-core';
import {
  addCredential,
  addVirtualAuthenticator,
  credentialsOnceSettled,
  fromCdpBinary,
  getCredentials,
  holdScript,
  withoutAutofill,
  newPage,
  waitForRelyingPartyCallback,
} from '../helpers/chromium.ts';
import { sharedBrowserAndDemoSite } from '../helpers/e2e.ts';
import { codeOf, nextSms } from '../helpers/outbox.ts';
import { createMember } from '../helpers/test-app.ts';

// The wait between two codes to the same member is member-wide (60 s by default): the journey
// asks for a second code, in a new session, well under a minute after the first.
const e2e = sharedBrowserAndDemoSite({ SMS_RESEND_COOLDOWN_SECONDS: '1' });

const english = {
  locale: 'en-US',
  number: 'JMB membership number',
  password: 'Password',
  submit: 'Log in',
  account: 'Manage your account',
  passkeys: 'Register / Change / Delete Passkey',
  smsHeading: 'Enter the SMS verification code',
  code: 'SMS verification code',
  verify: 'Verify',
  smsCode: 'JMB verification code: ',
  addedNotice: 'JMB: A passkey was added to your JMB account on ',
  removedNotice: 'JMB: A passkey was removed from your JMB account on ',
  settings: 'Passkey Settings (Register/Delete)',
  none: 'You have no passkeys yet.',
  newRegistration: 'New registration',
  registered: 'Passkey registered',
  back: 'Back to Passkey Settings',
  deviceOnly: 'This device only',
  rename: 'Rename',
  renameHeading: (name: string) => `Rename "${name}"`,
  passkeyName: 'Passkey name',
  save: 'Save',
  renamed: (name: string) => `The passkey was renamed to "${name}".`,
  newName: 'My laptop',
  delete: 'Delete',
  deleteHeading: 'Delete this passkey?',
  deleteConfirm: 'Delete passkey',
  deleted: (name: string) => `The passkey "${name}" was deleted.`,
  passkeyButton: 'Log in with passkey',
  unknownPasskey: 'This passkey is not registered with JMB. It may have been deleted. Log in with your membership number and password.',
};
const japanese: typeof english = {
  locale: 'ja-JP',
  number: 'JMBお得意様番号',
  password: 'パスワード',
  submit: 'ログイン',
  account: 'アカウント管理',
  passkeys: 'パスキーの登録・変更・削除',
  smsHeading: 'SMS認証コードを入力してください',
  code: 'SMS認証コード',
  verify: '認証する',
  smsCode: '【JMB】認証コード：',
  addedNotice: 'JMBアカウントのパスキーが追加されました。',
  removedNotice: 'JMBアカウントのパスキーが削除されました。',
  settings: 'パスキー設定（登録・削除）',
  none: '登録済みのパスキーはありません。',
  newRegistration: '新規登録',
  registered: 'パスキーを登録しました',
  back: 'パスキー設定に戻る',
  deviceOnly: 'この端末のみ',
  rename: '名前を変更',
  renameHeading: (name: string) => `「${name}」の名前を変更`,
  passkeyName: 'パスキーの名前',
  save: '保存',
  renamed: (name: string) => `パスキーの名前を「${name}」に変更しました。`,
  newName: '仕事用のパソコン',
  delete: '削除',
  deleteHeading: 'このパスキーを削除しますか？',
  deleteConfirm: 'パスキーを削除',
  deleted: (name: string) => `パスキー「${name}」を削除しました。`,
  passkeyButton: 'パスキーでログイン',
  unknownPasskey: 'このパスキーはJMBに登録されていません。削除された可能性があります。お得意様番号とパスワードでログインしてください。',
};
type Labels = typeof english;

/** A Japanese mobile number no other test run uses, so the outbox lines to it are this test's. */
let nextPhone = 1;
const uniquePhone = () => `+8190${String(process.pid % 10000).padStart(4, '0')}${String(nextPhone++).padStart(4, '0')}`;


/** What the demo website's home page shows for one of its facts, e.g. 'Assurance level (acr)'. */
const demoFact = (page: Page, label: string) =>
  page.locator(`xpath=//dt[normalize-space()="${label}"]/following-sibling::dd[1]`).textContent();

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });

/** Counts the requests for passkey log-in options, i.e. the log-in ceremonies the page started. */
function countLoginCeremonies(page: Page): () => number {
  let count = 0;
  page.on('request', (request: Request) => {
    const { pathname } = new URL(request.url());
    if (request.method() === 'POST' && /^\/interaction\/[^/]+\/passkey\/options$/.test(pathname)) count += 1;
  });
  return () => count;
}

/** On the demo website's home page, signed in: "Log in" is gone and "Log out" is there. */
async function atDemoHome(page: Page): Promise<void> {
  await page.waitForURL((url) => url.origin === e2e.site.url && url.pathname === '/');
  await page.getByRole('button', { name: 'Log out', exact: true }).waitFor();
}

/** The SMS step of the account pages: the code from the outbox into the field, which sends itself once complete. */
async function passSmsStep(t: ExecutionContext, page: Page, labels: Labels, phone: string, seen: number): Promise<number> {
  await heading(page, labels.smsHeading).waitFor();
  t.is(new URL(page.url()).pathname, '/account/passkeys', 'the SMS step guards the passkey settings');
  const { body, count } = await nextSms(e2e.app.dir, phone, seen);
  t.true(body.startsWith(labels.smsCode), `the SMS is in the member's language: ${JSON.stringify(body)}`);
  await page.getByLabel(labels.code, { exact: true }).fill(codeOf(body));
  await heading(page, labels.settings).waitFor();
  return count;
}

/** From the demo website (signed in) through "Log out", which the IdP does at once, back to the website signed out. */
async function logOutAtDemo(page: Page): Promise<void> {
  await page.goto(`${e2e.site.url}/`);
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.waitForURL((url) => url.origin === e2e.site.url && url.pathname === '/');
  await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
}

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  test.serial(`${language}: a member registers a passkey (STEP 1–5), logs in with it, renames and deletes it, and the deleted passkey is refused`, async (t) => {
    const member = await createMember(e2e.app.store, { phone: uniquePhone(), country: 'JP' });
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      // Logged in at the website with membership number and password.
      await page.goto(`${e2e.site.url}/`);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await page.getByLabel(labels.number, { exact: true }).fill(member.number);
      t.true(page.url().startsWith(`${e2e.app.url}/interaction/`), 'the website sent the member to the IdP log-in page');
      t.is(await page.locator('html').getAttribute('lang'), labels.locale.slice(0, 2));
      await page.getByLabel(labels.password, { exact: true }).fill(member.password);
      const passwordCallback = waitForRelyingPartyCallback(page, `${e2e.site.url}/callback`);
      await page.getByRole('button', { name: labels.submit, exact: true }).click();
      await passwordCallback;
      await atDemoHome(page);
      t.is(await demoFact(page, 'Membership number'), member.number);
      t.is(await demoFact(page, 'Assurance level (acr)'), 'urn:jmb:loa:1');
      t.is(await demoFact(page, 'Authentication methods (amr)'), 'pwd');

      // STEP 1: "Manage your account", then "Register / Change / Delete Passkey".
      await page.getByRole('link', { name: 'Manage your account', exact: true }).click();
      await heading(page, labels.account).waitFor();
      t.is(page.url(), `${e2e.app.url}/account?client_id=jmb-website`, 'the IdP session from the website log-in opens the account page, no second log-in');
      await page.getByRole('link', { name: labels.passkeys, exact: true }).click();

      // STEP 2: the SMS verification code. The settings page's script is held back for a moment, as
      // on a slow phone network: until it runs, "New registration" cannot be pressed in vain.
      const releaseScript = await holdScript(page, '**/assets/passkey-settings.js');
      let smsSeen = await passSmsStep(t, page, labels, member.phone, 0);
      t.is(smsSeen, 1, 'one SMS was sent');
      t.true(await page.getByRole('button', { name: labels.newRegistration, exact: true }).isDisabled(), 'New registration waits for its script');
      releaseScript();

      // STEP 3: Passkey Settings (Register/Delete), "New registration".
      t.true(await page.getByText(labels.none, { exact: true }).isVisible(), 'no passkeys yet');
      // STEP 4: the device's screen lock, here Chromium's virtual platform authenticator.
      const authenticator = await addVirtualAuthenticator(context, page, {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      });
      await page.getByRole('button', { name: labels.newRegistration, exact: true }).click();

      // STEP 5: the confirmation screen.
      await heading(page, labels.registered).waitFor();
      const name = (await page.locator('p.passkey-name').textContent())!.trim();
      t.truthy(name, 'the confirmation names the new passkey');
      const held = await getCredentials(authenticator);
      t.is(held.length, 1, 'the device holds the new passkey');
      t.true(held[0]!.isResidentCredential, 'as a discoverable credential');
      const [stored] = await e2e.app.store.passkeys.listForMember(member.id);
      t.is(stored?.id, fromCdpBinary(held[0]!.credentialId), 'the IdP stored the same credential');
      t.false(stored?.synced, 'a device-bound passkey');

      const added = await nextSms(e2e.app.dir, member.phone, smsSeen);
      t.true(added.body.includes(labels.addedNotice), `the member is told by SMS that a passkey was added: ${JSON.stringify(added.body)}`);
      smsSeen = added.count;

      await page.getByRole('link', { name: labels.back, exact: true }).click();
      await heading(page, labels.settings).waitFor();
      const rows = page.locator('li.passkey-row');
      t.is(await rows.count(), 1, 'the list shows one passkey');
      t.is((await rows.locator('h2').textContent())?.trim(), name);
      t.is((await rows.locator('.kind').textContent())?.trim(), labels.deviceOnly);

      // A new log-in with the passkey: the log-in page's autofill request completes by itself.
      await logOutAtDemo(page);
      const ceremonies = countLoginCeremonies(page);
      const passkeyCallback = waitForRelyingPartyCallback(page, `${e2e.site.url}/callback`);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await passkeyCallback;
      await atDemoHome(page);
      t.is(ceremonies(), 1, 'one passkey request, started by the log-in page on load');
      t.is(await demoFact(page, 'Membership number'), member.number);
      t.is(await demoFact(page, 'Assurance level (acr)'), 'phr');
      t.deepEqual((await demoFact(page, 'Authentication methods (amr)'))!.split(', ').sort(), ['hwk', 'mfa', 'user']);

      // Rename. The new IdP session needs its own SMS verification first.
      await page.getByRole('link', { name: 'Manage your account', exact: true }).click();
      await heading(page, labels.account).waitFor();
      await page.getByRole('link', { name: labels.passkeys, exact: true }).click();
      smsSeen = await passSmsStep(t, page, labels, member.phone, smsSeen);
      t.is(smsSeen, 3, 'a new code for the new session');
      await page.getByRole('link', { name: `${labels.rename}: ${name}`, exact: true }).click();
      await heading(page, labels.renameHeading(name)).waitFor();
      const field = page.getByLabel(labels.passkeyName, { exact: true });
      t.is(await field.inputValue(), name, 'the field starts with the current name');
      await field.fill(labels.newName);
      await page.getByRole('button', { name: labels.save, exact: true }).click();
      await heading(page, labels.settings).waitFor();
      t.is((await page.getByRole('status').filter({ hasText: labels.newName }).textContent())?.trim(), labels.renamed(labels.newName));
      t.is(await rows.count(), 1);
      t.is((await rows.locator('h2').textContent())?.trim(), labels.newName, 'the list shows the new name');
      t.is((await e2e.app.store.passkeys.findById(stored!.id))?.name, labels.newName);

      // Delete. The credential is kept aside (with its private key) to try it again afterwards.
      const [beforeDelete] = await getCredentials(authenticator);
      await page.getByRole('link', { name: `${labels.delete}: ${labels.newName}`, exact: true }).click();
      await heading(page, labels.deleteHeading).waitFor();
      await page.getByRole('button', { name: labels.deleteConfirm, exact: true }).click();
      await heading(page, labels.settings).waitFor();
      t.is((await page.getByRole('status').filter({ hasText: labels.newName }).textContent())?.trim(), labels.deleted(labels.newName));
      t.is(await rows.count(), 0, 'the list shows no passkeys');
      t.true(await page.getByText(labels.none, { exact: true }).isVisible());
      t.deepEqual(await e2e.app.store.passkeys.listForMember(member.id), []);
      const removed = await nextSms(e2e.app.dir, member.phone, smsSeen);
      t.true(removed.body.includes(labels.removedNotice), `the member is told by SMS that a passkey was removed: ${JSON.stringify(removed.body)}`);
      // The page told the browser which passkeys remain (none), so the device dropped it.
      t.deepEqual(await credentialsOnceSettled(authenticator, (ids) => ids.length === 0), [], 'the device no longer offers the deleted passkey');

      // The server refuses the deleted passkey even when a device still offers it.
      await logOutAtDemo(page);
      await withoutAutofill(page);
      await addCredential(authenticator, beforeDelete!);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      const button = page.getByRole('button', { name: labels.passkeyButton, exact: true });
      await button.waitFor();
      const refused = page.waitForResponse((r) => r.request().method() === 'POST' && /^\/interaction\/[^/]+\/passkey$/.test(new URL(r.url()).pathname));
      await button.click();
      t.is((await refused).status(), 401);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      t.is((await alert.textContent())?.trim(), labels.unknownPasskey);
      t.true(page.url().startsWith(`${e2e.app.url}/interaction/`), 'the member stays on the log-in page');
      t.true(await page.getByLabel(labels.number, { exact: true }).isVisible(), 'with the number and password form');
    } finally {
      await context.close();
    }
  });
}

// Pages sent with `Referrer-Policy: no-referrer` make Chromium post forms with `Origin: null`.
test.serial('the demo website accepts its own "Log in" button from Chromium (Origin: null under Referrer-Policy: no-referrer)', async (t) => {
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  try {
    await page.goto(`${e2e.site.url}/`);
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${e2e.site.url}/login`);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    const response = await posted;
    t.is(response.status(), 303, `the log-in form post was answered ${response.status()} (sent with Origin: ${await response.request().headerValue('origin')})`);
  } finally {
    await context.close();
  }
});
