import * as client from 'openid-client';
import { Browser, hiddenField } from './browser.ts';
import type { Assertion, SoftPasskey } from './soft-authenticator.ts';
import { WEBSITE, type TestApp } from './test-app.ts';

export type RelyingPartyOptions = {
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
  /** How a client with a secret authenticates at the token endpoint (default: HTTP Basic). */
  secretIn?: 'header' | 'body';
};

/** A relying party built on openid-client: starts authorization-code + PKCE flows and redeems codes. */
export class RelyingParty {
  readonly config: client.Configuration;
  readonly redirectUri: string;
  private constructor(config: client.Configuration, redirectUri: string) {
    this.config = config;
    this.redirectUri = redirectUri;
  }

  static async discover(app: Pick<TestApp, 'url'>, options: RelyingPartyOptions): Promise<RelyingParty> {
    const config = await client.discovery(
      new URL(app.url),
      options.clientId,
      options.clientSecret ? { client_secret: options.clientSecret } : { token_endpoint_auth_method: 'none' },
      !options.clientSecret ? client.None() : options.secretIn === 'body' ? client.ClientSecretPost(options.clientSecret) : client.ClientSecretBasic(options.clientSecret),
      { execute: [client.allowInsecureRequests] },
    );
    return new RelyingParty(config, options.redirectUri);
  }

  /** The test website client (test-app.ts WEBSITE) as a relying party of `app`. */
  static website(app: TestApp): Promise<RelyingParty> {
    return RelyingParty.discover(app, { clientId: WEBSITE.client_id, clientSecret: WEBSITE.client_secret, redirectUri: WEBSITE.redirect_uris[0] });
  }

  /** A fresh authorization request: its URL and the checks the callback must pass. */
  async start(params: Record<string, string> = {}): Promise<{ url: string; verifier: string; state: string; nonce: string }> {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(this.config, {
      redirect_uri: this.redirectUri,
      scope: 'openid profile phone jmb',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...params,
    });
    return { url: url.toString(), verifier, state, nonce };
  }

  /** Redeems the code in `callbackUrl` and validates the ID token (signature, iss, aud, nonce, state, iss param). */
  async redeem(callbackUrl: string, checks: { verifier: string; state: string; nonce: string }) {
    return client.authorizationCodeGrant(this.config, new URL(callbackUrl), {
      pkceCodeVerifier: checks.verifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
  }
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
