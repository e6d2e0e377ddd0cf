import test from 'ava';
import type { Page } from 'playwright-core';
import { expectAccessible } from '../helpers/axe.ts';
import { addVirtualAuthenticator, newPage, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { fillLogInForm } from '../helpers/log-in.ts';
import { codeOf, nextSms } from '../helpers/outbox.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

// The passkey offer after a password log-in is on here, as in production.
const e2e = sharedBrowserAndApp({ env: { PASSKEY_OFFER: 'on' }, clients: [{ ...WEBSITE, client_name: 'JMB website' }] });
const CALLBACK = WEBSITE.redirect_uris[0]!;
const website = () => RelyingParty.website(e2e.app);
const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true });

let nextPhone = 1;
const eligible = () => createMember(e2e.app.store, { phone: `+8170${String(process.pid % 10000).padStart(4, '0')}${String(nextPhone++).padStart(4, '0')}`, country: 'JP' });

/** After the browser was sent to the relying party (whose host does not resolve here), lets that navigation settle. */
async function settled(page: Page, callback: Promise<string>): Promise<string> {
  const url = await callback;
  for (const deadline = Date.now() + 3_000; Date.now() < deadline && !page.url().startsWith('chrome-error:');) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return url;
}

/** Opens the website's sign-in and logs in with member number and password. */
async function logInWithPassword(page: Page, member: { number: string; password: string }, params: Record<string, string> = {}) {
  const rp = await website();
  const flow = await rp.start(params);
  await page.goto(flow.url);
  const callback = settled(page, waitForRelyingPartyCallback(page, CALLBACK)).catch(() => undefined);
  await fillLogInForm(page, { number: 'JMB membership number', password: 'Password', submit: 'Log in' }, member);
  return { rp, flow, callback };
}

test.serial('a member is offered a passkey after a password log-in, sets it up in place, arrives at the website, and logs in with it next time', async (t) => {
  const member = await eligible();
  const { context, page } = await newPage(e2e.browser);
  try {
    await addVirtualAuthenticator(context, page, { transport: 'internal', hasUserVerification: true, isUserVerified: true });
    const { rp, flow } = await logInWithPassword(page, member);
    await heading(page, 'Log in faster next time with a passkey').waitFor();
    await expectAccessible(t, page, 'the offer');

    await page.getByRole('button', { name: 'Set up a passkey', exact: true }).click();
    await heading(page, 'Enter the SMS verification code').waitFor();
    await expectAccessible(t, page, 'the SMS step of the offer');
    const { body } = await nextSms(e2e.app.dir, member.phone, 0);
    await page.getByLabel('SMS verification code', { exact: true }).fill(codeOf(body));

    await heading(page, 'Create your passkey').waitFor();
    await expectAccessible(t, page, 'the device prompt page');
    await page.getByRole('button', { name: 'Create passkey', exact: true }).click();
    await heading(page, 'Passkey registered').waitFor();
    await expectAccessible(t, page, '"Passkey registered" in the sign-in');
    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await page.getByRole('button', { name: 'Continue to JMB website', exact: true }).click();
    const claims = (await rp.redeem(await settled(page, callback), flow)).claims()!;
    t.is(claims.sub, member.id);
    t.is(claims.acr, 'urn:jmb:loa:2', 'password and SMS were proved');
    t.is((await e2e.app.store.passkeys.listForMember(member.id)).length, 1);

    // Next time: the log-in page's autofill request finds the new passkey on this device.
    const next = await rp.start({ prompt: 'login' });
    const passkeyCallback = waitForRelyingPartyCallback(page, CALLBACK);
    await page.goto(next.url);
    t.is((await rp.redeem(await passkeyCallback, next)).claims()!.acr, 'phr');
  } finally {
    await context.close();
  }
});

test.serial('"Not now" goes on to the website at once, and the next log-in is not offered one', async (t) => {
  const member = await eligible();
  const { context, page } = await newPage(e2e.browser, { locale: 'ja-JP' });
  try {
    await addVirtualAuthenticator(context, page, { transport: 'internal', hasUserVerification: true, isUserVerified: true });
    const rp = await website();
    const flow = await rp.start();
    await page.goto(flow.url);
    await page.getByLabel('JMBお得意様番号', { exact: true }).fill(member.number);
    await page.getByLabel('パスワード', { exact: true }).fill(member.password);
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
    await heading(page, '次回からパスキーでかんたんにログインしませんか？').waitFor();
    await expectAccessible(t, page, 'the offer in Japanese');
    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await page.getByRole('button', { name: '今はしない', exact: true }).click();
    t.is((await rp.redeem(await settled(page, callback), flow)).claims()!.sub, member.id);

    const next = await rp.start({ prompt: 'login' });
    await page.goto(next.url);
    await page.getByLabel('JMBお得意様番号', { exact: true }).fill(member.number);
    await page.getByLabel('パスワード', { exact: true }).fill(member.password);
    const straight = settled(page, waitForRelyingPartyCallback(page, CALLBACK));
    await page.getByRole('button', { name: 'ログイン', exact: true }).click();
    t.truthy(await straight, 'the next log-in goes straight to the website');
  } finally {
    await context.close();
  }
});

test.serial('a browser without a platform authenticator never sees the offer', async (t) => {
  const member = await eligible();
  const { context, page } = await newPage(e2e.browser);
  try {
    const { callback } = await logInWithPassword(page, member);
    t.truthy(await callback, 'the page moved on to the website by itself');
    const trail = (await e2e.app.store.audit.listForMember(member.id, 10)).map((event) => event.type);
    t.true(trail.includes('passkey_offer.skipped'));
    t.false(trail.includes('passkey_offer.dismissed'), 'nothing is remembered against the member');
  } finally {
    await context.close();
  }
});

test.serial('an autofill request the browser ends shows no alert, and a wrong password shows exactly one', async (t) => {
  const member = await eligible();
  const { context, page } = await newPage(e2e.browser);
  try {
    // The browser ends the autofill (conditional) request at once, as it does when it has nothing to offer.
    await page.addInitScript(() => {
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (options?: CredentialRequestOptions) => (options?.mediation === 'conditional'
        ? Promise.reject(new DOMException('The operation either timed out or was not allowed.', 'NotAllowedError'))
        : get(options));
    });
    const rp = await website();
    await page.goto((await rp.start()).url);
    await heading(page, 'Log in to JMB').waitFor();
    await page.waitForTimeout(300);
    t.is(await page.getByRole('alert').count(), 0, 'no alert on a page the member has not touched');
    await expectAccessible(t, page, 'the log-in page');

    await page.getByLabel('JMB membership number', { exact: true }).fill(member.number);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('alert').first().waitFor();
    await page.waitForTimeout(300);
    const alerts = page.locator('[role="alert"]:visible');
    t.is(await alerts.count(), 1, 'one alert, the wrong password\'s');
    t.regex((await alerts.first().textContent()) ?? '', /membership number or password is incorrect/i);
    await expectAccessible(t, page, 'the log-in page with an error');
  } finally {
    await context.close();
  }
});
