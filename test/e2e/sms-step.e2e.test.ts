import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { newPage, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { fillLogInForm } from '../helpers/log-in.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

const e2e = sharedBrowserAndApp();

const CALLBACK = WEBSITE.redirect_uris[0];
const STEP_UP = { acr_values: 'urn:jmb:loa:2' };
const website = () => RelyingParty.website(e2e.app);

const english = {
  locale: 'en-US',
  number: 'JMB membership number',
  password: 'Password',
  submit: 'Log in',
  heading: 'Enter the SMS verification code',
  code: 'SMS verification code',
  verify: 'Verify',
  resend: 'Resend code',
  sms: 'JMB verification code: ',
};
const japanese: typeof english = {
  locale: 'ja-JP',
  number: 'JMBお得意様番号',
  password: 'パスワード',
  submit: 'ログイン',
  heading: 'SMS認証コードを入力してください',
  code: 'SMS認証コード',
  verify: '認証する',
  resend: 'コードを再送信',
  sms: '【JMB】認証コード：',
};

/** A Japanese mobile number no other test uses, so its newest outbox line is this test's code. */
let nextPhone = 1;
const uniquePhone = () => `+81905550${String(nextPhone++).padStart(4, '0')}`;

type Sms = { to: string; body: string; at: string };

/**
 * The newest message to `phone` in the outbox file (one JSON line per message), waiting briefly for
 * it to be written; `after` skips the messages already seen.
 */
async function lastSms(phone: string, after = 0): Promise<{ sms: Sms; code: string; count: number }> {
  const file = path.join(e2e.app.dir, 'sms-outbox.jsonl');
  const deadline = Date.now() + 5_000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const messages = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Sms).filter((m) => m.to === phone);
    if (messages.length > after) {
      const sms = messages.at(-1)!;
      const code = /^@[^\s#]+ #(\d{6})$/.exec(sms.body.split('\n').at(-1) ?? '')?.[1];
      if (!code) throw new Error(`the last line of the SMS is not "@host #code": ${JSON.stringify(sms.body)}`);
      return { sms, code, count: messages.length };
    }
    if (Date.now() > deadline) throw new Error(`no SMS to ${phone} in ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Opens the authorization request with a step-up, logs in with number and password, and waits for the SMS step. */
/** Enters `code` on the SMS step and checks the relying party gets a step-up ID token for the member. */
async function verifyAndExpectStepUp(
  t: ExecutionContext,
  page: Page,
  labels: typeof english,
  code: string,
  { rp, flow }: Awaited<ReturnType<typeof toSmsStep>>,
  memberId: string,
) {
  const callback = waitForRelyingPartyCallback(page, CALLBACK);
  // Six digits are the whole code: the page sends it without waiting for "Verify".
  await page.getByLabel(labels.code, { exact: true }).fill(code);
  const claims = (await rp.redeem(await callback, flow)).claims()!;
  t.is(claims.sub, memberId);
  t.is(claims.acr, 'urn:jmb:loa:2');
  t.deepEqual(claims.amr, ['pwd', 'sms', 'otp', 'mfa']);
}

async function toSmsStep(page: Page, labels: typeof english, member: { number: string; password: string }) {
  const rp = await website();
  const flow = await rp.start(STEP_UP);
  await page.goto(flow.url);
  await fillLogInForm(page, labels, member);
  await page.getByRole('heading', { name: labels.heading, exact: true }).waitFor();
  return { rp, flow };
}

for (const [language, labels] of [['English', english], ['Japanese', japanese]] as const) {
  test.serial(`a password log-in with step-up on the ${language} page asks for the SMS code and gives the website acr loa:2`, async (t) => {
    const member = await createMember(e2e.app.store, { phone: uniquePhone(), country: 'JP' });
    const { context, page } = await newPage(e2e.browser, { locale: labels.locale });
    try {
      const { rp, flow } = await toSmsStep(page, labels, member);
      t.regex(page.url(), /\/interaction\/[^/?]+$/, 'the SMS step is part of the same sign-in');
      t.is(await page.locator('html').getAttribute('lang'), labels.locale.slice(0, 2));
      t.true(await page.getByText(member.phone.slice(-4)).first().isVisible(), 'the page names the phone by its last digits');
      t.false((await page.locator('body').textContent())!.includes(member.phone.slice(3, 9)), 'the rest of the number is hidden');
      t.true(await page.getByRole('button', { name: labels.resend, exact: true }).isVisible());

      const { sms, code } = await lastSms(member.phone);
      t.true(sms.body.startsWith(`${labels.sms}${code}`), `the SMS is in ${language}: ${JSON.stringify(sms.body)}`);
      // The origin-bound line names the host alone, without the test IdP's port.
      const boundTo = /^@([^\s:#]+) #(\d{6})$/.exec(sms.body.split('\n').at(-1)!);
      t.deepEqual(boundTo?.slice(1), [new URL(e2e.app.url).hostname, code], 'the last line binds the code to the IdP host');

      await verifyAndExpectStepUp(t, page, labels, code, { rp, flow }, member.id);
    } finally {
      await context.close();
    }
  });
}

test.serial('a wrong SMS code shows the alert with the tries left, and the right code still works', async (t) => {
  const member = await createMember(e2e.app.store, { phone: uniquePhone(), country: 'JP' });
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  try {
    const { rp, flow } = await toSmsStep(page, english, member);
    const { code, count } = await lastSms(member.phone);
    const wrong = code === '000000' ? '111111' : '000000';

    const refused = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/sms/verify'));
    await page.getByLabel(english.code, { exact: true }).fill(wrong);
    t.is((await refused).status(), 400, 'six digits were sent without pressing Verify');

    const alert = page.getByRole('alert');
    await alert.waitFor();
    t.is((await alert.textContent())?.trim(), 'The code is not correct. 4 tries left for this code.');
    const field = page.getByLabel(english.code, { exact: true });
    t.is(await field.getAttribute('aria-invalid'), 'true', 'the field is marked as wrong');
    t.is(await page.evaluate(() => document.activeElement?.id), 'sms-error', 'the alert takes the focus, so a screen reader reads it');
    t.is((await lastSms(member.phone)).count, count, 'a wrong code sends no new SMS');

    await verifyAndExpectStepUp(t, page, english, code, { rp, flow }, member.id);
  } finally {
    await context.close();
  }
});
