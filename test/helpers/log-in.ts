/**
 * A member's log-in steps as tests take them: with the cookie-keeping Browser (a new sign-in as far
 * as the log-in page, a password sent on it, a whole password or passkey log-in back at the relying
 * party), and in Chromium (the log-in form filled by its visible labels).
 */
import type { Page } from 'playwright-core';
import { Browser, hiddenField, type PageResponse } from './browser.ts';
import type { RelyingParty } from './relying-party.ts';
import type { Assertion, SoftPasskey } from './soft-authenticator.ts';

/** What a member types on the log-in page. */
export type Credentials = { number: string; password: string };

/** The IdP's log-in page of a new sign-in at `rp` (authorization parameters `params`), opened in `browser`. */
export async function openLogInPage(browser: Browser, rp: RelyingParty, params: Record<string, string> = {}): Promise<{ flow: Awaited<ReturnType<RelyingParty['start']>>; url: string; page: PageResponse; csrf: string }> {
  const flow = await rp.start(params);
  const { final, url } = await browser.follow(flow.url);
  if (!url.includes('/interaction/')) throw new Error(`expected the log-in page, got ${final.status} at ${url}`);
  return { flow, url, page: final, csrf: hiddenField(final.html, 'csrf') };
}

/**
 * A member number and password sent on the log-in page of a new sign-in at `rp`: `posted` is the
 * IdP's answer (a 303 on to the next step, or the page again with its alert), not followed.
 */
export async function submitPassword(browser: Browser, rp: RelyingParty, credentials: Credentials, params: Record<string, string> = {}) {
  const opened = await openLogInPage(browser, rp, params);
  const posted = await browser.post(`${opened.url}/login`, { csrf: opened.csrf, number: credentials.number, password: credentials.password });
  return { ...opened, posted };
}

/**
 * The member's whole journey with member number and password: authorize, log in on the IdP's page,
 * and arrive back at the relying party. Returns the callback URL the browser was sent to.
 */
export async function passwordLogIn(browser: Browser, authorizationUrl: string, number: string, password: string): Promise<string> {
  const { final, url } = await browser.follow(authorizationUrl);
  if (!url.includes('/interaction/')) throw new Error(`expected the log-in page, got ${final.status} at ${url}`);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password });
  if (posted.status !== 303 || !posted.location) throw new Error(`log-in failed with ${posted.status}`);
  const { url: callback } = await browser.follow(posted.location);
  return callback;
}

/**
 * A password log-in of `member` at `rp` from start to tokens: a new sign-in (in `browser`, a fresh
 * one unless given), the log-in, and the code redeemed as the relying party does.
 */
export async function logInWithPassword(rp: RelyingParty, member: Credentials, options: { params?: Record<string, string>; browser?: Browser } = {}) {
  const browser = options.browser ?? new Browser(rp.config.serverMetadata().issuer);
  const flow = await rp.start(options.params);
  const callback = await passwordLogIn(browser, flow.url, member.number, member.password);
  const tokens = await rp.redeem(callback, flow);
  return { browser, flow, callback, tokens };
}

/** The passkey endpoints' answer to one assertion, and the sign-in it belongs to. */
export async function passkeyAttempt(browser: Browser, interactionUrl: string, passkey: SoftPasskey, tweak: Assertion = {}) {
  const options = await browser.postJson(`${interactionUrl}/passkey/options`);
  if (options.status !== 200) throw new Error(`passkey options failed with ${options.status}`);
  const assertion = passkey.assert(options.json, browser.origin, tweak);
  return browser.postJson(`${interactionUrl}/passkey`, assertion);
}

/**
 * The member's journey with a passkey: authorize, get options on the log-in page, answer them with
 * the software authenticator, and arrive back at the relying party. Returns the callback URL.
 */
export async function passkeyLogIn(browser: Browser, authorizationUrl: string, passkey: SoftPasskey, tweak: Assertion = {}): Promise<string> {
  const { final, url } = await browser.follow(authorizationUrl);
  if (!url.includes('/interaction/')) throw new Error(`expected the log-in page, got ${final.status} at ${url}`);
  const result = await passkeyAttempt(browser, url, passkey, tweak);
  if (result.status !== 200) throw new Error(`passkey log-in failed with ${result.status}: ${result.html}`);
  const { url: callback } = await browser.follow(result.json.redirectTo);
  return callback;
}

/** The log-in form's labels in one language, as a member reads them. */
export type LogInLabels = { number: string; password: string; submit: string };

/** Fills the log-in form in Chromium by its visible labels and presses the log-in button. */
export async function fillLogInForm(page: Page, labels: LogInLabels, credentials: Credentials): Promise<void> {
  await page.getByLabel(labels.number, { exact: true }).fill(credentials.number);
  await page.getByLabel(labels.password, { exact: true }).fill(credentials.password);
  await page.getByRole('button', { name: labels.submit, exact: true }).click();
}
