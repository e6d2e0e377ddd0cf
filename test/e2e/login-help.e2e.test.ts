import test from 'ava';
import type { Page } from 'playwright-core';
import { accessibilityViolations } from '../helpers/axe.ts';
import { Browser as FormClient, hiddenField } from '../helpers/browser.ts';
import { newPage, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { fillLogInForm } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

// The IdP's clock: 13:34:51.5 in Tokyo, so that a wait of 30 s runs until 13:35:21.5.
const START = Date.parse('2026-04-01T04:34:51.500Z');
let now = START;
const RESET = 'https://jmb.example/password-reset';
const CONTACT = 'JMB desk: 0570-025-071 (9:00–17:30)';
const e2e = sharedBrowserAndApp({
  clock: () => now,
  env: { LOGIN_MAX_FAILURES_PER_MEMBER: '2', LOGIN_WAIT_BASE_SECONDS: '30', PASSWORD_HELP_URL: RESET, SUPPORT_CONTACT: CONTACT },
});
const website = () => RelyingParty.website(e2e.app);

const english = {
  locale: 'en-US', number: 'JMB membership number', password: 'Password', submit: 'Log in', forgot: 'Forgot your password or membership number?',
  reset: 'Look up your number or reset your password', back: 'Back', passkey: 'Log in with passkey', wayIn: 'Verify with SMS to log in now',
  triesLeft: 'The membership number or password is incorrect. You have 2 more tries before you have to wait.',
  waiting: 'Too many unsuccessful attempts. Please try again after 1:36 PM (JST).',
  countdown: 'You can try again in 0:16.', again: 'You can try again now.',
  passkeyWay: 'You do not have to wait to log in with a passkey: use “Log in with passkey”.',
};
const japanese: typeof english = {
  locale: 'ja-JP', number: 'JMBお得意様番号', password: 'パスワード', submit: 'ログイン', forgot: 'お得意様番号・パスワードをお忘れの方',
  reset: 'お得意様番号の確認・パスワードの再設定', back: '戻る', passkey: 'パスキーでログイン', wayIn: 'SMS認証ですぐにログイン',
  triesLeft: 'お得意様番号またはパスワードが正しくありません。あと2回間違えると、一定時間パスワードでログインできなくなります。',
  waiting: 'ログインの失敗が続いたため、一時的にご利用いただけません。日本時間13:36以降にもう一度お試しください。',
  countdown: 'あと0:16でもう一度お試しいただけます。', again: 'もう一度お試しいただけます。',
  passkeyWay: 'パスキーでのログインはお待ちいただく必要はありません。「パスキーでログイン」をご利用ください。',
};

/** What an element says, its spaces (a narrow no-break space in "1:36 PM") as plain ones. */
const said = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim();

/** Strangers' wrong passwords on `number` until every browser the member never used has to wait. */
async function holdNumber(number: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const stranger = new FormClient(e2e.app.url);
    const { final, url } = await stranger.follow((await (await website()).start()).url);
    await stranger.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password: 'a stranger guesses' });
  }
}

let day = 0;
/** Each test on a day of its own: the client address's failures of one test never reach the next. */
const nextDay = () => {
  now = START + ++day * 24 * 3_600_000;
};

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  test.serial(`in ${language}: "Forgot your password or membership number?" leads to the reset path and the desk, and Back returns to the sign-in`, async (t) => {
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      await page.goto((await (await website()).start()).url);
      const signIn = page.url();
      await page.getByRole('link', { name: labels.forgot, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: labels.forgot, exact: true }).waitFor();
      t.is(await page.getByRole('link', { name: labels.reset, exact: true }).getAttribute('href'), RESET);
      t.true(await page.getByText(CONTACT, { exact: true }).isVisible(), 'the desk\'s contact is shown');
      t.deepEqual(await accessibilityViolations(page), [], 'the help page meets WCAG A and AA');

      await page.getByRole('link', { name: labels.back, exact: true }).click();
      await page.getByLabel(labels.number, { exact: true }).waitFor();
      t.is(page.url(), signIn, 'Back returns to the same sign-in');
    } finally {
      await context.close();
    }
  });

  test.serial(`in ${language}: a wrong password says how many tries are left before a wait`, async (t) => {
    nextDay();
    const member = await createMember(e2e.app.store);
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      await page.goto((await (await website()).start()).url);
      await fillLogInForm(page, labels, { number: member.number, password: 'not the password' });
      const alert = page.locator('#login-error');
      await alert.waitFor();
      t.is(await said(page, '#login-error'), labels.triesLeft);
      t.deepEqual(await accessibilityViolations(page), [], 'the page with the tries left meets WCAG A and AA');
    } finally {
      await context.close();
    }
  });

  test.serial(`in ${language}: a wait shows the time rounded up, counts down, names the ways round it, and lets the member try again at zero`, async (t) => {
    nextDay();
    const member = await createMember(e2e.app.store);
    await holdNumber(member.number);
    now += 14_500; // 13:35:06 in Tokyo: the wait has 15.5 s left.
    const rp = await website();
    const flow = await rp.start();
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      // The page's clock stands still unless the test moves it.
      await page.clock.install({ time: START });
      await page.clock.pauseAt(START + 1_000);
      await page.goto(flow.url);
      const refused = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/login'));
      await fillLogInForm(page, labels, { number: member.number, password: member.password });
      t.is((await refused).status(), 429);

      await page.locator('#login-error').waitFor();
      t.is(await said(page, '#login-error'), labels.waiting, 'the time shown is the first minute a try is sure to be accepted');
      const countdown = page.locator('#wait-countdown');
      await countdown.waitFor();
      t.is(await said(page, '#wait-countdown'), labels.countdown);
      const submit = page.getByRole('button', { name: labels.submit, exact: true });
      t.true(await submit.isDisabled(), 'the form waits with the member');
      t.true(await page.getByText(labels.passkeyWay, { exact: true }).isVisible(), 'the passkey is named as a way round the wait');
      t.true(await page.getByRole('button', { name: labels.passkey, exact: true }).isEnabled());
      t.true(await page.getByRole('button', { name: labels.wayIn, exact: true }).isVisible(), 'and the SMS way in');

      await page.clock.runFor(5_000);
      t.is(await said(page, '#wait-countdown'), labels.countdown.replace('0:16', '0:11'), 'the countdown runs');
      t.is(await said(page, '#wait-status'), '', 'nothing is announced while it runs');

      await page.clock.runFor(11_000);
      const status = page.getByRole('status').filter({ hasText: labels.again });
      await status.waitFor();
      t.true(await countdown.isHidden());
      t.true(await page.locator('#login-error').isHidden(), 'the wait\'s message is gone with the wait');
      t.true(await page.getByText(labels.passkeyWay, { exact: true }).isHidden(), 'and so are the ways round it');
      t.true(await page.getByRole('button', { name: labels.wayIn, exact: true }).isHidden());
      t.true(await submit.isEnabled(), 'the form is usable again');
      // axe waits on the page's timers: they run with the clock again.
      await page.clock.resume();
      t.deepEqual(await accessibilityViolations(page), [], 'the page after the wait meets WCAG A and AA');

      now += 16_000;
      const callback = waitForRelyingPartyCallback(page, WEBSITE.redirect_uris[0]!);
      await page.getByLabel(labels.password, { exact: true }).fill(member.password);
      await submit.click();
      t.is((await rp.redeem(await callback, flow)).claims()!.sub, member.id);
    } finally {
      await context.close();
    }
  });
}

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  for (const [size, viewport] of [['a phone', { width: 390, height: 844 }], ['a desktop', { width: 1280, height: 800 }]] as const) {
    test.serial(`in ${language} on ${size}: the page with a wait fits the screen, passes the accessibility check, and another number can be tried at once`, async (t) => {
      nextDay();
      const member = await createMember(e2e.app.store);
      await holdNumber(member.number);
      const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
      try {
        await page.setViewportSize(viewport);
        await page.goto((await (await website()).start()).url);
        await fillLogInForm(page, labels, { number: member.number, password: member.password });
        await page.locator('#wait-countdown').waitFor();
        t.true(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal scrolling');
        t.deepEqual(await accessibilityViolations(page), [], 'the page with the wait meets WCAG A and AA');
        const submit = page.getByRole('button', { name: labels.submit, exact: true });
        t.true(await submit.isDisabled());
        await page.getByLabel(labels.number, { exact: true }).fill('300000999');
        t.true(await submit.isEnabled(), 'another number does not wait for this one');
      } finally {
        await context.close();
      }
    });
  }
}
