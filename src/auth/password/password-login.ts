import { randomBytes } from 'node:crypto';
import type { LoginLimits } from '../../config/protection.ts';
import type { AuditLog, Clock, Counters, Member, Members } from '../../store/port.ts';
import { defaultPasswordHasher, type PasswordHasher } from '../../members/password.ts';
import { AuthError } from '../auth-error.ts';
import type { DeviceTrust } from './device-trust.ts';
import { HashQueueFullError, type HashQueue } from './hash-queue.ts';
import { createWaits, forgetWaits } from './waits.ts';

export type PasswordLoginDeps = {
  members: Members;
  counters: Counters;
  audit: AuditLog;
  limits: LoginLimits;
  devices: DeviceTrust;
  hashing: HashQueue;
  clock: Clock;
  /** What a client address counts under in the per-address limit (an IPv6 client by its /64). */
  addressKey?: (ip: string) => string;
  /** Hashes and checks passwords (PASSWORD_ARGON2_*); OWASP's argon2id parameters when absent. */
  passwords?: PasswordHasher;
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
  /** Seconds to wait when an attempt now would find too many password checks ahead of it; undefined when it would be taken. */
  busyFor(): number | undefined;
};

const MINUTE = 60_000;

/** The counters and waits the password log-in keeps. */
const loginKeys = {
  ip: (ip: string) => `login-failures:ip:${ip}`,
  number: (number: string) => `number:${number}`,
  device: (nonce: string) => `device:${nonce}`,
  // Failures across all members, per minute: the current minute and the one before decide.
  everyone: (minute: number) => `login-failures:all:${minute}`,
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
 *   one starts a growing wait; one client address is paused after many failures across numbers;
 * - while failures across all members run above a threshold (a spraying wave), other browsers wait
 *   after every failure.
 * Passkey log-ins never pass through here, so no password failure delays them.
 */
export function createPasswordLogin(deps: PasswordLoginDeps): PasswordLogin {
  const { members, counters, audit, limits, devices, hashing, clock, addressKey = (ip: string) => ip } = deps;
  const { hash: hashPassword, verify: verifyPassword, needsRehash } = deps.passwords ?? defaultPasswordHasher;
  const waits = createWaits(counters, { baseSeconds: limits.waitBaseSeconds, maxSeconds: limits.waitMaxSeconds, memorySeconds: limits.memorySeconds });
  const decoy = hashPassword(randomBytes(16).toString('base64url'));
  decoy.catch(() => {});

  const keys = loginKeys;

  async function surging(): Promise<boolean> {
    const minute = Math.floor(clock() / MINUTE);
    const [now, before] = await Promise.all([counters.get(keys.everyone(minute)), counters.get(keys.everyone(minute - 1))]);
    return Math.max(now?.count ?? 0, before?.count ?? 0) >= limits.surgePerMinute;
  }

  const refuse = (until: Date): never => {
    throw new AuthError('too_many_attempts', 'too many failed log-ins', until);
  };

  return {
    busyFor: hashing.busyFor,

    async logIn({ number: typed, password, ip, userAgent, clientId, device }) {
      const ipKey = addressKey(ip);
      const number = typed.replace(/[\s-]/g, '');
      const member = /^\d{7,10}$/.test(number) ? await members.findByNumber(number) : undefined;
      const nonce = member && devices.nonceFor(device, member.id);
      const event = { at: new Date(clock()), type: 'login.password', ip, userAgent, clientId };

      // Refused before any hashing: a wait costs the IdP nothing.
      if (nonce) {
        const until = await waits.waitingUntil(keys.device(nonce));
        if (until) refuse(until);
      } else {
        const [byIp, until] = await Promise.all([counters.get(keys.ip(ipKey)), waits.waitingUntil(keys.number(number))]);
        const ipPaused = byIp && byIp.count >= limits.perIp ? byIp.resetAt : undefined;
        const latest = [ipPaused, until].filter((at): at is Date => at !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];
        if (latest) refuse(latest);
      }

      let matches: boolean;
      try {
        matches = await hashing.run(async () => verifyPassword(password, member?.passwordHash ?? (await decoy)));
      } catch (error) {
        if (error instanceof HashQueueFullError) throw new AuthError('busy', 'too many log-ins are being checked', new Date(clock() + error.retryAfter * 1000));
        throw error;
      }

      if (!member || !matches || member.status !== 'active') {
        if (member) {
          const reason = matches ? `member ${member.status}` : 'wrong password';
          await audit.append({ ...event, memberId: member.id, outcome: 'failure', detail: { reason, knownBrowser: !!nonce } });
        }
        if (nonce) {
          const { waitUntil } = await waits.fail(keys.device(nonce), limits.perDevice);
          if (waitUntil) await recordWait(member!.id, waitUntil, { knownBrowser: true, surge: false });
        } else {
          const minute = Math.floor(clock() / MINUTE);
          const surge = await surging();
          await Promise.all([counters.increment(keys.ip(ipKey), limits.windowSeconds), counters.increment(keys.everyone(minute), 120)]);
          const { waitUntil } = await waits.fail(keys.number(number), surge ? 0 : limits.perMember);
          if (waitUntil && member) await recordWait(member.id, waitUntil, { knownBrowser: false, surge });
        }
        throw new AuthError('invalid_credentials', 'membership number or password is incorrect');
      }

      await waits.forget(nonce ? keys.device(nonce) : keys.number(number));
      await audit.append({ ...event, memberId: member.id, outcome: 'success', detail: { knownBrowser: !!nonce } });
      if (needsRehash(member.passwordHash)) {
        try {
          await members.update(member.id, { passwordHash: await hashing.run(() => hashPassword(password)) });
        } catch (error) {
          // At a peak the stronger hash waits for a quieter log-in.
          if (!(error instanceof HashQueueFullError)) throw error;
        }
      }
      return member;

      async function recordWait(memberId: string, until: Date, detail: { knownBrowser: boolean; surge: boolean }) {
        const seconds = Math.round((until.getTime() - clock()) / 1000);
        await audit.append({ ...event, memberId, type: 'login.paused', outcome: 'info', detail: { seconds, ...detail } });
      }
    },
  };
}
