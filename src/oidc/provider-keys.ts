import type Provider from 'oidc-provider';
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';
import type { Jwks } from './signing-keys.ts';

/**
 * Replaces the keys a running provider publishes and signs with. oidc-provider reads its JWKS once,
 * in its constructor (lib/provider.js hands it to lib/helpers/initialize_keystore.js); calling the
 * same initializer again on the live provider checks the keys exactly as at start, then swaps the
 * keystore and the published JWKS, each in one assignment, so no request sees half of a change.
 * Every part of the IdP that signs (the endpoints, the account page's log-outs, the members tool)
 * uses the one provider, so none can be left signing with keys from before.
 *
 * The initializer is not a public API: the package version is pinned, and the key rotation test
 * (test/integration/key-rotation.test.ts) fails if an upgrade changes it.
 */
export function replaceProviderKeys(provider: Provider, jwks: Jwks): void {
  initializeKeystore.call(provider, jwks);
}
