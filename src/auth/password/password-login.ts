import { randomBytes } from 'node:crypto';
import type { LoginLimits } from '../../config/protection.ts';
import type { AuditLog, Clock, Counters, Member, Members } from '../../store/port.ts';
import { costOf, defaultPasswordHasher, legacyScryptSample, verifyPassword as checkSample, type PasswordHasher } from '../../members/password.ts';
import { AuthError } from '../auth-error.ts';
import { createAddressTallies } from './address-tally.ts';
import { createFailurePacing, type FailurePacing } from './failure-pacing.ts';
import type { DeviceTrust } from './device-trust.ts';
import { HashQueueFullError, type HashPlace, type HashQueue } from './hash-queue.ts';
import { createWaits, forgetWaits } from './waits.ts';

export type PasswordLoginDeps = {
  members: Members;
  counters: Counters;
  audit: AuditLog;
  limits: LoginLimits;
  devices: DeviceTrust;
  hashing: HashQueue;
  clock: Clock;
  /** What a client address counts under in the per-address limits and the hash queue's turns (an IPv6 client by its /64). */
  addressKey?: (ip: string) => string;
  /** Hashes and checks passwords (PASSWORD_ARGON2_*); OWASP's argon2id parameters when absent. */
  passwords?: PasswordHasher;
  /** How failed checks are paced so their time reveals nothing (tests pass their own). */
  pacing?: FailurePacing;
};

export type PasswordAttempt = {
  number: string;
  password: string;
  ip: string;
  userAgent?: string;
  clientId?: string;
  /** The browser's device cookie, if it has one. */
  device?: string;
};

export type PasswordLogin = {
  /** The member whose number and password match; throws AuthError otherwise. */
  logIn(attempt: PasswordAttempt): Promise<Member>;
  /** Seconds to wait when an attempt from `ip` now would find too many password checks ahead of it; undefined when it would be taken. */
  busyFor(ip: string): number | undefined;
};

const MINUTE = 60_000;

/** The counters and waits the password log-in keeps. */
const loginKeys = {
  number: (number: string) => `number:${number}`,
  device: (nonce: string) => `device:${nonce}`,
  // Failures across all members, per minute: the current minute and the one before decide.
  everyone: (minute: number) => `login-failures:all:${minute}`,
  successes: (key: string, window: number) => `login-successes:${window}:${key}`,
} as const;

/**
 * Lifts the waits on a member number (an operator's decision after checking who is calling). A
 * browser's own waits, after failures on it, end by themselves.
 */
export async function liftLoginWaits(counters: Counters, number: string): Promise<void> {
  await forgetWaits(counters, loginKeys.number(number));
}

/**
 * The legacy member-number + password log-in. Every failure (unknown number, wrong password, a
 * member who may not log in) takes the same path and the same time, so nothing reveals whether a
 * member exists.
 *
 * Guessing is slowed without letting a stranger keep a member out:
 * - from a browser the member has logged in from before (a valid device cookie), failures count
 *   against that browser alone: failures anywhere else never pause it;
 * - from any other browser, failures count against the member number, and past the first few each
 *   one starts a growing wait. An attempt from an address with recent failures is suspect: its
 *   failures start waits for suspect attempts only, so strangers who keep failing never keep the
 *   member waiting at an address of their own;
 * - one client address is paused after many unsuccessful attempts (refusals count too) or many
 *   attempts of any kind;
 * - while failures across all members run above a threshold (a spraying wave), suspect attempts
 *   wait after every failure.
 * Hashing is a shared resource: every attempt takes its places in the store before its hash, so
 * attempts sent together never get more checks than the limits allow; successes count too, per
 * member number (or known browser) and per address; and the hash queue serves addresses in turn.
 * Passkey log-ins never pass through here, so no password failure delays them.
 */
export function createPasswordLogin(deps: PasswordLoginDeps): PasswordLogin {
  const { members, counters, audit, limits, devices, hashing, clock, addressKey = (ip: string) => ip } = deps;
  const { hash: hashPassword, verify: verifyPassword, needsRehash } = deps.passwords ?? defaultPasswordHasher;
  const waits = createWaits(counters, { baseSeconds: limits.waitBaseSeconds, maxSeconds: limits.waitMaxSeconds, memorySeconds: limits.memorySeconds });
  const addresses = createAddressTallies(counters, limits.windowSeconds, clock);
  const decoy = hashPassword(randomBytes(16).toString('base64url'));
  decoy.catch(() => {});
  const pacing = deps.pacing ?? createFailurePacing({
    async sampleSlowest() {
      const sample = await legacyScryptSample();
      const started = performance.now();
      await checkSample('', sample);
      return { cost: costOf(sample), ms: performance.now() - started };
    },
  });

  const keys = loginKeys;
  const windowMs = limits.windowSeconds * 1000;

  async function surging(): Promise<boolean> {
    const minute = Math.floor(clock() / MINUTE);
    const [now, before] = await Promise.all([counters.get(keys.everyone(minute)), counters.get(keys.everyone(minute - 1))]);
    return Math.max(now?.count ?? 0, before?.count ?? 0) >= limits.surgePerMinute;
  }

  const refuse = (until: Date): never => {
    throw new AuthError('too_many_attempts', 'too many failed log-ins', { retryAt: until });
  };

  /** A place in the hash queue for `address`, taken before anything is counted: a busy refusal costs the member nothing. */
  const placeFor = (address: string): HashPlace => {
    try {
      return hashing.enter(address);
    } catch (error) {
      if (error instanceof HashQueueFullError) throw new AuthError('busy', 'too many log-ins are being checked', { retryAt: new Date(clock() + error.retryAfter * 1000) });
      throw error;
    }
  };

  return {
    busyFor: (ip) => hashing.busyFor(addressKey(ip)),

    async logIn(attempt) {
      const address = addressKey(attempt.ip);
      const place = placeFor(address);
      try {
        return await check(attempt, address, place);
      } finally {
        place.leave();
      }
    },
  };

  /** One attempt: its places taken in the store, then its hash, then what its outcome leaves counted. */
  async function check({ number: typed, password, ip, userAgent, clientId, device }: PasswordAttempt, address: string, place: HashPlace): Promise<Member> {
    const number = typed.replace(/[\s-]/g, '');
    const member = /^\d{7,10}$/.test(number) ? await members.findByNumber(number) : undefined;
    const nonce = member && devices.nonceFor(device, member);
    const event = { at: new Date(clock()), type: 'login.password', ip, userAgent, clientId };
    const key = nonce ? keys.device(nonce) : keys.number(number);
    const window = Math.floor(clock() / windowMs);
    const windowEnd = new Date((window + 1) * windowMs);

    // Refused before any hashing, and every refusal counts against the address that sent it.
    const [tally, successes] = await Promise.all([addresses.count(address), counters.get(keys.successes(key, window))]);
    if (tally.attempts > limits.perAddress || (!nonce && tally.unsuccessful > limits.perIp)) refuse(tally.resetAt);
    if ((successes?.count ?? 0) >= limits.successesPerMember) refuse(windowEnd);
    // Only suspect attempts (an unknown browser at an address that has failed) feel a wave, and
    // their failures start waits of their own: a stranger's failures never lock out a clean address.
    const suspect = !nonce && tally.failures > 0;
    const surge = suspect && (await surging());
    const reservation = await waits.reserve(key, nonce ? limits.perDevice : surge ? 0 : limits.perMember, suspect);
    if (!reservation.taken) return refuse(reservation.until);

    const checked = member?.passwordHash ?? (await decoy);
    let took = 0;
    const matches = await place.run(async () => {
      const started = performance.now();
      try {
        return await verifyPassword(password, checked);
      } finally {
        took = performance.now() - started;
      }
    });
    pacing.observe(costOf(checked), took);

    if (!member || !matches || member.status !== 'active') {
      // Answered no sooner than a check against the slowest hash a member may hold: see failure-pacing.ts.
      await pacing.pad(costOf(checked), took);
      if (member) {
        const reason = matches ? `member ${member.status}` : 'wrong password';
        await audit.append({ ...event, memberId: member.id, outcome: 'failure', detail: { reason, knownBrowser: !!nonce } });
      }
      await Promise.all([tally.failed(), nonce ? undefined : counters.increment(keys.everyone(Math.floor(clock() / MINUTE)), 120)]);
      if (reservation.waitUntil && member) {
        const seconds = Math.round((reservation.waitUntil.getTime() - clock()) / 1000);
        await audit.append({ ...event, memberId: member.id, type: 'login.paused', outcome: 'info', detail: { seconds, knownBrowser: !!nonce, surge, suspect } });
      }
      // Counted on the same key for every number typed, a member's or not: the count reveals nothing.
      throw new AuthError('invalid_credentials', 'membership number or password is incorrect', { retryAt: reservation.waitUntil, triesLeft: reservation.triesLeft });
    }

    const untilWindowEnd = Math.max(1, Math.ceil((windowEnd.getTime() - clock()) / 1000));
    await Promise.all([reservation.forget(), tally.succeeded(), counters.increment(keys.successes(key, window), untilWindowEnd)]);
    await audit.append({ ...event, memberId: member.id, outcome: 'success', detail: { knownBrowser: !!nonce } });
    if (needsRehash(member.passwordHash)) await rehash(member, password, address);
    return member;
  }

  async function rehash(member: Member, password: string, address: string): Promise<void> {
    try {
      await members.update(member.id, { passwordHash: await hashing.enter(address).run(() => hashPassword(password)) });
    } catch (error) {
      // At a peak the stronger hash waits for a quieter log-in.
      if (!(error instanceof HashQueueFullError)) throw error;
    }
  }
}
