import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The one algorithm each kind of key in the store signs with: what the IdP's clients verify. */
const ALG_OF = { RSA: 'RS256', EC: 'ES256' } as const;

const CRT = ['p', 'q', 'dp', 'dq', 'qi'];
const MEMBERS = { RSA: ['n', 'e', 'd', ...CRT], EC: ['x', 'y', 'd'] } as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const PROBE = Buffer.from('jmb-idp signing key check');

/** How a refused key is named in its line: its `kid` when it has one, else its place in the file. */
export function keyLabel(key: unknown, index: number): string {
  const kid = (key as { kid?: unknown } | null)?.kid;
  return typeof kid === 'string' && kid !== '' ? `key ${JSON.stringify(kid)}` : `keys[${index}] (no "kid")`;
}

/**
 * What keeps one key of the store from signing as oidc-provider will use it, reasons only (never a
 * value of the key). oidc-provider's own checks (lib/helpers/initialize_keystore.js) throw with the
 * whole private key attached as the error's cause, and what they let through fails only later, at
 * the first signature (jose imports the JWK through WebCrypto): each key is therefore checked here
 * the same way first, down to signing with it and verifying with the half that is published.
 */
export function signingKeyProblems(key: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof key.kid !== 'string' || key.kid === '') problems.push('every key needs a "kid" (a non-empty string)');
  const kty = key.kty;
  if (kty === 'oct') return [...problems, 'a symmetric ("oct") key is never allowed: the IdP signs only with RSA (RS256) and EC P-256 (ES256) keys, whose public half it publishes'];
  if (kty !== 'RSA' && kty !== 'EC') return [...problems, `kty ${shown(kty)} is not used: the IdP signs only with RSA (RS256) and EC P-256 (ES256) keys`];

  // WebCrypto refuses a key whose `use` is not "sig" for signing; oidc-provider finds no use for it.
  if (key.use !== undefined && key.use !== 'sig') problems.push(`use ${shown(key.use)}: a key in the store signs, so "use" must be "sig" or left out`);
  if (key.alg !== undefined && key.alg !== ALG_OF[kty]) {
    problems.push(kty === 'RSA'
      ? `alg ${shown(key.alg)}: RSA keys sign RS256, the ID token algorithm of every client that names none ("alg" must be "RS256" or left out)`
      : `alg ${shown(key.alg)}: EC keys sign ES256 ("alg" must be "ES256" or left out)`);
  }
  if (kty === 'EC' && key.crv !== 'P-256') problems.push(`crv ${shown(key.crv)}: EC keys must be on P-256 (ES256)`);
  if (key.ext !== undefined && typeof key.ext !== 'boolean') problems.push('"ext" must be true or false');
  if (key.x5c !== undefined && !(Array.isArray(key.x5c) && key.x5c.length && key.x5c.every((cert) => typeof cert === 'string' && cert))) problems.push('"x5c" must be a list of certificates');
  if (key.oth !== undefined) problems.push('multi-prime RSA keys ("oth") are not supported');

  const missing: string[] = MEMBERS[kty].filter((member) => key[member] === undefined);
  const crt: string[] = kty === 'RSA' && key.d !== undefined ? CRT.filter((member) => missing.includes(member)) : [];
  if (crt.length) {
    problems.push(`an RSA private key without its CRT parameters (${crt.join(', ')} missing): oidc-provider needs the whole private key, as "npm run keys -- rotate" writes it or a JWK export of the full key holds it`);
  }
  const other = missing.filter((member) => !crt.includes(member));
  if (other.length) problems.push(`missing ${other.join(', ')}${other.includes('d') ? ' (the private key: every key in the store must be able to sign)' : ''}`);
  const malformed = MEMBERS[kty].filter((member) => key[member] !== undefined && !(typeof key[member] === 'string' && BASE64URL.test(key[member])));
  if (malformed.length) problems.push(`${malformed.join(', ')} must be base64url strings without padding (RFC 7518)`);
  if (problems.length) return problems;

  return importProblems(key, kty);
}

/** Imports the key, then signs with it and verifies with the published half (n, e or x, y). */
function importProblems(key: Record<string, unknown>, kty: 'RSA' | 'EC'): string[] {
  const jwk = { kty, ...(kty === 'EC' && { crv: 'P-256' }), ...Object.fromEntries(MEMBERS[kty].map((member) => [member, key[member]])) };
  const publicJwk = kty === 'RSA' ? { kty, n: key.n, e: key.e } : { kty, crv: 'P-256', x: key.x, y: key.y };
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  try {
    // The errors of these calls are not passed on: they say little, and a future one might quote the key.
    privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
    publicKey = createPublicKey({ key: publicJwk as never, format: 'jwk' });
  } catch {
    return [`cannot be imported: its members do not form ${kty === 'RSA' ? 'an RSA' : 'an EC P-256'} private key`];
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength;
  // jose, which signs for oidc-provider, refuses RS256 with a smaller modulus at every signature.
  if (kty === 'RSA' && (bits === undefined || bits < 2048)) return [`an RSA modulus of ${bits ?? 'unknown'} bits: RS256 needs at least 2048`];
  try {
    const options = kty === 'EC' ? { dsaEncoding: 'ieee-p1363' as const } : {};
    const signature = sign('sha256', PROBE, { key: privateKey, ...options });
    if (verify('sha256', PROBE, { key: publicKey, ...options }, signature)) return [];
  } catch {
    // Reported below, like a signature that does not verify.
  }
  return [`its private part does not match its public part (${kty === 'RSA' ? 'n, e' : 'x, y'}): what it signed would not verify against the published key`];
}

/** A value from the key for a problem line: short strings only, so no key member is ever quoted. */
function shown(value: unknown): string {
  if (value === undefined) return '(none)';
  return typeof value === 'string' && value.length <= 24 && /^[\w.+-]*$/.test(value) ? JSON.stringify(value) : '(not a known value)';
}
