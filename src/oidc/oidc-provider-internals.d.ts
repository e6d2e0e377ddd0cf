// The one internal module of oidc-provider the IdP calls (see provider-keys.ts).
declare module 'oidc-provider/lib/helpers/initialize_keystore.js' {
  import type Provider from 'oidc-provider';
  export default function initialize(this: Provider, jwks: { keys: object[] }): void;
}
