import test from 'ava';
import type { Page, Request } from 'playwright-core';
import {
  addCredential,
  addVirtualAuthenticator,
  credentialsOnceSettled,
  getCredentials,
  withoutAutofill,
  newPage,
  toCdpBinary,
  waitForRelyingPartyCallback,
  type VirtualAuthenticator,
} from '../helpers/chromium.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey, userHandleOf } from '../helpers/soft-authenticator.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

const e2e = sharedBrowserAndApp();

const CALLBACK = WEBSITE.redirect_uris[0];
const website = () => RelyingParty.website(e2e.app);

const BUTTON = { en: 'Log in with passkey', ja: 'パスキーでログイン' };
const UNKNOWN_CREDENTIAL = 'This passkey is not registered with JMB. It may have been deleted. Log in with your membership number and password.';
const IN_APP_GUIDANCE = 'Passkeys cannot be used in the browser built into this app. To log in with a passkey, open the website in Safari or Chrome and log in there.';


/** Counts the requests for passkey options, i.e. the ceremonies the page started. */
function countPasskeyCeremonies(page: Page): () => number {
  let count = 0;
  page.on('request', (request: Request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname.endsWith('/passkey/options')) count += 1;
  });
  return () => count;
}

/**
 * A passkey the member registered earlier, now held by the browser's virtual authenticator. With
 * `registered: false` the device has it but the IdP does not (deleted, or never finished).
 */
async function givePasskey(authenticator: VirtualAuthenticator, memberId: string, options: { synced: boolean; registered?: boolean }): Promise<SoftPasskey> {
  const passkey = new SoftPasskey({ rpId: 'localhost', userHandle: userHandleOf(memberId), synced: options.synced });
  if (options.registered !== false) await e2e.app.store.passkeys.create(passkey.record(memberId));
  await addCredential(authenticator, {
    credentialId: toCdpBinary(passkey.id),
    isResidentCredential: true,
    rpId: 'localhost',
    privateKey: passkey.privateKeyPkcs8().toString('base64'),
    userHandle: toCdpBinary(passkey.userHandle),
    signCount: 0,
    backupEligibility: options.synced,
    backupState: options.synced,
  });
  return passkey;
}

for (const synced of [false, true]) {
  const kind = synced ? 'synced' : 'device-bound';
  const keyAmr = synced ? 'swk' : 'hwk';
  test.serial(`a member logs in with the passkey button (${kind} passkey) and the website gets acr phr and amr ${keyAmr}`, async (t) => {
    const member = await createMember(e2e.app.store);
    const rp = await website();
    const flow = await rp.start();
    const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
    try {
      const authenticator = await addVirtualAuthenticator(context, page, { defaultBackupEligibility: synced, defaultBackupState: synced });
      const passkey = await givePasskey(authenticator, member.id, { synced });
      await withoutAutofill(page);
      const ceremonies = countPasskeyCeremonies(page);

      await page.goto(flow.url);
      const button = page.getByRole('button', { name: BUTTON.en, exact: true });
      await button.waitFor();
      t.is(ceremonies(), 0, 'without autofill nothing starts until the member presses the button');

      const callback = waitForRelyingPartyCallback(page, CALLBACK);
      await button.click();
      const callbackUrl = await callback;
      t.is(ceremonies(), 1, 'the button started exactly one ceremony');

      const claims = (await rp.redeem(callbackUrl, flow)).claims()!;
      t.is(claims.sub, member.id);
      t.is(claims.acr, 'phr');
      const amr = claims.amr as string[];
      t.true(amr.includes('user'), `amr ${JSON.stringify(amr)} has user`);
      t.true(amr.includes('mfa'), `amr ${JSON.stringify(amr)} has mfa`);
      t.true(amr.includes(keyAmr), `amr ${JSON.stringify(amr)} has ${keyAmr}`);
      t.false(amr.includes(synced ? 'hwk' : 'swk'), `amr ${JSON.stringify(amr)} does not claim the other kind of key`);
      t.false(amr.includes('pwd'));

      const [held] = await getCredentials(authenticator);
      t.is(held?.credentialId, toCdpBinary(passkey.id), 'the IdP still accepts the passkey, so the device keeps it');
      t.is(held?.signCount, 1, 'the authenticator signed once');
      t.is(held?.userName, member.number, 'the device now lists the passkey under the membership number');
      t.is(held?.userDisplayName, member.name, 'and under the member\'s name');
      t.is((await e2e.app.store.passkeys.findById(passkey.id))?.counter, 1, 'the IdP recorded the use');
    } finally {
      await context.close();
    }
  });
}

test.serial('with passkey autofill, opening the log-in page logs the member in by itself: acr phr', async (t) => {
  const member = await createMember(e2e.app.store);
  const rp = await website();
  const flow = await rp.start();
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  try {
    const authenticator = await addVirtualAuthenticator(context, page);
    await givePasskey(authenticator, member.id, { synced: false });
    const ceremonies = countPasskeyCeremonies(page);

    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await page.goto(flow.url);
    const callbackUrl = await callback;
    t.is(ceremonies(), 1, 'the single autofill request did it, no button press');

    const claims = (await rp.redeem(callbackUrl, flow)).claims()!;
    t.is(claims.sub, member.id);
    t.is(claims.acr, 'phr');
    t.deepEqual([...(claims.amr as string[])].sort(), ['hwk', 'mfa', 'user']);
  } finally {
    await context.close();
  }
});

test.serial('a passkey the IdP no longer knows is refused with the alert, and the device forgets it', async (t) => {
  const member = await createMember(e2e.app.store);
  const flow = await (await website()).start();
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  try {
    const authenticator = await addVirtualAuthenticator(context, page);
    const passkey = await givePasskey(authenticator, member.id, { synced: false });
    // The member deleted it from their JMB account on another device.
    t.true(await e2e.app.store.passkeys.remove(member.id, passkey.id));
    await withoutAutofill(page);
    await page.goto(flow.url);

    const refused = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/passkey'));
    await page.getByRole('button', { name: BUTTON.en, exact: true }).click();
    t.is((await refused).status(), 401);

    const alert = page.locator('#passkey-alert');
    await alert.waitFor({ state: 'visible' });
    t.is(await alert.getAttribute('role'), 'alert');
    t.is((await alert.textContent())?.trim(), UNKNOWN_CREDENTIAL);
    t.regex(page.url(), /\/interaction\/[^/?]+$/, 'the member stays on the log-in page');
    t.true(await page.getByLabel('JMB membership number', { exact: true }).isVisible(), 'the number and password form is still there');

    // The page tells the device with PublicKeyCredential.signalUnknownCredential, and Chromium's
    // virtual authenticator removes the credential as a real passkey provider would.
    const left = await credentialsOnceSettled(authenticator, (ids) => ids.length === 0);
    t.deepEqual(left, [], 'the device no longer offers the deleted passkey');
  } finally {
    await context.close();
  }
});

for (const [appName, userAgent] of [
  ['LINE', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.1.0'],
  ['Facebook', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/480.0.0.36.108]'],
] as const) {
  test.serial(`in the ${appName} in-app browser the page explains where passkeys work and offers the website's address instead of the button`, async (t) => {
    const flow = await (await website()).start();
    const { context, page } = await newPage(e2e.browser, { locale: 'en-US', userAgent });
    try {
      const ceremonies = countPasskeyCeremonies(page);
      await page.goto(flow.url);
      const guidance = page.locator('#inapp-guidance');
      await guidance.waitFor({ state: 'visible' });
      t.true(await page.getByText(IN_APP_GUIDANCE, { exact: true }).isVisible());

      const address = page.getByLabel('Address of the website', { exact: true });
      t.true(await address.isVisible());
      // This sign-in is tied to the in-app browser's cookies, so the member starts again at the website.
      t.is(await address.inputValue(), 'https://rp.example.com/', 'the field holds the relying party site to open elsewhere');
      t.true(await page.getByRole('button', { name: 'Copy address', exact: true }).isVisible());

      t.is(await page.getByRole('button', { name: BUTTON.en }).count(), 0, 'no passkey button');
      t.is(ceremonies(), 0, 'no passkey request is started');
      t.true(await page.getByLabel('JMB membership number', { exact: true }).isVisible(), 'the password log-in is still offered');
    } finally {
      await context.close();
    }
  });
}

test.serial('on a Japanese browser the button reads パスキーでログイン and logs the member in', async (t) => {
  const member = await createMember(e2e.app.store);
  const rp = await website();
  const flow = await rp.start();
  const { context, page } = await newPage(e2e.browser, { locale: 'ja-JP' });
  try {
    const authenticator = await addVirtualAuthenticator(context, page);
    await givePasskey(authenticator, member.id, { synced: false });
    await withoutAutofill(page);
    await page.goto(flow.url);
    t.is(await page.locator('html').getAttribute('lang'), 'ja');

    const button = page.getByRole('button', { name: BUTTON.ja, exact: true });
    await button.waitFor();
    t.is(await page.getByRole('button', { name: BUTTON.en }).count(), 0, 'no English button');

    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await button.click();
    const claims = (await rp.redeem(await callback, flow)).claims()!;
    t.is(claims.sub, member.id);
    t.is(claims.acr, 'phr');
    t.deepEqual([...(claims.amr as string[])].sort(), ['hwk', 'mfa', 'user']);
  } finally {
    await context.close();
  }
});
