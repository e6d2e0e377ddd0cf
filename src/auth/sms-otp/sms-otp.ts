import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { SmsLimits } from '../../config/load.ts';
import type { Locale } from '../../i18n/messages.ts';
import { maskPhone } from '../../members/members.ts';
import type { AuditLog, Clock, Counters, ExpiringDocuments, Member } from '../../store/port.ts';
import { AuthError, isAuthError, OTP_ERRORS, type OtpErrorCode } from '../auth-error.ts';
import { canReceiveSmsCodes } from './eligibility.ts';
import { verificationMessage } from './message.ts';
import { SmsDeliveryError, type SmsSender } from './sms-sender.ts';

/**
 * What a code proves: a step-up for a relying party, access to the account's security settings, the
 * phone before a passkey offered after a log-in is registered, or that a browser facing a wait on the
 * member's number is the member's (see way-in.ts).
 */
export type OtpPurpose = 'step-up' | 'account' | 'enrolment' | 'way-in';

/** Why a code was not sent or not accepted (an AuthError with an SMS code's reason); `retryAt` and `triesLeft` say more where they apply. */
export type OtpError = AuthError<OtpErrorCode>;

/** True for an OtpError. */
export const isOtpError = (error: unknown): error is OtpError => isAuthError(error, OTP_ERRORS);

/** The policy NIST SP 800-63B and ASVS ask of out-of-band codes. */
export const OTP_POLICY = {
  ttlSeconds: 5 * 60,
  triesPerCode: 5,
  failuresBeforeLock: 10,
  lockSeconds: 15 * 60,
  /**
   * Consecutive failures, across locks, after which SMS verification is turned off for the member
   * until an operator turns it on again (NIST SP 800-63B: at most 100, then the authenticator must
   * be bound anew).
   */
  failuresBeforeDisable: 100,
} as const;

export type SmsOtpDeps = {
  documents: ExpiringDocuments;
  counters: Counters;
  audit: AuditLog;
  sender: SmsSender;
  clock: Clock;
  limits: SmsLimits;
  /** The key codes are hashed with; only this keyed hash is ever stored. */
  hashKey: Buffer;
  issuerHost: string;
  /** What a client address counts under in the per-address budget (an IPv6 client by its /64). */
  addressKey?: (ip: string) => string;
  /** Told each time a code or notice is not sent because of a limit (for the metrics). */
  onRefused?: (reason: SmsRefusal) => void;
};

/** Why a code or notice was not sent: the member's state, the cooldown, or the budget that was spent. */
export type SmsRefusal = 'not_eligible' | 'disabled' | 'locked' | 'cooldown' | 'member_daily' | 'member_burst' | 'phone_daily' | 'ip_hourly' | 'global_hourly';

export type OtpScope = { member: Member; purpose: OtpPurpose; bindTo: string };
export type OtpRequest = OtpScope & { ip: string; userAgent?: string; locale: Locale };

type StoredCode = { memberId: string; phone: string; hash: string; nonce: string; issuedAt: number };

const KIND = 'SmsOtp';

/** Six decimal digits from the CSPRNG (about 20 bits, as NIST SP 800-63B asks), leading zeros kept. */
export function generateCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}
const DAY = 24 * 3600;
const HOUR = 3600;
/** A window no member outlives: what is counted in it stays until it is reset. */
const FOREVER = 100 * 365 * DAY;

/** The counters SMS verification keeps per member (and per code). */
const smsKeys = {
  lock: (memberId: string) => `sms-lock:${memberId}`,
  failures: (memberId: string) => `sms-failures:${memberId}`,
  consecutive: (memberId: string) => `sms-consecutive-failures:${memberId}`,
  cooldown: ({ member, purpose, bindTo }: OtpScope) => `sms-cooldown:${member.id}:${purpose}:${bindTo}`,
  attempts: (nonce: string) => `sms-attempts:${nonce}`,
} as const;

/** Ends a temporary SMS lock (ten wrong codes) now; the consecutive failures still count towards turning it off. */
export async function unlockSmsVerification(counters: Counters, memberId: string): Promise<void> {
  await Promise.all([counters.reset(smsKeys.lock(memberId)), counters.reset(smsKeys.failures(memberId))]);
}

/**
 * Turns SMS verification on again for a member it was turned off or locked for, forgetting their
 * failures: an operator's decision, after checking who is calling (see the members tool).
 */
export async function reenableSmsVerification(counters: Counters, memberId: string): Promise<void> {
  await Promise.all([smsKeys.lock, smsKeys.failures, smsKeys.consecutive].map((key) => counters.reset(key(memberId))));
}

/**
 * One-time codes by SMS: six digits from a CSPRNG, stored only as a keyed hash bound to the member,
 * the phone, the purpose and the sign-in or account session; five minutes; single use; five tries a
 * code; ten failures in a row lock the factor for fifteen minutes. Every send passes the step's cooldown,
 * per-member, per-phone, per-IP and global budgets first: the defence against SMS pumping.
 */
export function createSmsOtp(deps: SmsOtpDeps) {
  const { documents, counters, audit, sender, clock, limits, hashKey, issuerHost, addressKey = (ip: string) => ip, onRefused = () => {} } = deps;
  const docId = ({ purpose, bindTo }: Pick<OtpScope, 'purpose' | 'bindTo'>) => `${purpose}:${bindTo}`;
  const keys = smsKeys;
  const hash = (scope: OtpScope, phone: string, nonce: string, code: string) =>
    createHmac('sha256', hashKey).update([nonce, scope.member.id, phone, scope.purpose, scope.bindTo, code].join('|')).digest();

  async function assertNotLocked(memberId: string): Promise<void> {
    const [lock, consecutive] = await Promise.all([counters.get(keys.lock(memberId)), counters.get(keys.consecutive(memberId))]);
    if (consecutive && consecutive.count >= OTP_POLICY.failuresBeforeDisable) {
      throw new AuthError('disabled', 'SMS verification is turned off after too many wrong codes; an operator must turn it on again');
    }
    if (lock) throw new AuthError('locked', 'SMS verification is locked after too many wrong codes', { retryAt: lock.resetAt });
  }

  // Codes also pass a per-member burst budget: a few at once for steps opened one after another,
  // never a stream. Notices follow a change the member just verified, so they do not use it up.
  const budgets = (member: Member, ip: string, kind: 'code' | 'notice' = 'code'): { key: string; limit: number; window: number; name: SmsRefusal }[] => [
    { key: `sms-sent:member:${member.id}`, limit: limits.perMemberPerDay, window: DAY, name: 'member_daily' },
    ...(kind === 'code' ? [{ key: `sms-sent:burst:${member.id}`, limit: limits.burstPerMember, window: limits.burstWindowSeconds, name: 'member_burst' as const }] : []),
    { key: `sms-sent:phone:${member.phone}`, limit: limits.perPhonePerDay, window: DAY, name: 'phone_daily' },
    { key: `sms-sent:ip:${addressKey(ip)}`, limit: limits.perIpPerHour, window: HOUR, name: 'ip_hourly' },
    { key: 'sms-sent:all', limit: limits.perHour, window: HOUR, name: 'global_hourly' },
  ];

  return {
    /** Seconds after a code before the same step may send another. */
    cooldownSeconds: limits.cooldownSeconds,

    /** Sends a fresh code, replacing any earlier one for the same scope. */
    async issue(request: OtpRequest): Promise<{ maskedPhone: string; resendAt: Date; expiresAt: Date }> {
      const { member, ip, userAgent, locale } = request;
      const event = { memberId: member.id, at: new Date(clock()), type: 'sms.sent', ip, userAgent };
      if (!canReceiveSmsCodes(member)) {
        onRefused('not_eligible');
        await audit.append({ ...event, outcome: 'failure', detail: { reason: 'not eligible' } });
        throw new AuthError('not_eligible', 'SMS verification is available only to members residing in Japan');
      }
      try {
        await assertNotLocked(member.id);
      } catch (error) {
        if (isOtpError(error)) onRefused(error.code as SmsRefusal);
        throw error;
      }

      // Claimed atomically, so two simultaneous requests cannot both send. The cooldown is per step:
      // a step opened in a new sign-in may send at once, within the member's burst budget.
      const cooldown = await counters.increment(keys.cooldown(request), limits.cooldownSeconds);
      if (cooldown.count > 1) {
        onRefused('cooldown');
        throw new AuthError('cooldown', 'a code was sent a moment ago', { retryAt: cooldown.resetAt });
      }
      for (const budget of budgets(member, ip)) {
        const used = await counters.get(budget.key);
        if (used && used.count >= budget.limit) {
          onRefused(budget.name);
          await counters.reset(keys.cooldown(request));
          await audit.append({ ...event, outcome: 'failure', detail: { reason: `limit ${budget.key.split(':')[1]}` } });
          throw new AuthError('limit_reached', 'too many codes were sent', { retryAt: used.resetAt });
        }
      }

      const code = generateCode();
      const nonce = randomBytes(16).toString('base64url');
      try {
        await sender.send({ to: member.phone, body: verificationMessage(locale, code, issuerHost, OTP_POLICY.ttlSeconds / 60) });
      } catch (error) {
        // Nothing was sent: the member may try again at once, and any earlier code stays valid.
        await counters.reset(keys.cooldown(request));
        const failure = error instanceof SmsDeliveryError ? error.failure : 'unavailable';
        await audit.append({ ...event, outcome: 'failure', detail: { reason: `delivery ${failure}`, transport: sender.name } });
        throw new AuthError('delivery_failed', 'the SMS could not be sent', { cause: error });
      }

      const issuedAt = clock();
      const expiresAt = new Date(issuedAt + OTP_POLICY.ttlSeconds * 1000);
      const stored: StoredCode = { memberId: member.id, phone: member.phone, hash: hash(request, member.phone, nonce, code).toString('base64url'), nonce, issuedAt };
      await documents.upsert(KIND, docId(request), stored, expiresAt);
      await Promise.all(budgets(member, ip).map((budget) => counters.increment(budget.key, budget.window)));
      await audit.append({ ...event, outcome: 'success', detail: { purpose: request.purpose, transport: sender.name } });
      return { maskedPhone: maskPhone(member.phone), resendAt: cooldown.resetAt, expiresAt };
    },

    /**
     * A security notice to the member's phone (no code), counted in the same budgets as codes.
     * Members who cannot receive SMS, or whose budget is spent, are skipped: false when nothing went out.
     */
    async notify(member: Member, body: string, ip: string): Promise<boolean> {
      if (!canReceiveSmsCodes(member)) return false;
      for (const budget of budgets(member, ip, 'notice')) {
        const used = await counters.get(budget.key);
        if (used && used.count >= budget.limit) {
          onRefused(budget.name);
          return false;
        }
      }
      try {
        await sender.send({ to: member.phone, body });
      } catch {
        await audit.append({ memberId: member.id, at: new Date(clock()), type: 'sms.notice', outcome: 'failure', ip });
        return false;
      }
      await Promise.all(budgets(member, ip, 'notice').map((budget) => counters.increment(budget.key, budget.window)));
      return true;
    },

    /** When the member may ask for another code, and whether one is waiting; sends nothing. */
    async status(scope: OtpScope): Promise<{ pending: boolean; resendAt: Date | undefined; lockedUntil: Date | undefined }> {
      const [stored, cooldown, lock] = await Promise.all([
        documents.find(KIND, docId(scope)),
        counters.get(keys.cooldown(scope)),
        counters.get(keys.lock(scope.member.id)),
      ]);
      const mine = stored && (stored as StoredCode).memberId === scope.member.id && (stored as StoredCode).phone === scope.member.phone;
      return { pending: !!mine, resendAt: cooldown?.resetAt, lockedUntil: lock?.resetAt };
    },

    /** Accepts the code once; throws OtpError otherwise. A success resets the failure count. */
    async verify(scope: OtpScope & { code: string; ip: string; userAgent?: string }): Promise<void> {
      const { member, ip, userAgent } = scope;
      const event = { memberId: member.id, at: new Date(clock()), type: 'sms.verify', ip, userAgent };
      await assertNotLocked(member.id);
      const stored = (await documents.find(KIND, docId(scope))) as StoredCode | undefined;
      if (!stored || stored.memberId !== member.id || stored.phone !== member.phone) {
        throw new AuthError('no_code', 'no code is waiting: it expired, was used, or was never sent');
      }
      const code = scope.code.replace(/\s/g, '');
      if (!/^\d{6}$/.test(code)) throw new AuthError('invalid_code', 'a code has six digits');

      const attempts = await counters.increment(keys.attempts(stored.nonce), OTP_POLICY.ttlSeconds);
      if (attempts.count > OTP_POLICY.triesPerCode) throw new AuthError('code_exhausted', 'this code has had too many tries');
      const expected = Buffer.from(stored.hash, 'base64url');
      const matches = timingSafeEqual(hash(scope, member.phone, stored.nonce, code), expected);

      if (!matches) {
        const [failures, consecutive] = await Promise.all([
          counters.increment(keys.failures(member.id), DAY),
          // Remembered until a success or an operator resets it: a lock does not wipe it.
          counters.increment(keys.consecutive(member.id), FOREVER),
        ]);
        await audit.append({ ...event, outcome: 'failure', detail: { purpose: scope.purpose } });
        if (consecutive.count >= OTP_POLICY.failuresBeforeDisable) {
          await documents.destroy(KIND, docId(scope));
          await audit.append({ ...event, type: 'sms.disabled', outcome: 'failure', detail: { failures: consecutive.count } });
          throw new AuthError('disabled', 'SMS verification is turned off after too many wrong codes; an operator must turn it on again');
        }
        if (failures.count >= OTP_POLICY.failuresBeforeLock) {
          const lock = await counters.increment(keys.lock(member.id), OTP_POLICY.lockSeconds);
          await Promise.all([counters.reset(keys.failures(member.id)), documents.destroy(KIND, docId(scope))]);
          await audit.append({ ...event, type: 'sms.locked', outcome: 'failure' });
          throw new AuthError('locked', 'SMS verification is locked after too many wrong codes', { retryAt: lock.resetAt });
        }
        const remaining = OTP_POLICY.triesPerCode - attempts.count;
        if (remaining <= 0) {
          await documents.destroy(KIND, docId(scope));
          throw new AuthError('code_exhausted', 'this code has had too many tries');
        }
        throw new AuthError('invalid_code', 'the code is not right', { triesLeft: remaining });
      }

      // Taken atomically: of two simultaneous correct submissions exactly one succeeds.
      const taken = (await documents.take(KIND, docId(scope))) as StoredCode | undefined;
      if (taken?.nonce !== stored.nonce) throw new AuthError('no_code', 'this code was already used');
      await Promise.all([counters.reset(keys.failures(member.id)), counters.reset(keys.consecutive(member.id))]);
      await audit.append({ ...event, outcome: 'success', detail: { purpose: scope.purpose } });
    },


  };
}

export type SmsOtp = ReturnType<typeof createSmsOtp>;
