import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Signs and checks the `.sig` companions of signed cookies, for Koa and oidc-provider alike (both take
 * any object with `sign`, `verify` and `index` in place of a key list). HMAC-SHA256 under the newest
 * key; a cookie signed by an older key still verifies, and `index` tells which key it was so that the
 * cookie is re-signed with the newest one.
 *
 * Every request checks several signed cookies, so this is on the hot path: each check is one HMAC per
 * key tried and one constant-time comparison of the encoded signatures.
 */
export class CookieSigner {
  readonly #keys: readonly KeyObject[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('at least one cookie key is needed');
    this.#keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
  }

  sign(data: string): string {
    return this.#signWith(this.#keys[0]!, data);
  }

  verify(data: string, signature: string): boolean {
    return this.index(data, signature) !== -1;
  }

  /** The position of the key that made `signature`, or -1 when none did. */
  index(data: string, signature: string): number {
    if (typeof data !== 'string' || typeof signature !== 'string') return -1;
    const presented = Buffer.from(signature, 'utf8');
    for (let i = 0; i < this.#keys.length; i++) {
      const expected = Buffer.from(this.#signWith(this.#keys[i]!, data), 'utf8');
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) return i;
    }
    return -1;
  }

  #signWith(key: KeyObject, data: string): string {
    return createHmac('sha256', key).update(data).digest('base64url');
  }
}
