/**
 * One tap for members who have a passkey on this device: WebAuthn immediate mediation on the log-in
 * page, in Chromium 156 with the DevTools virtual authenticator.
 *
 * What Chromium 156 does, found by experiment and relied on here: it reports `immediateGet: true`
 * from PublicKeyCredential.getClientCapabilities(); it takes the request as `uiMode: "immediate"`
 * (`mediation: "immediate"` is refused as an unknown value); it refuses an immediate request made
 * without a user activation ("A user activation is required to request immediate credentials."),
 * which is why the page asks on the first press of "Log in with passkey" rather than as it loads;
 * and the virtual authenticator answers it: a platform ('internal') authenticator holding a
 * discoverable credential with automatic presence simulation on gives the credential, a security
 * key ('usb') or a phone ('hybrid') is not asked ("No immediate discoverable credentials are
 * found.", within about half a second, nothing shown).
 */
import test, { type ExecutionContext } from 'ava';
import type { BrowserContext, Page } from 'playwright-core';
import {
  addCredential,
  addVirtualAuthenticator,
  newPage,
  toCdpBinary,
  waitForRelyingPartyCallback,
  type VirtualAuthenticator,
  type VirtualAuthenticatorOptions,
} from '../helpers/chromium.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey, userHandleOf } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

const e2e = sharedBrowserAndApp();
const CALLBACK = WEBSITE.redirect_uris[0]!;
const website = () => RelyingParty.website(e2e.app);
const BUTTON = 'Log in with passkey';

type Request = { mode: 'autofill' | 'immediate' | 'modal'; outcome: string };

/**
 * Records each WebAuthn request the page makes (how it asked, and how it ended) in the returned list,
 * which outlives the page's navigations, and keeps autofill (conditional) requests waiting, as for a
 * member who does not open the field's suggestions, until the test picks from them with
 * {@link pickFromAutofill}: the virtual authenticator would otherwise answer an autofill request by
 * itself the moment it starts. Requests whose members are read through getters (the page's probes of
 * what the browser reads) pass straight through.
 */
async function watchRequests(page: Page): Promise<Request[]> {
  const seen: Request[] = [];
  await page.exposeFunction('jmbReport', (id: number, mode: Request['mode'], outcome: string) => {
    seen[id] = { mode, outcome };
  });
  await page.addInitScript(() => {
    const w = window as unknown as { jmbReport(id: number, mode: string, outcome: string): void; jmbPickFromAutofill?: () => void };
    // Ids go on across the pages of one test: each page starts from the time.
    let next = Date.now() * 1000;
    const container = navigator.credentials;
    const get = container.get.bind(container);
    const plain = (object: object, key: string): unknown => {
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      return descriptor && 'value' in descriptor ? descriptor.value : undefined;
    };
    container.get = (options?: CredentialRequestOptions) => {
      if (!options || !plain(options, 'publicKey') || Object.getOwnPropertyDescriptor(options, 'uiMode')?.get) return get(options);
      const mode = plain(options, 'uiMode') === 'immediate' || plain(options, 'mediation') === 'immediate' ? 'immediate' : plain(options, 'mediation') === 'conditional' ? 'autofill' : 'modal';
      const id = next++;
      w.jmbReport(id, mode, 'pending');
      let answer: Promise<Credential | null>;
      if (mode === 'autofill') {
        answer = new Promise((resolve, reject) => {
          const signal = options.signal;
          const aborted = () => reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
          if (signal?.aborted) return aborted();
          signal?.addEventListener('abort', aborted);
          w.jmbPickFromAutofill = () => {
            signal?.removeEventListener('abort', aborted);
            get(options).then(resolve, reject);
          };
        });
      } else {
        answer = get(options);
      }
      answer.then(() => w.jmbReport(id, mode, 'credential'), (error: Error) => w.jmbReport(id, mode, error.name));
      return answer;
    };
  });
  return seen;
}

/** The requests recorded so far, in the order they were made. */
const inOrder = (seen: Request[]): Request[] => Object.keys(seen).map(Number).sort((a, b) => a - b).map((id) => ({ ...seen[id]! }));

/** The member picks their passkey from the number field's suggestions (the pending autofill request). */
const pickFromAutofill = (page: Page) => page.evaluate(() => (window as unknown as { jmbPickFromAutofill: () => void }).jmbPickFromAutofill());

/** Waits until the recorded requests are as `expected` (they end asynchronously), and returns them. */
async function requestsBecome(seen: Request[], expected: Request[]): Promise<Request[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const now = inOrder(seen);
    if (JSON.stringify(now) === JSON.stringify(expected) || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The member's passkey, registered with the IdP and held by `authenticator`. */
async function givePasskey(authenticator: VirtualAuthenticator, memberId: string): Promise<void> {
  const passkey = new SoftPasskey({ rpId: 'localhost', userHandle: userHandleOf(memberId), synced: true });
  await e2e.app.store.passkeys.create(passkey.record(memberId));
  await addCredential(authenticator, {
    credentialId: toCdpBinary(passkey.id),
    isResidentCredential: true,
    rpId: 'localhost',
    privateKey: passkey.privateKeyPkcs8().toString('base64'),
    userHandle: toCdpBinary(passkey.userHandle),
    signCount: 0,
    backupEligibility: true,
    backupState: true,
  });
}

/** A fresh browser watching its WebAuthn requests, with an authenticator (`options`) unless `null`. */
async function browserWith(options: VirtualAuthenticatorOptions | null): Promise<{ context: BrowserContext; page: Page; seen: Request[]; authenticator?: VirtualAuthenticator }> {
  const { context, page } = await newPage(e2e.browser);
  const seen = await watchRequests(page);
  const authenticator = options ? await addVirtualAuthenticator(context, page, options) : undefined;
  return { context, page, seen, authenticator };
}

/** Opens a sign-in's log-in page and waits until its passkey button and autofill are ready. */
async function openLogIn(page: Page, seen: Request[], options: { autofill?: boolean } = {}) {
  const rp = await website();
  const flow = await rp.start();
  const before = inOrder(seen).length;
  await page.goto(flow.url);
  await page.getByRole('button', { name: BUTTON, exact: true }).waitFor();
  if (options.autofill !== false) await until(() => inOrder(seen).length > before && inOrder(seen).at(-1)?.mode === 'autofill');
  return { rp, flow };
}

async function until(check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5_000; !check() && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 25));
}

async function loggedInAs(t: ExecutionContext, rp: RelyingParty, flow: Awaited<ReturnType<RelyingParty['start']>>, callback: Promise<string>, memberId: string) {
  const claims = (await rp.redeem(await callback, flow)).claims()!;
  t.is(claims.sub, memberId);
  t.is(claims.acr, 'phr', 'logged in with a passkey');
}

test.serial('Chromium 156 offers immediate mediation as uiMode: "immediate", and refuses it without a user activation', async (t) => {
  const { context, page, seen } = await browserWith({});
  try {
    // A request made as the page loads, by a script: no user activation.
    await page.addInitScript(() => {
      const w = window as unknown as { jmbOnLoad: Promise<string> };
      w.jmbOnLoad = new Promise((resolve) => addEventListener('DOMContentLoaded', () => {
        const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON({ challenge: 'AAAAAAAAAAAAAAAAAAAAAA', rpId: 'localhost' });
        navigator.credentials.get({ uiMode: 'immediate', publicKey } as CredentialRequestOptions)
          .then(() => resolve('a credential'), (error: Error) => resolve(`${error.name}: ${error.message}`));
      }));
    });
    await openLogIn(page, seen);
    const found = await page.evaluate(async () => {
      const capabilities = await PublicKeyCredential.getClientCapabilities();
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON({ challenge: 'AAAAAAAAAAAAAAAAAAAAAA', rpId: 'localhost' });
      const mediation = await navigator.credentials.get({ mediation: 'immediate', publicKey } as unknown as CredentialRequestOptions)
        .then(() => 'a credential', (error: Error) => `${error.name}: ${error.message}`);
      return { immediateGet: capabilities.immediateGet, mediation, onLoad: await (window as unknown as { jmbOnLoad: Promise<string> }).jmbOnLoad };
    });
    t.true(found.immediateGet, 'getClientCapabilities() reports immediateGet');
    t.regex(found.mediation, /^TypeError: .*'immediate' is not a valid enum value/, 'mediation: "immediate" is not how Chromium 156 takes it');
    t.is(found.onLoad, 'NotAllowedError: A user activation is required to request immediate credentials.', 'no immediate request as the page loads');
  } finally {
    await context.close();
  }
});

test.serial('one tap: with the member\'s passkey on this device, the first press of "Log in with passkey" gets the browser\'s sheet at once and logs in, without touching the form', async (t) => {
  const member = await createMember(e2e.app.store);
  const { context, page, seen, authenticator } = await browserWith({});
  try {
    await givePasskey(authenticator!, member.id);
    const { rp, flow } = await openLogIn(page, seen);
    t.deepEqual(inOrder(seen), [{ mode: 'autofill', outcome: 'pending' }], 'as the page loads only autofill waits, and nothing is shown');

    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await page.getByRole('button', { name: BUTTON, exact: true }).click();
    await loggedInAs(t, rp, flow, callback, member.id);
    t.deepEqual(await requestsBecome(seen, [{ mode: 'autofill', outcome: 'AbortError' }, { mode: 'immediate', outcome: 'credential' }]), [
      { mode: 'autofill', outcome: 'AbortError' },
      { mode: 'immediate', outcome: 'credential' },
    ], 'autofill made way for one immediate request, which the passkey on this device answered');
  } finally {
    await context.close();
  }
});

test.serial('a passkey only on a security key: the immediate request is refused at once with nothing shown, and the ordinary request that follows logs in with the key', async (t) => {
  const member = await createMember(e2e.app.store);
  const { context, page, seen, authenticator } = await browserWith({ transport: 'usb' });
  try {
    await givePasskey(authenticator!, member.id);
    // Without a built-in authenticator Chromium offers no passkey autofill.
    const { rp, flow } = await openLogIn(page, seen, { autofill: false });
    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await page.getByRole('button', { name: BUTTON, exact: true }).click();
    await loggedInAs(t, rp, flow, callback, member.id);
    t.deepEqual(await requestsBecome(seen, [{ mode: 'immediate', outcome: 'NotAllowedError' }, { mode: 'modal', outcome: 'credential' }]), [
      { mode: 'immediate', outcome: 'NotAllowedError' },
      { mode: 'modal', outcome: 'credential' },
    ]);
  } finally {
    await context.close();
  }
});

test.serial('no passkey on this device: opening the page asks nothing but autofill, nothing is shown, and a password log-in works', async (t) => {
  const member = await createMember(e2e.app.store);
  const { context, page, seen } = await browserWith({});
  try {
    const { rp, flow } = await openLogIn(page, seen);
    t.deepEqual(inOrder(seen), [{ mode: 'autofill', outcome: 'pending' }], 'no immediate request as the page loads');
    t.is(await page.locator('[role="alert"]:visible').count(), 0, 'no alert');
    t.is(await page.locator('#passkey-status').textContent(), '', 'no status');
    await page.getByLabel('JMB membership number', { exact: true }).fill(member.number);
    await page.getByLabel('Password', { exact: true }).fill(member.password);
    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    const claims = (await rp.redeem(await callback, flow)).claims()!;
    t.is(claims.sub, member.id);
  } finally {
    await context.close();
  }
});

test.serial('after the button found no passkey here, autofill works again, and the next press does not ask immediately again', async (t) => {
  const member = await createMember(e2e.app.store);
  const { context, page, seen, authenticator } = await browserWith({});
  try {
    const { rp, flow } = await openLogIn(page, seen);
    const button = page.getByRole('button', { name: BUTTON, exact: true });
    await button.click();
    // Nothing here: the immediate request is refused at once, and the ordinary one is too (the
    // virtual authenticator has nothing to offer; a real browser would offer a phone or a key).
    await page.locator('#passkey-alert').waitFor();
    t.deepEqual(await requestsBecome(seen, [
      { mode: 'autofill', outcome: 'AbortError' },
      { mode: 'immediate', outcome: 'NotAllowedError' },
      { mode: 'modal', outcome: 'NotAllowedError' },
      { mode: 'autofill', outcome: 'pending' },
    ]), [
      { mode: 'autofill', outcome: 'AbortError' },
      { mode: 'immediate', outcome: 'NotAllowedError' },
      { mode: 'modal', outcome: 'NotAllowedError' },
      { mode: 'autofill', outcome: 'pending' },
    ], 'autofill waits again');

    // The next press asks the ordinary way at once.
    await button.click();
    await until(() => inOrder(seen).length === 6 && inOrder(seen).at(-1)?.mode === 'autofill');
    t.deepEqual(inOrder(seen).slice(4).map((request) => request.mode), ['modal', 'autofill'], 'no second immediate request');

    // The member's passkey reaches this device (synced), and they pick it from the field's suggestions.
    await givePasskey(authenticator!, member.id);
    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await pickFromAutofill(page);
    await loggedInAs(t, rp, flow, callback, member.id);
  } finally {
    await context.close();
  }
});

test.serial('no immediate request on a log-in page answering a wrong password, nor after the page is reloaded', async (t) => {
  const member = await createMember(e2e.app.store);
  for (const how of ['after a wrong password', 'after a reload'] as const) {
    const { context, page, seen, authenticator } = await browserWith({});
    try {
      await givePasskey(authenticator!, member.id);
      const { rp, flow } = await openLogIn(page, seen);
      if (how === 'after a wrong password') {
        await page.getByLabel('JMB membership number', { exact: true }).fill(member.number);
        await page.getByLabel('Password', { exact: true }).fill('not the password');
        await page.getByRole('button', { name: 'Log in', exact: true }).click();
        await page.locator('#login-error').waitFor();
      } else {
        // The first press asked immediately and the member closed the sheet (presence never given).
        await authenticator!.cdp.send('WebAuthn.setUserVerified', { authenticatorId: authenticator!.authenticatorId, isUserVerified: false });
        await page.getByRole('button', { name: BUTTON, exact: true }).click();
        await page.locator('#passkey-alert').waitFor();
        await authenticator!.cdp.send('WebAuthn.setUserVerified', { authenticatorId: authenticator!.authenticatorId, isUserVerified: true });
        await page.reload();
      }
      await page.getByRole('button', { name: BUTTON, exact: true }).waitFor();
      await until(() => inOrder(seen).at(-1)?.mode === 'autofill' && inOrder(seen).at(-1)?.outcome === 'pending');
      const before = inOrder(seen).length;
      const callback = waitForRelyingPartyCallback(page, CALLBACK);
      await page.getByRole('button', { name: BUTTON, exact: true }).click();
      await loggedInAs(t, rp, flow, callback, member.id);
      await until(() => inOrder(seen).slice(before).some((request) => request.outcome === 'credential'));
      t.deepEqual(inOrder(seen).slice(before).map((request) => request.mode), ['modal'], `${how}: the button asks the ordinary way`);
    } finally {
      await context.close();
    }
  }
});

for (const [browser, capabilities] of [
  ['without immediateGet', 'false'],
  ['without getClientCapabilities', 'absent'],
] as const) {
  test.serial(`a browser ${browser} sees no change: the button asks the ordinary way and logs in`, async (t) => {
    const member = await createMember(e2e.app.store);
    const { context, page, seen, authenticator } = await browserWith({});
    try {
      await page.addInitScript((how: string) => {
        const pkc = PublicKeyCredential as unknown as { getClientCapabilities?: () => Promise<Record<string, boolean>> };
        const original = pkc.getClientCapabilities?.bind(PublicKeyCredential);
        if (how === 'absent') delete pkc.getClientCapabilities;
        else pkc.getClientCapabilities = async () => ({ ...(await original!()), immediateGet: false });
      }, capabilities);
      await givePasskey(authenticator!, member.id);
      const { rp, flow } = await openLogIn(page, seen);
      const callback = waitForRelyingPartyCallback(page, CALLBACK);
      await page.getByRole('button', { name: BUTTON, exact: true }).click();
      await loggedInAs(t, rp, flow, callback, member.id);
      t.deepEqual(await requestsBecome(seen, [{ mode: 'autofill', outcome: 'AbortError' }, { mode: 'modal', outcome: 'credential' }]), [
        { mode: 'autofill', outcome: 'AbortError' },
        { mode: 'modal', outcome: 'credential' },
      ]);
    } finally {
      await context.close();
    }
  });
}
