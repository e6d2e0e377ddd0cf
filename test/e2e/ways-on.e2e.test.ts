/**
 * Pages that used to be dead ends or said the wrong thing, in Chromium: Back after a finished log-in,
 * and a form the IdP refuses for the member's security.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { expectAccessible } from '../helpers/axe.ts';
import { newPage, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { fillLogInForm } from '../helpers/log-in.ts';
import { codeOf, nextSms } from '../helpers/outbox.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

const HOME = 'https://rp.example.com/';
const e2e = sharedBrowserAndApp({ clients: [{ ...WEBSITE, client_name: 'JMB website', client_uri: HOME }] });
const CALLBACK = WEBSITE.redirect_uris[0]!;

const english = {
  locale: 'en-US',
  number: 'JMB membership number',
  password: 'Password',
  submit: 'Log in',
  account: 'Manage your account',
  signedIn: 'You are already logged in.',
  backToWebsite: 'Back to JMB website',
  expired: 'This sign-in has expired. Please start again.',
  startAgain: 'Start again',
  passkeys: 'Register / Change / Delete Passkey',
  code: 'SMS verification code',
  settings: 'Passkey Settings (Register/Delete)',
  renameHeading: 'Rename "Work laptop"',
  passkeyName: 'Passkey name',
  save: 'Save',
  refused: 'We could not accept this form',
  backToPage: 'Back to the page',
};
const japanese: typeof english = {
  locale: 'ja-JP',
  number: 'JMBお得意様番号',
  password: 'パスワード',
  submit: 'ログイン',
  account: 'アカウント管理',
  signedIn: 'すでにログインしています。',
  backToWebsite: 'JMB websiteに戻る',
  expired: 'このログインは有効期限が切れました。最初からやり直してください。',
  startAgain: '最初からやり直す',
  passkeys: 'パスキーの登録・変更・削除',
  code: 'SMS認証コード',
  settings: 'パスキー設定（登録・削除）',
  renameHeading: '「Work laptop」の名前を変更',
  passkeyName: 'パスキーの名前',
  save: '保存',
  refused: 'この操作を受け付けられませんでした',
  backToPage: '元のページに戻る',
};

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });

let nextPhone = 1;
const uniquePhone = () => `+8180${String(process.pid % 10000).padStart(4, '0')}${String(nextPhone++).padStart(4, '0')}`;

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  test.serial(`${language}: Back after a finished log-in says the member is logged in and leads on, not "expired"`, async (t) => {
    const member = await createMember(e2e.app.store);
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      const rp = await RelyingParty.website(e2e.app);
      await page.goto((await rp.start()).url);
      const signIn = page.url();
      t.true(signIn.startsWith(`${e2e.app.url}/interaction/`));
      const callback = waitForRelyingPartyCallback(page, CALLBACK);
      await fillLogInForm(page, labels, member);
      await callback;
      // The website's host does not resolve here: the browser shows its own error page for it.
      await page.waitForURL((url) => url.protocol === 'chrome-error:');

      await page.goBack();
      t.is(page.url(), signIn, 'Back returns to the sign-in\'s page');
      await heading(page, labels.signedIn).waitFor();
      t.is(await page.getByText(labels.expired).count(), 0, 'nothing says the sign-in expired');
      t.is(await page.getByRole('link', { name: labels.backToWebsite, exact: true }).getAttribute('href'), HOME);
      t.is(await page.getByRole('link', { name: labels.account, exact: true }).getAttribute('href'), '/account');
      await expectAccessible(t, page, 'the finished sign-in');

      await page.getByRole('link', { name: labels.account, exact: true }).click();
      await heading(page, labels.account).waitFor();
      t.is(new URL(page.url()).pathname, '/account', 'the account page opens without another log-in');
    } finally {
      await context.close();
    }
  });

  test.serial(`${language}: a sign-in that expired in a browser with no JMB session keeps the expired page`, async (t) => {
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      const rp = await RelyingParty.website(e2e.app);
      await page.goto((await rp.start()).url);
      const signIn = page.url();
      await context.clearCookies({ name: '_interaction' });
      await page.goto(signIn);
      await heading(page, labels.expired).waitFor();
      t.is(await page.getByRole('link', { name: labels.startAgain, exact: true }).getAttribute('href'), HOME);
      t.is(await page.getByText(labels.signedIn).count(), 0);
    } finally {
      await context.close();
    }
  });
}

test.serial('a form refused for the member\'s security explains itself, leads back to the form, and offers both languages', async (t) => {
  const member = await createMember(e2e.app.store, { phone: uniquePhone(), country: 'JP' });
  await enrolSoftPasskey(e2e.app.store, member.id, new URL(e2e.app.url).hostname, { name: 'Work laptop' });
  const { context, page } = await newPage(e2e.browser, { locale: english.locale });
  try {
    await page.goto(`${e2e.app.url}/account/passkeys`);
    await fillLogInForm(page, english, member);
    const { body } = await nextSms(e2e.app.dir, member.phone, 0);
    await page.getByLabel(english.code, { exact: true }).fill(codeOf(body));
    await heading(page, english.settings).waitFor();

    for (const labels of [english, japanese]) {
      await page.getByRole('link', { name: labels === english ? 'Rename: Work laptop' : '名前を変更: Work laptop', exact: true }).click();
      await heading(page, labels.renameHeading).waitFor();
      const renamePage = new URL(page.url()).pathname;
      await page.getByLabel(labels.passkeyName, { exact: true }).fill('Home PC');
      // The browser lost the cookie the form is checked against (cleared in another tab, say).
      await context.clearCookies({ name: 'jmb.csrf' });
      await page.getByRole('button', { name: labels.save, exact: true }).click();

      await heading(page, labels.refused).waitFor();
      t.is(await page.locator('main p').first().count(), 1, 'an explanation under a short heading');
      t.true(((await page.locator('h1').textContent()) ?? '').length < 40, 'the heading is short');
      const back = page.getByRole('link', { name: labels.backToPage, exact: true });
      t.is(await back.getAttribute('href'), renamePage, 'the way back is the page the form was on');
      const switcher = page.getByRole('navigation', { name: labels === english ? 'Language' : '言語' });
      t.is(await switcher.getByRole('link').count(), 2, 'the language switch is there after the form post');
      await expectAccessible(t, page, `the refused form (${labels.locale})`);
      t.is((await e2e.app.store.passkeys.listForMember(member.id))[0]?.name, 'Work laptop', 'nothing was changed');

      if (labels === english) {
        // The language switch leads to the same page the way back does, in Japanese.
        await switcher.getByRole('link', { name: '日本語', exact: true }).click();
        await heading(page, japanese.renameHeading).waitFor();
        t.is(new URL(page.url()).pathname, renamePage);
        await page.goto(`${e2e.app.url}/account/passkeys`);
      } else {
        await back.click();
        await heading(page, labels.renameHeading).waitFor();
        await page.getByLabel(labels.passkeyName, { exact: true }).fill('Home PC');
        await page.getByRole('button', { name: labels.save, exact: true }).click();
        await heading(page, labels.settings).waitFor();
        t.is((await e2e.app.store.passkeys.listForMember(member.id))[0]?.name, 'Home PC', 'sent again from the page, the form is accepted');
      }
    }
  } finally {
    await context.close();
  }
});
