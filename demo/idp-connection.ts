import * as jose from 'jose';
import * as client from 'openid-client';

export type IdpOptions = {
  /** The IdP's issuer, or a promise of it when the IdP starts after the website. */
  issuer: string | Promise<string>;
  clientId: string;
  clientSecret: string;
};

/** What the website needs from a discovered IdP: the openid-client configuration and the IdP's signing keys. */
export type IdpConnection = {
  issuer: string;
  config: client.Configuration;
  keys: jose.JWTVerifyGetKey;
  /** The algorithms the IdP signs ID (and so logout) tokens with. */
  algorithms: string[];
};

/** The IdP could not be discovered; the next request tries again. */
export class IdpUnavailableError extends Error {}

const RETRY_DELAYS_MS = [250, 1000];

/**
 * Discovers the IdP on first use rather than at start-up, retrying a few times, and remembers the
 * result. A failed discovery is forgotten, so a later request tries again once the IdP is up.
 */
export function createIdpConnector(options: IdpOptions): () => Promise<IdpConnection> {
  let connecting: Promise<IdpConnection> | undefined;
  return () => {
    connecting ??= connectWithRetry(options).catch((error: unknown) => {
      connecting = undefined;
      throw new IdpUnavailableError(`the IdP could not be discovered: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    return connecting;
  };
}

async function connectWithRetry(options: IdpOptions): Promise<IdpConnection> {
  const issuer = await options.issuer;
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect(issuer, options);
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

async function connect(issuer: string, options: IdpOptions): Promise<IdpConnection> {
  const insecure = new URL(issuer).protocol === 'http:';
  const config = await client.discovery(
    new URL(issuer),
    options.clientId,
    { client_secret: options.clientSecret },
    client.ClientSecretBasic(options.clientSecret),
    // Plain http only for a development IdP on this machine.
    insecure ? { execute: [client.allowInsecureRequests] } : undefined,
  );
  const metadata = config.serverMetadata();
  if (!metadata.jwks_uri) throw new Error(`the IdP at ${issuer} publishes no jwks_uri`);
  return {
    issuer: metadata.issuer,
    config,
    keys: jose.createRemoteJWKSet(new URL(metadata.jwks_uri)),
    algorithms: (metadata.id_token_signing_alg_values_supported ?? ['RS256']).filter((alg) => alg !== 'none'),
  };
}
