/**
 * Log-out that means what it says, in Chromium: the website's "Log out" logs out at once and returns
 * to the website; the question "Log out of JMB?" stays for a log-out that does not identify the
 * member's session; "Stay logged in" returns where the member came from, logged in, and says so.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { expectAccessible } from '../helpers/axe.ts';
import { newPage } from '../helpers/chromium.ts';
import { sharedBrowserAndDemoSite } from '../helpers/e2e.ts';
import { fillLogInForm } from '../helpers/log-in.ts';
import { createMember } from '../helpers/test-app.ts';

const e2e = sharedBrowserAndDemoSite();

const english = {
  locale: 'en-US',
  number: 'JMB membership number',
  password: 'Password',
  submit: 'Log in',
  account: 'Manage your account',
  logOutHere: 'Log out of this device',
  question: 'Log out of JMB?',
  logOut: 'Log out',
  stay: 'Stay logged in',
  stillLoggedIn: 'You are still logged in.',
  loggedOut: 'You have been logged out.',
};
const japanese: typeof english = {
  locale: 'ja-JP',
  number: 'JMBお得意様番号',
  password: 'パスワード',
  submit: 'ログイン',
  account: 'アカウント管理',
  logOutHere: 'この端末でログアウト',
  question: 'JMBからログアウトしますか？',
  logOut: 'ログアウト',
  stay: 'ログインしたままにする',
  stillLoggedIn: '引き続きログインしています。',
  loggedOut: 'ログアウトしました。',
};
type Labels = typeof english;

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });

/** "Manage your account" opened directly at the IdP, logging in there. */
async function logInAtAccountPage(page: Page, labels: Labels, member: { number: string; password: string }): Promise<void> {
  await page.goto(`${e2e.app.url}/account`);
  await fillLogInForm(page, labels, member);
  await heading(page, labels.account).waitFor();
}

/** Logs in at the demo website, through the IdP's log-in page. */
async function logInAtWebsite(page: Page, member: { number: string; password: string }): Promise<void> {
  await page.goto(`${e2e.site.url}/`);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await fillLogInForm(page, english, member);
  await atWebsite(page, 'Log out');
}

/** On the demo website's home page, with `button` ("Log in" or "Log out") on it. */
async function atWebsite(page: Page, button: 'Log in' | 'Log out'): Promise<void> {
  await page.waitForURL((url) => url.origin === e2e.site.url && url.pathname === '/');
  await page.getByRole('button', { name: button, exact: true }).waitFor();
}

/** Whether the IdP still has the member logged in in this browser: the account page opens without a log-in. */
async function loggedInAtIdp(page: Page, labels: Labels = english): Promise<boolean> {
  await page.goto(`${e2e.app.url}/account`);
  await page.waitForLoadState('domcontentloaded');
  if (page.url().startsWith(`${e2e.app.url}/interaction/`)) return false;
  await heading(page, labels.account).waitFor();
  return true;
}

/** Counts the times the IdP showed the log-out question (a page at /session/end answered 200). */
function countQuestions(page: Page): () => number {
  let count = 0;
  page.on('response', (response) => {
    const { origin, pathname } = new URL(response.url());
    if (origin === e2e.app.url && pathname === '/session/end' && response.status() === 200 && response.request().isNavigationRequest()) count += 1;
  });
  return () => count;
}

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  test.serial(`${language}: "Stay logged in" on the question from the account page returns to the account page, logged in, and says so`, async (t) => {
    const member = await createMember(e2e.app.store);
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      await logInAtAccountPage(page, labels, member);
      await page.getByRole('link', { name: labels.logOutHere, exact: true }).click();
      await heading(page, labels.question).waitFor();
      await expectAccessible(t, page, 'the log-out question');

      await page.getByRole('link', { name: labels.stay, exact: true }).click();
      await heading(page, labels.account).waitFor();
      t.is(new URL(page.url()).pathname, '/account', 'back on the account page');
      t.is((await page.getByRole('status').textContent())?.trim(), labels.stillLoggedIn);
      t.is(await page.getByText(labels.loggedOut).count(), 0, 'nothing says the member was logged out');
      await expectAccessible(t, page, 'the account page after "Stay logged in"');
      t.true(await loggedInAtIdp(page, labels), 'the member is still logged in');

      // "Log out" on the same question does log out, and says so.
      await page.getByRole('link', { name: labels.logOutHere, exact: true }).click();
      await page.getByRole('button', { name: labels.logOut, exact: true }).click();
      await heading(page, labels.loggedOut).waitFor();
      t.false(await loggedInAtIdp(page, labels), 'the member is logged out');
    } finally {
      await context.close();
    }
  });
}

test.serial("the website's Log out logs out of the website and JMB at once, without asking again", async (t) => {
  const member = await createMember(e2e.app.store);
  const { context, page } = await newPage(e2e.browser);
  try {
    await logInAtWebsite(page, member);
    const questions = countQuestions(page);
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await atWebsite(page, 'Log in');
    t.is((await page.getByRole('status').textContent())?.trim(), 'You have logged out of the JMB website.');
    t.is(questions(), 0, 'the IdP did not ask "Log out of JMB?"');
    t.false(await loggedInAtIdp(page), 'the IdP session ended too');
  } finally {
    await context.close();
  }
});

test.serial('when the website\'s log-out does not match the JMB session, the question is asked and "Stay logged in" leaves both logged in', async (t) => {
  const member = await createMember(e2e.app.store);
  const { context, page } = await newPage(e2e.browser);
  try {
    await logInAtWebsite(page, member);
    // The JMB session the website's log-in made is gone from this browser, and the member logs in
    // to JMB again: the website's ID token belongs to the earlier session, not to this one.
    await context.clearCookies({ name: /^_session/ });
    await logInAtAccountPage(page, english, member);

    await page.goto(`${e2e.site.url}/`);
    const questions = countQuestions(page);
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await heading(page, english.question).waitFor();
    t.is(questions(), 1);
    await page.getByRole('link', { name: english.stay, exact: true }).click();
    await atWebsite(page, 'Log out');
    t.regex((await page.locator('body').textContent()) ?? '', /Welcome, /, 'the website still has the member logged in');
    t.true(await loggedInAtIdp(page), 'and so does JMB');

    // Answering "Log out" logs out of both.
    await page.goto(`${e2e.site.url}/`);
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByRole('button', { name: english.logOut, exact: true }).click();
    await atWebsite(page, 'Log in');
    t.is((await page.getByRole('status').textContent())?.trim(), 'You have logged out of the JMB website.');
    t.false(await loggedInAtIdp(page), 'JMB logged out too');
  } finally {
    await context.close();
  }
});

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  test.serial(`${language}: the account page says "Log out of this device" for its own session and "Log out" for each other one`, async (t) => {
    const member = await createMember(e2e.app.store);
    const elsewhere = await newPage(e2e.browser, { locale: labels.locale });
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      await logInAtAccountPage(elsewhere.page, labels, member);
      await logInAtAccountPage(page, labels, member);
      t.is(await page.getByRole('link', { name: labels.logOutHere, exact: true }).count(), 1);
      const others = page.locator('.session-row button');
      t.is(await others.count(), 1, 'one other session, one button');
      t.is((await others.textContent())?.trim(), labels.logOut);
      t.is(await page.getByRole('link', { name: labels.logOut, exact: true }).count(), 0, 'no second action reads just "Log out"');
    } finally {
      await context.close();
      await elsewhere.context.close();
    }
  });
}
