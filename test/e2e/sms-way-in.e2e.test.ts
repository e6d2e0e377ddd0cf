import test from 'ava';
import { accessibilityViolations } from '../helpers/axe.ts';
import { Browser as FormClient } from '../helpers/browser.ts';
import { holdScript, newPage, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { fillLogInForm, submitPassword } from '../helpers/log-in.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

const sms = new MemorySms();
const e2e = sharedBrowserAndApp({ sms, env: { LOGIN_MAX_FAILURES_PER_MEMBER: '1', LOGIN_WAIT_BASE_SECONDS: '600' } });
const website = () => RelyingParty.website(e2e.app);

const english = {
  locale: 'en-US', number: 'JMB membership number', password: 'Password', submit: 'Log in', wayIn: 'Verify with SMS to log in now',
  code: 'SMS verification code', verified: 'Thank you. This browser is confirmed as yours: enter your password to log in.',
};
const japanese: typeof english = {
  locale: 'ja-JP', number: 'JMBお得意様番号', password: 'パスワード', submit: 'ログイン', wayIn: 'SMS認証ですぐにログイン',
  code: 'SMS認証コード', verified: '本人確認が完了しました。パスワードを入力してログインしてください。',
};

let nextPhone = 1;

/** Strangers' wrong passwords, until the member number waits for browsers the member never used. */
async function holdNumber(number: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await submitPassword(new FormClient(e2e.app.url), await website(), { number, password: 'a stranger guesses' });
  }
}

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  test.serial(`in ${language}: a member facing a wait verifies by SMS, then logs in with the password on this new browser`, async (t) => {
    const member = await createMember(e2e.app.store, { phone: `+81907770${String(nextPhone++).padStart(4, '0')}` });
    await holdNumber(member.number);
    const rp = await website();
    const flow = await rp.start();
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      await page.goto(flow.url);
      const refused = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/login'));
      await fillLogInForm(page, labels, member);
      t.is((await refused).status(), 429, 'the member waits on a browser they never used');

      const wayIn = page.getByRole('button', { name: labels.wayIn, exact: true });
      await wayIn.waitFor();
      t.deepEqual(await accessibilityViolations(page), [], 'the log-in page with the way in meets WCAG A and AA');
      // The phone may fill the code in before the page's script has run: it still counts.
      const releaseScript = await holdScript(page, '**/assets/sms-step.js');
      await wayIn.click();
      const code = page.getByLabel(labels.code, { exact: true });
      await code.waitFor();
      t.is(sms.sent.at(-1)?.to, member.phone);
      await code.fill(sms.lastCode(member.phone));
      releaseScript();

      // The page sends the form by itself once six digits are in.
      const notice = page.getByRole('status').filter({ hasText: labels.verified });
      await notice.waitFor();
      t.is(await page.getByLabel(labels.number, { exact: true }).inputValue(), member.number, 'back on the log-in page with the number kept');
      t.true((await context.cookies()).some((cookie) => cookie.name === 'jmb.device'), 'this browser is now known to the member');

      const callback = waitForRelyingPartyCallback(page, WEBSITE.redirect_uris[0]);
      await page.getByLabel(labels.password, { exact: true }).fill(member.password);
      await page.getByRole('button', { name: labels.submit, exact: true }).click();
      t.is((await rp.redeem(await callback, flow)).claims()!.sub, member.id);
    } finally {
      await context.close();
    }
  });
}
