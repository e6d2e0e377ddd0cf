import type { Context } from 'koa';
import type { Config } from '../config/load.ts';

type Handler = (ctx: Context) => void;

const json = (body: unknown): Handler => (ctx) => {
  ctx.set('Cache-Control', 'public, max-age=3600');
  ctx.type = 'application/json';
  ctx.body = body;
};

/**
 * The well-known documents the IdP serves itself, from configuration (discovery and the JWKS are
 * oidc-provider's): the app association files, Android Digital Asset Links (so the apps may use the
 * IdP's passkeys), Apple's webcredentials and WebAuthn related origins, each undefined where nothing
 * is configured for it (its path is then not the IdP's, and answers 404); and the passkey endpoints.
 */
export function wellKnownDocuments(config: Pick<Config, 'apps' | 'webauthn' | 'issuer'>): {
  assetLinks?: Handler; appleAppSiteAssociation?: Handler; webauthn?: Handler; passkeyEndpoints: Handler;
} {
  const { android, ios } = config.apps;
  return {
    assetLinks: android.length ? json(android.map(({ packageName, fingerprint }) => ({
      relation: ['delegate_permission/common.handle_all_urls', 'delegate_permission/common.get_login_creds'],
      target: { namespace: 'android_app', package_name: packageName, sha256_cert_fingerprints: [fingerprint] },
    }))) : undefined,
    appleAppSiteAssociation: ios.length ? json({ webcredentials: { apps: ios } }) : undefined,
    webauthn: config.webauthn.relatedOrigins.length ? json({ origins: config.webauthn.relatedOrigins }) : undefined,
    // Where password managers send members to create and manage passkeys (W3C passkey endpoints).
    passkeyEndpoints: json({ enroll: `${config.issuer}/account/passkeys`, manage: `${config.issuer}/account/passkeys` }),
  };
}

/** The well-known documents' handlers, as wellKnownDocuments builds them. */
export type WellKnownDocuments = ReturnType<typeof wellKnownDocuments>;
