import { argon2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ARGON2ID_LIMITS, OWASP_ARGON2ID, type PasswordHashing } from '../config/passwords.ts';

/** Hashes passwords at configured argon2id parameters, and checks them against any hash the IdP has stored. */
export type PasswordHasher = {
  /** A fresh-salted argon2id hash of `password` as a PHC string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. */
  hash(password: string): Promise<string>;
  /** True when `password` matches `encoded` (argon2id, or scrypt from before); compares in constant time. Malformed hashes never match. */
  verify(password: string, encoded: string): Promise<boolean>;
  /** True unless `encoded` is argon2id at exactly this hasher's parameters: re-hash after the member's next successful log-in. */
  needsRehash(encoded: string): boolean;
};

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Argon2 version 1.3 (RFC 9106), the one Node implements. */
const ARGON2_VERSION = 19;

type Argon2idHash = PasswordHashing & { salt: Buffer; key: Buffer };

// Both run on libuv's thread pool, so hashing never blocks the event loop. Passwords are compared
// in NFKC, so the same characters typed on another keyboard still match.
function deriveArgon2id(password: string, salt: Buffer, params: PasswordHashing, keyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2('argon2id', {
      message: password.normalize('NFKC'), nonce: salt, memory: params.memoryKib, passes: params.passes, parallelism: params.parallelism, tagLength: keyBytes,
    }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function deriveScrypt(password: string, salt: Buffer, params: { N: number; r: number; p: number }, keyBytes: number): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** PHC's base64: the standard alphabet without padding. */
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
/** The bytes of a PHC base64 field, or undefined when it is not one (not canonical included). */
function fromB64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return b64(bytes) === text ? bytes : undefined;
}

const PHC_ARGON2ID = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/;

/** A stored argon2id hash within what the IdP will compute, or undefined. */
function parseArgon2id(encoded: string): Argon2idHash | undefined {
  const match = PHC_ARGON2ID.exec(encoded);
  if (!match || Number(match[1]) !== ARGON2_VERSION) return undefined;
  const [memoryKib, passes, parallelism] = [match[2], match[3], match[4]].map(Number) as [number, number, number];
  const salt = fromB64(match[5]!);
  const key = fromB64(match[6]!);
  const within = (value: number, max: number) => Number.isSafeInteger(value) && value >= 1 && value <= max;
  if (!within(passes, ARGON2ID_LIMITS.passes) || !within(parallelism, ARGON2ID_LIMITS.parallelism)) return undefined;
  // Argon2 needs 8 KiB of memory per lane (RFC 9106 §3.1).
  if (!within(memoryKib, ARGON2ID_LIMITS.memoryKib) || memoryKib < 8 * parallelism) return undefined;
  if (!salt || salt.length < 8 || !key || key.length < 16 || key.length > 64) return undefined;
  return { memoryKib, passes, parallelism, salt, key };
}

/** The encoding of hashes made before argon2id: `scrypt$N$r$p$salt$hash` (base64url). */
function parseScrypt(encoded: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid = [N, r, p].every((n) => Number.isSafeInteger(n) && n >= 1);
  // A power of two, and no more memory (128·N·r bytes) than the largest argon2id hash allowed.
  if (!valid || N < 2 || (N & (N - 1)) !== 0 || 128 * N * r > ARGON2ID_LIMITS.memoryKib * 1024 || p > 16) return undefined;
  const key = Buffer.from(parts[5]!, 'base64url');
  if (key.length !== KEY_BYTES) return undefined;
  return { N, r, p, salt: Buffer.from(parts[4]!, 'base64url'), key };
}

/** True when `password` matches `encoded`, whatever parameters it was made with. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const argon = parseArgon2id(encoded);
  if (argon) return timingSafeEqual(await deriveArgon2id(password, argon.salt, argon, argon.key.length), argon.key);
  const legacy = parseScrypt(encoded);
  if (legacy) return timingSafeEqual(await deriveScrypt(password, legacy.salt, legacy, KEY_BYTES), legacy.key);
  return false;
}

/**
 * What checking a password against `encoded` costs, as a key: the algorithm and its parameters
 * (`argon2id:19456:2:1`, `scrypt:32768:8:1`). Hashes with the same key take the same time to check.
 */
export function costOf(encoded: string): string {
  const argon = parseArgon2id(encoded);
  if (argon) return `argon2id:${argon.memoryKib}:${argon.passes}:${argon.parallelism}`;
  const legacy = parseScrypt(encoded);
  return legacy ? `scrypt:${legacy.N}:${legacy.r}:${legacy.p}` : 'malformed';
}

/** The parameters every scrypt hash the IdP wrote before argon2id was made with. */
const LEGACY_SCRYPT = { N: 32_768, r: 8, p: 1 } as const;

/** A scrypt hash of a random password at the parameters the IdP used before argon2id: what members not yet re-hashed hold. */
export async function legacyScryptSample(): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveScrypt(randomBytes(16).toString('base64url'), salt, LEGACY_SCRYPT, KEY_BYTES);
  return ['scrypt', LEGACY_SCRYPT.N, LEGACY_SCRYPT.r, LEGACY_SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A hasher at `params` (PASSWORD_ARGON2_*), built once where the settings are loaded and passed to whoever hashes. */
export function createPasswordHasher(params: PasswordHashing): PasswordHasher {
  const current = Object.freeze({ memoryKib: params.memoryKib, passes: params.passes, parallelism: params.parallelism });
  return {
    async hash(password) {
      const salt = randomBytes(SALT_BYTES);
      const key = await deriveArgon2id(password, salt, current, KEY_BYTES);
      return `$argon2id$v=${ARGON2_VERSION}$m=${current.memoryKib},t=${current.passes},p=${current.parallelism}$${b64(salt)}$${b64(key)}`;
    },
    verify: verifyPassword,
    needsRehash(encoded) {
      const stored = parseArgon2id(encoded);
      // Any other cost, weaker or stronger, is re-hashed: a log-in then costs what the settings say,
      // which is also what a log-in with an unknown number costs (its decoy is hashed here).
      return !stored || stored.memoryKib !== current.memoryKib || stored.passes !== current.passes || stored.parallelism !== current.parallelism
        || stored.salt.length !== SALT_BYTES || stored.key.length !== KEY_BYTES;
    },
  };
}

/** At OWASP's parameters (the settings' defaults): for tools and tests that hash without settings. */
export const defaultPasswordHasher: PasswordHasher = createPasswordHasher(OWASP_ARGON2ID);

/** Hashes a password at OWASP's argon2id parameters. */
export const hashPassword = defaultPasswordHasher.hash;
