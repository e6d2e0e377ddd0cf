/**
 * WCAG 2.2 AA on every page a member meets, in Chromium: axe-core's A and AA rules of WCAG 2.0 to 2.2,
 * on a desktop (1280 × 800) and a phone (390 × 844), in English and Japanese. On the phone each page
 * is also walked with Tab (focus not obscured, 2.4.11) and every target measured (2.5.8); on every
 * page the log-in fields must take a paste and a password manager's fill (3.3.8). Each test covers
 * one page or the pages of one step, and every failure names the page, language and size.
 *
 * By hand, for what a test cannot see: no page asks for a drag (2.5.7): every action is a button,
 * link or field.
 */
import test, { type ExecutionContext } from 'ava';
import type { BrowserContext, Page } from 'playwright-core';
import { accessibilityViolations } from '../helpers/axe.ts';
import { Browser as FormClient, hiddenField } from '../helpers/browser.ts';
import { addVirtualAuthenticator, newPage, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { codeOf, nextSms } from '../helpers/outbox.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { NATIVE_APP, WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';
import { authenticationFieldProblems, crampedTargets, obscuredFocus } from '../helpers/wcag.ts';
import { StoreUnavailableError } from '../../src/store/port.ts';

const e2e = sharedBrowserAndApp({
  env: {
    PASSKEY_OFFER: 'on',
    LOGIN_MAX_FAILURES_PER_MEMBER: '2',
    LOGIN_WAIT_BASE_SECONDS: '600',
    // Every page here is opened from one address, many times: its budgets must not end the walk.
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: '100000',
    SMS_MAX_PER_IP_PER_HOUR: '100000',
  },
  clients: [{ ...WEBSITE, client_name: 'JMB website (demo)', 'client_name#ja': 'JMBウェブサイト（デモ）', client_uri: 'https://rp.example.com/' }, NATIVE_APP],
});
const CALLBACK = WEBSITE.redirect_uris[0]!;
const website = () => RelyingParty.website(e2e.app);
const LINE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.1.0';

type Combo = { lang: 'en' | 'ja'; locale: string; size: 'desktop' | 'phone'; viewport: { width: number; height: number } };
const COMBOS: Combo[] = [];
for (const lang of ['en', 'ja'] as const) {
  COMBOS.push({ lang, locale: lang === 'ja' ? 'ja-JP' : 'en-US', size: 'desktop', viewport: { width: 1280, height: 800 } });
  COMBOS.push({ lang, locale: lang === 'ja' ? 'ja-JP' : 'en-US', size: 'phone', viewport: { width: 390, height: 844 } });
}

/** Every check of a page as it is now; assertion messages name the page, language and size. */
type Check = (what: string) => Promise<void>;

async function checkPage(t: ExecutionContext, page: Page, combo: Combo, what: string): Promise<void> {
  await page.waitForLoadState('load');
  const where = `${what} (${combo.lang}, ${combo.viewport.width} × ${combo.viewport.height})`;
  t.is(await page.locator('html').getAttribute('lang'), combo.lang, `${where}: in the browser's language`);
  t.deepEqual(await accessibilityViolations(page), [], `${where}: axe finds no WCAG 2.2 A or AA violation`);
  t.deepEqual(await authenticationFieldProblems(page), [], `${where}: log-in fields take a paste and a password manager (3.3.8)`);
  if (combo.size === 'phone') {
    t.true(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `${where}: no horizontal scrolling`);
    t.deepEqual(await crampedTargets(page), [], `${where}: every target is 24 × 24 px or spaced apart (2.5.8)`);
    t.deepEqual(await obscuredFocus(page), [], `${where}: each element Tab focuses is in view and uncovered (2.4.11)`);
    // Beyond 2.5.8: a link standing on its own (the language switch, "Cancel") is as tall as a thumb.
    const heights = await page.locator('.lang a, .links a').evaluateAll((links) => links.filter((link) => link.getClientRects().length).map((link) => link.getBoundingClientRect().height));
    t.true(heights.every((height) => height >= 44), `${where}: links that stand alone are 44 px high, not ${heights.filter((height) => height < 44).join(', ')}`);
  }
}

/**
 * Runs `visit` once per language and size, each in a fresh browser context (`options.prepare` may
 * set it up, e.g. with a virtual authenticator); `visit` calls `check` on every page it reaches.
 */
async function forEachCombo(
  t: ExecutionContext,
  visit: (page: Page, check: Check, combo: Combo, context: BrowserContext) => Promise<void>,
  options: { userAgent?: string; browser?: typeof e2e.browser } = {},
): Promise<void> {
  for (const combo of COMBOS) {
    const { context, page } = await newPage(options.browser ?? e2e.browser, { locale: combo.locale, userAgent: options.userAgent });
    try {
      await page.setViewportSize(combo.viewport);
      await visit(page, (what) => checkPage(t, page, combo, what), combo, context);
    } finally {
      await context.close();
    }
  }
}

let nextPhone = 1;
/** A member who can receive SMS codes, on a number no other test uses (its outbox lines are this test's). */
const eligible = () => createMember(e2e.app.store, { phone: `+8190${String(process.pid % 10000).padStart(4, '0')}${String(nextPhone++).padStart(4, '0')}`, country: 'JP' });

async function fillLogIn(page: Page, number: string, password: string): Promise<void> {
  await page.locator('#number').fill(number);
  await page.locator('#password').fill(password);
  await page.locator('#login-form button[type="submit"]').click();
}

/** After the browser was sent to the relying party (whose host does not resolve here), lets that navigation end. */
async function settle(page: Page): Promise<void> {
  for (const deadline = Date.now() + 3_000; Date.now() < deadline && !page.url().startsWith('chrome-error:');) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Logs in at the website with number and password; returns the sign-in's address (its log-in page). */
async function logInAtWebsite(page: Page, member: { number: string; password: string }): Promise<string> {
  await page.goto((await (await website()).start()).url);
  await page.locator('#number').waitFor();
  const signIn = page.url();
  const callback = waitForRelyingPartyCallback(page, CALLBACK);
  await fillLogIn(page, member.number, member.password);
  await callback;
  await settle(page);
  return signIn;
}

/** Opens "Manage your account", logging in on the way. */
async function logInAtAccountPage(page: Page, member: { number: string; password: string }): Promise<void> {
  await page.goto(`${e2e.app.url}/account`);
  await fillLogIn(page, member.number, member.password);
  await page.waitForURL(`${e2e.app.url}/account`);
}

/** The SMS code just sent to `phone`, `seen` messages having been sent to it before. */
async function codeSentTo(phone: string, seen: number): Promise<string> {
  return codeOf((await nextSms(e2e.app.dir, phone, seen)).body);
}

/** Strangers' wrong passwords on `number` until browsers the member never used must wait. */
async function holdNumber(app: TestApp, number: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const stranger = new FormClient(app.url);
    const { final, url } = await stranger.follow((await RelyingParty.website(app).then((rp) => rp.start())).url);
    await stranger.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password: 'a stranger guesses' });
  }
}

test.serial('the log-in page: fresh, asking for a passkey, and after a wrong password', async (t) => {
  const member = await createMember(e2e.app.store);
  await forEachCombo(t, async (page, check) => {
    const rp = await website();
    await page.goto((await rp.start()).url);
    await page.locator('#number').waitFor();
    await check('the log-in page');

    await page.goto((await rp.start({ acr_values: 'phr' })).url);
    await page.locator('#number').waitFor();
    await check('the log-in page asking for a passkey');

    await fillLogIn(page, member.number, 'not the password');
    await page.locator('#login-error').waitFor();
    await check('the log-in page after a wrong password');
    // The member's next try is a success: the member's tries left begin afresh.
    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await fillLogIn(page, member.number, member.password);
    await callback;
  });
});

test.serial('the log-in page in an app\'s built-in browser', async (t) => {
  await forEachCombo(t, async (page, check) => {
    await page.goto((await (await website()).start()).url);
    await page.locator('#inapp-guidance').waitFor();
    await check('the log-in page in an in-app browser');
  }, { userAgent: LINE });
});

test.serial('the log-in page while a wait runs, the SMS step of the way in, and the log-in page after it', async (t) => {
  await forEachCombo(t, async (page, check) => {
    const member = await eligible();
    await holdNumber(e2e.app, member.number);
    await page.goto((await (await website()).start()).url);
    await fillLogIn(page, member.number, member.password);
    await page.locator('#wait-countdown').waitFor();
    await check('the log-in page during a wait');

    await page.locator('#sms-way-in button').click();
    await page.locator('#code').waitFor();
    await check('the SMS step of the way in');
    await page.locator('#code').fill(await codeSentTo(member.phone, 0));
    await page.locator('#login-notice').waitFor();
    await check('the log-in page after the SMS way in');
  });
});

test.serial('the SMS step of a sign-in: the code, a wrong code, and a member who cannot get codes', async (t) => {
  await forEachCombo(t, async (page, check) => {
    const member = await eligible();
    await page.goto((await (await website()).start({ acr_values: 'urn:jmb:loa:2' })).url);
    await fillLogIn(page, member.number, member.password);
    await page.locator('#code').waitFor();
    await check('the SMS step');
    const code = await codeSentTo(member.phone, 0);
    await page.locator('#code').fill(code === '000000' ? '111111' : '000000');
    await page.locator('#sms-error').waitFor();
    await check('the SMS step after a wrong code');

    const abroad = await createMember(e2e.app.store, { phone: '+12025550123', country: 'US' });
    await page.goto((await (await website()).start({ acr_values: 'urn:jmb:loa:2', prompt: 'login' })).url);
    await fillLogIn(page, abroad.number, abroad.password);
    await page.locator('form[action$="/sms/skip"]').waitFor();
    await check('the SMS step for a member who cannot get codes');
  });
});

test.serial('the passkey offer, its SMS step, the step that creates the passkey, and "Passkey registered"', async (t) => {
  await forEachCombo(t, async (page, check, _combo, context) => {
    const member = await eligible();
    await addVirtualAuthenticator(context, page);
    await page.goto((await (await website()).start()).url);
    await fillLogIn(page, member.number, member.password);
    await page.locator('#passkey-offer').waitFor();
    await check('the passkey offer');
    await page.locator('form[action$="/accept"] button').click();
    await page.locator('#code').waitFor();
    await check('the SMS step of the offer');
    await page.locator('#code').fill(await codeSentTo(member.phone, 0));
    await page.locator('#new-registration').waitFor();
    await check('the step that creates the passkey');
    await page.locator('#new-registration').click();
    await page.locator('.rename-in-place').waitFor();
    await check('"Passkey registered" in a sign-in');
  });
});

test.serial('the page where an app continues a logged-in member\'s session (consent)', async (t) => {
  const member = await createMember(e2e.app.store);
  await forEachCombo(t, async (page, check) => {
    await logInAtWebsite(page, member);
    const app = await RelyingParty.discover(e2e.app, { clientId: NATIVE_APP.client_id, redirectUri: NATIVE_APP.redirect_uris[0]! });
    await page.goto((await app.start()).url);
    await page.locator('form[action$="/continue"]').waitFor();
    await check('the page continuing to an app');
  });
});

test.serial('the account page, Passkey Settings (its SMS step and list), rename, delete confirmation and "Passkey registered"', async (t) => {
  await forEachCombo(t, async (page, check, _combo, context) => {
    const member = await eligible();
    await enrolSoftPasskey(e2e.app.store, member.id, new URL(e2e.app.url).hostname, { name: 'Work laptop' });
    await logInAtAccountPage(page, member);
    await check('the account page');

    await page.goto(`${e2e.app.url}/account/passkeys`);
    await page.locator('#code').waitFor();
    await check('the SMS step of Passkey Settings');
    await page.locator('#code').fill(await codeSentTo(member.phone, 0));
    await page.locator('li.passkey-row').first().waitFor();
    await check('Passkey Settings');

    await page.locator('li.passkey-row .row-actions a').first().click();
    await page.locator('#name').waitFor();
    await check('the rename page');
    await page.locator('#name').fill(' ');
    await page.locator('form.stack button[type="submit"]').click();
    await page.locator('#rename-error').waitFor();
    await check('the rename page with an error');

    await page.goto(`${e2e.app.url}/account/passkeys`);
    await page.locator('li.passkey-row .row-actions a.danger').first().click();
    await page.locator('button.danger').waitFor();
    await check('the delete confirmation');

    await page.goto(`${e2e.app.url}/account/passkeys`);
    await addVirtualAuthenticator(context, page);
    await page.locator('#new-registration').click();
    await page.locator('.rename-in-place').waitFor();
    await check('"Passkey registered" in Passkey Settings');
  });
});

test.serial('the log-out question, the account page after "Stay logged in", and the logged-out page', async (t) => {
  const member = await createMember(e2e.app.store);
  await forEachCombo(t, async (page, check) => {
    await logInAtAccountPage(page, member);
    await page.locator('a[href="/session/end"]').click();
    await page.locator('a.button-link.secondary').waitFor();
    await check('the log-out question');
    await page.locator('a.button-link.secondary').click();
    await page.waitForURL((url) => url.pathname === '/account');
    await page.getByRole('status').waitFor();
    await check('the account page after "Stay logged in"');
    await page.locator('a[href="/session/end"]').click();
    await page.locator('button[form="op.logoutForm"]').click();
    await page.waitForURL((url) => url.pathname !== '/session/end');
    await page.locator('h1').waitFor();
    await check('the logged-out page');
  });
});

test.serial('the help pages: passkeys, and a forgotten password or number', async (t) => {
  await forEachCombo(t, async (page, check) => {
    await page.goto(`${e2e.app.url}/help/passkeys`);
    await check('Passkey compatibility');
    await page.goto(`${e2e.app.url}/help/login`);
    await check('Forgot your password or membership number?');
  });
});

test.serial('error pages: expired, not found, a refused form, a member who can no longer log in, already logged in, a cancelled log-in', async (t) => {
  await forEachCombo(t, async (page, check) => {
    await page.goto(`${e2e.app.url}/interaction/not-a-sign-in`);
    await page.locator('a.button-link').waitFor();
    await check('the expired sign-in page');

    const missing = await page.goto(`${e2e.app.url}/no-such-page`);
    t.is(missing?.status(), 404);
    await check('the not-found page');

    // A form whose anti-forgery token does not match: refused for the member's security.
    await page.goto((await (await website()).start()).url);
    await page.locator('#login-form input[name="csrf"]').evaluate((field: HTMLInputElement) => {
      field.value = 'forged';
    });
    const refused = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login'));
    await fillLogIn(page, '300000000', 'any password');
    t.is((await refused).status(), 403);
    await check('the refused-form page');

    const member = await createMember(e2e.app.store);
    const signIn = await logInAtWebsite(page, member);
    await page.goto(signIn);
    await page.locator('a[href="/account"]').waitFor();
    await check('the already-logged-in page');

    await e2e.app.store.members.update(member.id, { status: 'disabled' });
    const unavailable = await page.goto((await (await website()).start()).url);
    t.is(unavailable?.status(), 403);
    await check('the page for a member who can no longer log in');

    await page.goto(`${e2e.app.url}/account`);
    await page.locator('#number').waitFor();
    await page.locator(`a[href$="/abort"]`).click();
    await page.waitForURL((url) => url.pathname === '/account/callback');
    await check('the cancelled log-in page');
  });
});

test.serial('the pages of a busy IdP, too many requests, and a store that cannot write', async (t) => {
  // A second IdP that counts its event loop as late from the start: every new sign-in is refused.
  const busy = await startTestApp({ env: { SHED_EVENT_LOOP_DELAY_MS: '1' } });
  // A third, behind a proxy that names each browser's address, with a budget of two sign-ins a minute.
  const limited = await startTestApp({ env: { TRUST_PROXY: '1', SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: '2' } });
  t.teardown(() => Promise.all([busy.stop(), limited.stop()]));
  let address = 1;
  try {
    await forEachCombo(t, async (page, check) => {
      const shed = await page.goto((await RelyingParty.website(busy).then((rp) => rp.start())).url);
      t.is(shed?.status(), 503);
      await check('the busy page');

      await page.context().setExtraHTTPHeaders({ 'x-forwarded-for': `192.0.2.${address++}` });
      const rp = await RelyingParty.website(limited);
      let status: number | undefined;
      for (let i = 0; i < 3 && status !== 429; i++) status = (await page.goto((await rp.start()).url))?.status();
      t.is(status, 429);
      await check('the too-many-requests page');

      // The store refuses to write a sign-in (a disk gone read-only).
      await page.context().setExtraHTTPHeaders({ 'x-forwarded-for': `192.0.2.${address++}` });
      const documents = limited.store.documents;
      const upsert = documents.upsert;
      documents.upsert = async () => {
        throw new StoreUnavailableError('the store is read-only', { retryAfter: 5 });
      };
      try {
        const failed = await page.goto((await rp.start()).url);
        t.is(failed?.status(), 503);
      } finally {
        documents.upsert = upsert;
      }
      await check('the page for a store that cannot write');
    });
  } finally {
    await Promise.all([busy.stop(), limited.stop()]).catch(() => undefined);
  }
});

test.serial('redundant entry (3.3.7): the membership number is asked once per sign-in', async (t) => {
  const flows: [string, (page: Page, context: BrowserContext) => Promise<void>][] = [
    ['a wrong password, then the SMS step', async (page) => {
      const member = await eligible();
      await page.goto((await (await website()).start({ acr_values: 'urn:jmb:loa:2' })).url);
      await fillLogIn(page, member.number, 'not the password');
      await page.locator('#login-error').waitFor();
      t.is(await page.locator('#number').inputValue(), member.number, 'after a wrong password the number is kept');
      await page.locator('#password').fill(member.password);
      await page.locator('#login-form button[type="submit"]').click();
      await page.locator('#code').waitFor();
      t.is(await page.locator('#number, #password').count(), 0, 'the SMS step asks for the code alone');
    }],
    ['a wait, then "Verify with SMS to log in now"', async (page) => {
      const member = await eligible();
      await holdNumber(e2e.app, member.number);
      await page.goto((await (await website()).start()).url);
      await fillLogIn(page, member.number, member.password);
      await page.locator('#sms-way-in button').click();
      await page.locator('#code').waitFor();
      t.is(await page.locator('#number, #password').count(), 0, 'the way in asks for the code alone');
      await page.locator('#code').fill(await codeSentTo(member.phone, 0));
      await page.locator('#login-notice').waitFor();
      t.is(await page.locator('#number').inputValue(), member.number, 'back on the log-in page, the number is filled in');
    }],
    ['the passkey offer and Passkey Settings', async (page, context) => {
      const member = await eligible();
      await addVirtualAuthenticator(context, page);
      await page.goto((await (await website()).start()).url);
      await fillLogIn(page, member.number, member.password);
      await page.locator('form[action$="/accept"] button').click();
      await page.locator('#code').waitFor();
      t.is(await page.locator('#number, #password').count(), 0, 'the offer\'s SMS step asks for the code alone');
      await page.locator('#code').fill(await codeSentTo(member.phone, 0));
      await page.locator('#new-registration').waitFor();
      t.is(await page.locator('#number, #password').count(), 0, 'creating the passkey asks for nothing typed');
      await page.goto(`${e2e.app.url}/account/passkeys`);
      await page.locator('#code').waitFor();
      t.is(await page.locator('#number, #password').count(), 0, 'Passkey Settings, logged in, asks for the code alone');
    }],
  ];
  for (const [what, flow] of flows) {
    const { context, page } = await newPage(e2e.browser);
    try {
      await flow(page, context);
    } catch (error) {
      t.fail(`${what}: ${String(error)}`);
    } finally {
      await context.close();
    }
  }
});

/** Pastes `text` into `selector` through the system clipboard, as a member (or a password manager's copy) would. */
async function paste(page: Page, selector: string, text: string): Promise<void> {
  await page.evaluate((value) => navigator.clipboard.writeText(value), text);
  await page.locator(selector).click();
  await page.keyboard.press('ControlOrMeta+V');
}

test.serial('accessible authentication (3.3.8): number, password and SMS code can be pasted, and the log-in goes through', async (t) => {
  const member = await eligible();
  const { context, page } = await newPage(e2e.browser);
  try {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: e2e.app.url });
    const rp = await website();
    const flow = await rp.start({ acr_values: 'urn:jmb:loa:2' });
    await page.goto(flow.url);
    await paste(page, '#number', member.number);
    await paste(page, '#password', member.password);
    t.is(await page.locator('#number').inputValue(), member.number, 'the number was pasted');
    t.is(await page.locator('#password').inputValue(), member.password, 'the password was pasted');
    await page.locator('#login-form button[type="submit"]').click();

    await page.locator('#code').waitFor();
    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    // A pasted code is the whole code: the page sends it at once.
    await paste(page, '#code', await codeSentTo(member.phone, 0));
    const claims = (await rp.redeem(await callback, flow)).claims()!;
    t.is(claims.sub, member.id);
    t.is(claims.acr, 'urn:jmb:loa:2', 'the pasted password and code were both accepted');
  } finally {
    await context.close();
  }
});
