import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Signatures under the newest key kept for values signed or checked lately (see CookieSigner). */
const REMEMBERED = 16_384;

/**
 * Signs and checks the `.sig` companions of signed cookies, for Koa and oidc-provider alike (both take
 * any object with `sign`, `verify` and `index` in place of a key list). HMAC-SHA256 under the newest
 * key; a cookie signed by an older key still verifies, and `index` tells which key it was so that the
 * cookie is re-signed with the newest one.
 *
 * Every request checks several signed cookies, so this is on the hot path: each check is one HMAC per
 * key tried and one constant-time comparison of the encoded signatures. Most cookies checked are ones
 * this process signed moments earlier (the next step of a sign-in), so the newest key's signatures
 * of recent values are remembered and not computed again. A signature is no secret (the browser
 * holds it), and the comparison with what was presented stays constant-time either way.
 */
export class CookieSigner {
  readonly #keys: readonly KeyObject[];
  /** Cookie value → its signature under the newest key; oldest first, at most REMEMBERED. */
  readonly #recent = new Map<string, string>();

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('at least one cookie key is needed');
    this.#keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
  }

  sign(data: string): string {
    return this.#newest(data);
  }

  verify(data: string, signature: string): boolean {
    return this.index(data, signature) !== -1;
  }

  /** The position of the key that made `signature`, or -1 when none did. */
  index(data: string, signature: string): number {
    if (typeof data !== 'string' || typeof signature !== 'string') return -1;
    const presented = Buffer.from(signature, 'utf8');
    for (let i = 0; i < this.#keys.length; i++) {
      const expected = Buffer.from(i === 0 ? this.#newest(data) : signWith(this.#keys[i]!, data), 'utf8');
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) return i;
    }
    return -1;
  }

  #newest(data: string): string {
    const known = this.#recent.get(data);
    if (known !== undefined) return known;
    const signature = signWith(this.#keys[0]!, data);
    if (this.#recent.size >= REMEMBERED) this.#recent.delete(this.#recent.keys().next().value!);
    this.#recent.set(data, signature);
    return signature;
  }
}

function signWith(key: KeyObject, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url');
}
