import type Provider from 'oidc-provider';
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';
import type { Jwk } from '../config/load.ts';
import { kindOf, REQUIRED_KINDS, signersAt, type KeyStore } from '../config/signing-keys.ts';

/** A JWKS as oidc-provider takes it. */
export type Jwks = { keys: Jwk[] };

/**
 * The JWKS to give oidc-provider at `now`: every key (so every key is published), our schedule
 * members removed, and every key but the signer of its kind marked `key_ops: ["verify"]`.
 * oidc-provider signs with the first key of the algorithm whose `key_ops`, if present, include
 * "sign" (KeyStore.selectForSign), so the mark is what keeps it from signing with the others,
 * whatever their order; it still verifies with them (an `id_token_hint` issued before a rotation).
 */
export function providerJwks(store: KeyStore, now: number): Jwks {
  const signers = new Set(signersAt(store.keys, now).values());
  return {
    keys: store.keys.map((key) => {
      const { added_at: _added, signs_from: _from, ...jwk } = key;
      // Without "alg", oidc-provider would let an RSA key sign PS256 to RS512 as well: each key signs
      // the one algorithm its kind is in the store for.
      const alg = jwk.alg ?? REQUIRED_KINDS.find((required) => required.kind === kindOf(key))?.alg;
      return signers.has(key) ? { ...jwk, alg } : { ...jwk, alg, key_ops: ['verify'] };
    }),
  };
}


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
