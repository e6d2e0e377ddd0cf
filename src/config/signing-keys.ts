import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Jwk } from './load.ts';
import { keyLabel, signingKeyProblems } from './signing-key-check.ts';

/**
 * The signing key store's schedule. Each private JWK may carry two members of ours, both ISO 8601:
 * `added_at` (when it entered the store) and `signs_from` (when it may start signing). A key without
 * `signs_from` has always been allowed to sign. Of each kind of key (RSA, EC P-256, …) the one whose
 * `signs_from` is latest but not in the future signs; every key in the store is published in
 * `jwks_uri`, so a key added with `signs_from` a day ahead is published a day before it is used.
 */
export type ScheduledJwk = Jwk & { added_at?: string; signs_from?: string };
export type KeyStore = { keys: ScheduledJwk[] };

/** Where a key stands at a moment: signing, published and waiting to sign, or kept for verification after it signed. */
export type KeyState = 'signing' | 'next' | 'verifying';

/** RSA keys sign RS256 (the default of every client that names none); EC P-256 keys sign ES256 (our own clients'). */
export const REQUIRED_KINDS = [{ kind: 'RSA', alg: 'RS256' }, { kind: 'EC P-256', alg: 'ES256' }] as const;

/** The kind of key a JWK is, for the schedule: keys of one kind replace each other. */
export function kindOf(key: Jwk): string {
  return key.kty === 'EC' || key.kty === 'OKP' ? `${key.kty} ${String(key.crv)}` : key.kty;
}

const signsFrom = (key: ScheduledJwk) => (key.signs_from === undefined ? -Infinity : Date.parse(key.signs_from));

/** The key of each kind that signs at `now`: the latest `signs_from` not after `now` (of equals, the later in the file). */
export function signersAt(keys: readonly ScheduledJwk[], now: number): Map<string, ScheduledJwk> {
  const signers = new Map<string, ScheduledJwk>();
  for (const key of keys) {
    if (signsFrom(key) > now) continue;
    const current = signers.get(kindOf(key));
    if (!current || signsFrom(key) >= signsFrom(current)) signers.set(kindOf(key), key);
  }
  return signers;
}

/** Every key's state at `now`, and for a key that has signed and been replaced, since when. */
export function keyStates(keys: readonly ScheduledJwk[], now: number): { key: ScheduledJwk; state: KeyState; replacedAt: number | undefined }[] {
  const signers = signersAt(keys, now);
  return keys.map((key) => {
    if (signers.get(kindOf(key)) === key) return { key, state: 'signing', replacedAt: undefined };
    if (signsFrom(key) > now) return { key, state: 'next', replacedAt: undefined };
    // It stopped signing when the first key of its kind scheduled after it started.
    const successors = keys.filter((other) => kindOf(other) === kindOf(key) && signsFrom(other) > signsFrom(key) && signsFrom(other) <= now);
    const replacedAt = Math.min(...successors.map(signsFrom));
    return { key, state: 'verifying', replacedAt: Number.isFinite(replacedAt) ? replacedAt : undefined };
  });
}

/**
 * What is wrong with a key store at `now`, one line each: what the IdP refuses to start (or reload)
 * with. Each key that cannot sign as oidc-provider will use it gets one line naming its `kid` (or its
 * place in the file) and every reason, never a value of the key; then what the store as a whole lacks.
 */
export function keyStoreProblems(store: KeyStore, now: number): string[] {
  const problems: string[] = [];
  const usable: ScheduledJwk[] = [];
  store.keys.forEach((key, index) => {
    const reasons = [...signingKeyProblems(key), ...scheduleProblems(key)];
    if (reasons.length) problems.push(`${keyLabel(key, index)}: ${reasons.join('; ')}`);
    else usable.push(key);
  });
  const places = new Map<string, number[]>();
  store.keys.forEach((key, index) => {
    if (typeof key.kid === 'string' && key.kid) places.set(key.kid, [...places.get(key.kid) ?? [], index]);
  });
  for (const [kid, at] of places) {
    if (at.length > 1) problems.push(`key ${JSON.stringify(kid)}: the same "kid" appears ${at.length} times (${at.map((index) => `keys[${index}]`).join(', ')}); relying parties choose the key to verify with by its "kid"`);
  }
  const signers = signersAt(usable, now);
  for (const { kind, alg } of REQUIRED_KINDS) {
    if (!usable.some((key) => kindOf(key) === kind)) {
      problems.push(kind === 'RSA'
        ? 'must include an RSA key: RS256 is the ID token algorithm of every client that names none'
        : 'must include an EC P-256 key: the programme\'s own clients ask for ES256');
    } else if (!signers.has(kind)) {
      problems.push(`no ${kind} key may sign yet (every ${alg} key's signs_from is in the future)`);
    }
  }
  return problems;
}

/** Our own members of a key: readable times, and no `key_ops` (providerJwks sets them from the schedule). */
function scheduleProblems(key: ScheduledJwk): string[] {
  const problems: string[] = [];
  for (const field of ['added_at', 'signs_from'] as const) {
    // The value is quoted only when short: a key member pasted in the wrong place is never printed.
    const value = key[field];
    if (value !== undefined && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
      problems.push(`${field} must be an ISO 8601 time${typeof value === 'string' && value.length <= 32 ? `, got ${JSON.stringify(value)}` : ''}`);
    }
  }
  if (key.key_ops !== undefined) problems.push('leave out key_ops; which key signs is decided by signs_from');
  return problems;
}

/** A fresh private key of `kind` (RSA 2048 or EC P-256), named by its algorithm, the day and a random suffix. */
export function generateSigningKey(kind: (typeof REQUIRED_KINDS)[number]['kind'], now: number, signsFromAt?: number): ScheduledJwk {
  const { alg } = REQUIRED_KINDS.find((required) => required.kind === kind)!;
  const pair = kind === 'RSA' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.privateKey.export({ format: 'jwk' }) as Jwk;
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  return {
    ...jwk,
    kid: `${alg.toLowerCase()}-${day}-${randomBytes(3).toString('hex')}`,
    alg,
    use: 'sig',
    added_at: new Date(now).toISOString(),
    ...(signsFromAt !== undefined && { signs_from: new Date(signsFromAt).toISOString() }),
  };
}

/** A rotation was asked for while the last one's keys have not started signing yet. */
export class RotationRefused extends Error {}

/**
 * Adds a new key of each required kind, published at once and signing `overlapMs` later. Refused
 * while keys of an earlier rotation are still waiting to sign.
 */
export function rotateKeys(store: KeyStore, now: number, overlapMs: number): { store: KeyStore; added: ScheduledJwk[] } {
  const waiting = keyStates(store.keys, now).filter(({ state }) => state === 'next');
  if (waiting.length) {
    const from = waiting.map(({ key }) => key.signs_from).sort()[0];
    throw new RotationRefused(`keys ${waiting.map(({ key }) => key.kid).join(', ')} are already waiting to sign from ${from}: rotate again after that`);
  }
  const added = REQUIRED_KINDS.map(({ kind }) => generateSigningKey(kind, now, now + overlapMs));
  return { store: { ...store, keys: [...store.keys, ...added] }, added };
}

/**
 * Removes the keys nothing still valid can need: replaced as signers at least `retentionMs` ago.
 * The signers, the keys waiting to sign, and keys replaced more recently stay (with when they may go).
 */
export function retireKeys(store: KeyStore, now: number, retentionMs: number): { store: KeyStore; removed: ScheduledJwk[]; kept: { key: ScheduledJwk; state: KeyState; until: number | undefined }[] } {
  const states = keyStates(store.keys, now);
  const removable = (replacedAt: number | undefined) => replacedAt !== undefined && replacedAt + retentionMs <= now;
  return {
    store: { ...store, keys: states.filter(({ replacedAt }) => !removable(replacedAt)).map(({ key }) => key) },
    removed: states.filter(({ replacedAt }) => removable(replacedAt)).map(({ key }) => key),
    kept: states.filter(({ replacedAt }) => !removable(replacedAt)).map(({ key, state, replacedAt }) => ({ key, state, until: replacedAt === undefined ? undefined : replacedAt + retentionMs })),
  };
}
