import { randomBytes, scryptSync } from 'node:crypto';

/**
 * A password hash as the IdP made them before argon2id, still held by members who have not logged
 * in since: scrypt N=2^15, r=8, p=1, encoded `scrypt$N$r$p$salt$hash` in base64url.
 */
export function scryptHash(password: string, params = { N: 32768, r: 8, p: 1 }): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFKC'), salt, 32, { ...params, maxmem: 256 * params.N * params.r });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}
