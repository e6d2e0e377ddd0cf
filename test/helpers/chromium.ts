/**
 * End-to-end harness: the real IdP pages in headless Chromium driven by playwright-core, plus the
 * Chromium DevTools Protocol virtual authenticator for passkey journeys.
 *
 * Chromium is Debian's package at /usr/bin/chromium (CI installs it). Playwright never downloads
 * a browser of its own here.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page, type Response } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a closed network: without the background-networking ones Chromium keeps trying to reach
 * Google's hosts and gets refused. Running as root needs --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/**
 * Throws a clear error when Chromium is not installed. The e2e tests must fail, not skip, without
 * it: CI installs it, so its absence is a real problem with the machine.
 */
export function requireChromium(): string {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}: the end-to-end tests need Debian's chromium package ` +
        '(apt-get install -y chromium; .ci/run installs it). Set CHROMIUM_PATH to use another binary.',
    );
  }
  return CHROMIUM_PATH;
}

/**
 * Starts headless Chromium. Playwright gives each launch a fresh, empty profile folder (it refuses a
 * --user-data-dir argument) and removes it on `browser.close()`. Launch one per test file, in
 * `test.before`, close it in `test.after.always`, and use a new context per test.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: requireChromium(), headless: true, args: [...CHROMIUM_ARGS] });
}

export type NewPageOptions = {
  /** BCP 47 tag such as 'en-US' or 'ja-JP': sets Accept-Language and navigator.language. */
  locale?: string;
  /** Overrides the User-Agent, e.g. to pose as an in-app browser. */
  userAgent?: string;
};

/** A fresh context (no cookies, no storage) and one page in it. */
export async function newPage(browser: Browser, options: NewPageOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    locale: options.locale ?? 'en-US',
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
  });
  // Waits fail after 10 s rather than playwright's 30 s: every page here is served from localhost.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  return { context, page };
}

/**
 * Resolves with the full URL when the browser is sent to the relying party's redirect URI (`prefix`,
 * e.g. 'https://rp.example.com/cb'). Call it BEFORE the action that leads there and await it after:
 *
 * ```ts
 * const callback = waitForRelyingPartyCallback(page, WEBSITE.redirect_uris[0]);
 * await page.getByRole('button', { name: 'Log in' }).click();
 * const url = await callback;
 * ```
 *
 * It waits for the request, not for a navigation: the relying party's host does not resolve on the
 * test machine (the navigation fails with ERR_NAME_NOT_RESOLVED), and `page.route` is not called for
 * redirect hops. A prefix without a query matches only that exact path (`/cb`, not `/cbx`).
 */
export async function waitForRelyingPartyCallback(page: Page, prefix: string, options: { timeout?: number } = {}): Promise<string> {
  const matches = (url: string) => {
    if (!url.startsWith(prefix)) return false;
    if (prefix.includes('?')) return true;
    const next = url.charAt(prefix.length);
    return next === '' || next === '?' || next === '#';
  };
  const timeout = options.timeout ?? 15_000;
  // Fails at once when the IdP answers the journey with an error page instead of a redirect.
  let onResponse: ((response: Response) => void) | undefined;
  const errorPage = new Promise<never>((_, reject) => {
    onResponse = (response) => {
      const request = response.request();
      if (response.status() < 400 || !request.isNavigationRequest() || request.frame() !== page.mainFrame()) return;
      page
        .waitForURL(response.url(), { waitUntil: 'domcontentloaded', timeout: 5_000 })
        .catch(() => undefined)
        .then(() => describePage(page))
        .then((where) => reject(new Error(`the browser was not sent to ${prefix}: the IdP answered ${response.status()}; ${where}`)));
    };
    page.on('response', onResponse);
  });
  try {
    const request = await Promise.race([page.waitForRequest((r) => matches(r.url()), { timeout }), errorPage]);
    return request.url();
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('the browser was not sent')) throw error;
    throw new Error(`the browser was not sent to ${prefix} within ${timeout} ms; ${await describePage(page)}`, { cause: error });
  } finally {
    if (onResponse) page.off('response', onResponse);
  }
}

/** Where the page is and what it says (title, heading, alert, error code), for failure messages. */
export async function describePage(page: Page): Promise<string> {
  if (page.isClosed()) return 'the page is closed';
  const shown = await page
    .evaluate(() => {
      const text = (selector: string) => document.querySelector(selector)?.textContent?.trim().replace(/\s+/g, ' ');
      return [document.title, text('h1'), text('[role="alert"]'), text('.code')].filter(Boolean).join(' | ');
    })
    .catch(() => '');
  return `it is at ${page.url()}${shown ? ` showing "${shown}"` : ''}`;
}

/** Options of `WebAuthn.addVirtualAuthenticator`; the defaults model a phone's platform authenticator. */
export type VirtualAuthenticatorOptions = {
  protocol?: 'ctap2' | 'u2f';
  ctap2Version?: 'ctap2_0' | 'ctap2_1' | 'ctap2_2';
  transport?: 'usb' | 'nfc' | 'ble' | 'cable' | 'hybrid' | 'smart-card' | 'internal';
  hasResidentKey?: boolean;
  hasUserVerification?: boolean;
  /** Whether user verification (biometrics, PIN) succeeds. */
  isUserVerified?: boolean;
  /** Tests of user presence succeed at once; when false they never resolve. */
  automaticPresenceSimulation?: boolean;
  /** BE flag of new credentials (a synced passkey: true). */
  defaultBackupEligibility?: boolean;
  /** BS flag of new credentials (a synced passkey: true). */
  defaultBackupState?: boolean;
  hasPrf?: boolean;
  hasLargeBlob?: boolean;
};

/**
 * A credential as the DevTools Protocol carries it. Every binary field (`credentialId`,
 * `privateKey`, `userHandle`, `largeBlob`) is STANDARD base64 with padding, not the base64url that
 * WebAuthn JSON and SimpleWebAuthn use: convert with {@link toCdpBinary} and {@link fromCdpBinary}.
 */
export type VirtualCredential = {
  /** Standard base64. */
  credentialId: string;
  isResidentCredential: boolean;
  /** Required when adding a credential, e.g. 'localhost'. */
  rpId?: string;
  /** A P-256 private key, PKCS#8 DER, standard base64. */
  privateKey: string;
  /** The WebAuthn user.id (at most 64 bytes), standard base64. */
  userHandle?: string;
  signCount: number;
  backupEligibility?: boolean;
  backupState?: boolean;
  userName?: string;
  userDisplayName?: string;
};

export type VirtualAuthenticator = { cdp: CDPSession; authenticatorId: string };

/**
 * Adds a virtual authenticator to `page` through a DevTools session: by default a CTAP2 platform
 * authenticator ('internal') with discoverable credentials and user verification that succeeds,
 * and whose new credentials are not backed up. Note that with a discoverable credential on it,
 * a conditional-UI (autofill) request completes by itself straight after page load.
 */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page, options: VirtualAuthenticatorOptions = {}): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      defaultBackupEligibility: false,
      defaultBackupState: false,
      ...options,
    },
  });
  return { cdp, authenticatorId };
}

/** The credentials the authenticator holds; binary fields are standard base64 (see {@link VirtualCredential}). */
export async function getCredentials(authenticator: VirtualAuthenticator): Promise<VirtualCredential[]> {
  const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
  return credentials;
}

/**
 * Polls the authenticator until `check` holds for its credential ids, or gives up after `ms` and
 * returns the ids as they are (the Signal API acts asynchronously after the page calls it).
 */
export async function credentialsOnceSettled(authenticator: VirtualAuthenticator, check: (ids: string[]) => boolean, ms = 3_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ids = (await getCredentials(authenticator)).map((c) => c.credentialId);
    if (check(ids) || Date.now() > deadline) return ids;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Seeds a known credential; binary fields must be standard base64 (see {@link VirtualCredential}). */
export async function addCredential(authenticator: VirtualAuthenticator, credential: VirtualCredential): Promise<void> {
  await authenticator.cdp.send('WebAuthn.addCredential', { authenticatorId: authenticator.authenticatorId, credential });
}

/** Removes one credential; `credentialId` is standard base64, as `getCredentials` gives it. */
export async function removeCredential(authenticator: VirtualAuthenticator, credentialId: string): Promise<void> {
  await authenticator.cdp.send('WebAuthn.removeCredential', { authenticatorId: authenticator.authenticatorId, credentialId });
}

/** Removes the authenticator, as when the member's device is gone. */
export async function removeVirtualAuthenticator(authenticator: VirtualAuthenticator): Promise<void> {
  await authenticator.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator.authenticatorId });
}

/** Bytes or a base64url string (WebAuthn JSON) to the standard base64 the DevTools Protocol expects. */
export function toCdpBinary(value: Uint8Array | string): string {
  return (typeof value === 'string' ? Buffer.from(value, 'base64url') : Buffer.from(value)).toString('base64');
}

/** Standard base64 from the DevTools Protocol to base64url (WebAuthn JSON, SimpleWebAuthn, stored credential ids). */
export function fromCdpBinary(value: string): string {
  return Buffer.from(value, 'base64').toString('base64url');
}

/**
 * Poses as a browser without passkey autofill: the page then starts no conditional request on load,
 * and only the button starts a ceremony.
 */
export async function withoutAutofill(page: Page): Promise<void> {
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) {
      Object.defineProperty(window.PublicKeyCredential, 'isConditionalMediationAvailable', {
        configurable: true,
        writable: true,
        value: () => Promise.resolve(false),
      });
    }
  });
}

/**
 * Holds back the page's scripts whose URL matches `pattern`, as a slow phone network would, until
 * the returned function is called.
 */
export async function holdScript(page: Page, pattern: string): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  await page.route(pattern, async (route) => {
    await held;
    await route.continue();
  });
  return release;
}
