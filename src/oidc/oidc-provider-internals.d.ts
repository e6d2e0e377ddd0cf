// The internal modules of oidc-provider the IdP calls (see provider-keys.ts and logout.ts); the
// version is pinned in package.json, and the tests of key rotation and log-out exercise both.
declare module 'oidc-provider/lib/helpers/initialize_keystore.js' {
  import type Provider from 'oidc-provider';
  export default function initialize(this: Provider, jwks: { keys: object[] }): void;
}

declare module 'oidc-provider/lib/actions/end_session.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  /** The middleware of the log-out confirmation form's endpoint, in order; the last one ends the session. */
  export const confirm: ((ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => Promise<unknown> | unknown)[];
}
