import { z } from 'zod';
import { numberSettings } from './parse.ts';

/** The cost of hashing a new or changed password with argon2id: memory in KiB, passes over it, and lanes. */
export type PasswordHashing = { memoryKib: number; passes: number; parallelism: number };

/** OWASP Password Storage Cheat Sheet's first choice: argon2id with 19 MiB, 2 passes and 1 lane. */
export const OWASP_ARGON2ID: Readonly<PasswordHashing> = Object.freeze({ memoryKib: 19_456, passes: 2, parallelism: 1 });

/**
 * The most a hash may cost: the settings stay within these, and a stored hash beyond them is refused
 * rather than computed, so a damaged record cannot make one log-in take a gigabyte or minutes.
 */
export const ARGON2ID_LIMITS: Readonly<PasswordHashing> = Object.freeze({ memoryKib: 1_048_576, passes: 32, parallelism: 16 });

// OWASP's list of equally strong argon2id settings trades memory for passes, from 46 MiB × 1 pass
// down to 7 MiB × 5 passes: weaker than the last of them is refused.
const OWASP_LEAST_MEMORY_KIB = 7_168;
const OWASP_LEAST_MEMORY_TIMES_PASSES = 7_168 * 5;

/** PASSWORD_ARGON2_*: what new and changed passwords are hashed with (OWASP's parameters by default). */
export function loadPasswordHashing(env: NodeJS.ProcessEnv, problems: string[]): PasswordHashing {
  const setting = numberSettings(env, problems);
  const number = (name: string, fallback: number, max: number) => setting(name, fallback, z.coerce.number().int().min(1).max(max));
  const hashing = {
    memoryKib: number('PASSWORD_ARGON2_MEMORY_KIB', OWASP_ARGON2ID.memoryKib, ARGON2ID_LIMITS.memoryKib),
    passes: number('PASSWORD_ARGON2_PASSES', OWASP_ARGON2ID.passes, ARGON2ID_LIMITS.passes),
    parallelism: number('PASSWORD_ARGON2_PARALLELISM', OWASP_ARGON2ID.parallelism, ARGON2ID_LIMITS.parallelism),
  };
  if (hashing.memoryKib < OWASP_LEAST_MEMORY_KIB || hashing.memoryKib * hashing.passes < OWASP_LEAST_MEMORY_TIMES_PASSES) {
    problems.push(`PASSWORD_ARGON2_MEMORY_KIB × PASSWORD_ARGON2_PASSES must be at least OWASP's weakest argon2id (${OWASP_LEAST_MEMORY_KIB} KiB × 5 passes, ` +
      `and at least ${OWASP_LEAST_MEMORY_KIB} KiB), got ${hashing.memoryKib} KiB × ${hashing.passes}`);
  }
  return hashing;
}
