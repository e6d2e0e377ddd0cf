import * as client from 'openid-client';
import { WEBSITE, type TestApp } from './test-app.ts';

export type RelyingPartyOptions = {
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
  /** How a client with a secret authenticates at the token endpoint (default: HTTP Basic). */
  secretIn?: 'header' | 'body';
};

/** The parts of a client's registration a relying party needs. */
export type RegisteredClient = { client_id: string; client_secret?: unknown; redirect_uris?: readonly unknown[] };

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

  /** The client registered as `client` (its metadata, as in the clients file) as a relying party of `app`, at its first redirect URI. */
  static of(app: Pick<TestApp, 'url'>, client: RegisteredClient, options: Pick<RelyingPartyOptions, 'secretIn'> = {}): Promise<RelyingParty> {
    const clientSecret = typeof client.client_secret === 'string' ? client.client_secret : undefined;
    return RelyingParty.discover(app, { clientId: client.client_id, clientSecret, redirectUri: String(client.redirect_uris?.[0]), ...options });
  }

  /** The test website client (test-app.ts WEBSITE) as a relying party of `app`. */
  static website(app: Pick<TestApp, 'url'>): Promise<RelyingParty> {
    return RelyingParty.of(app, WEBSITE);
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
