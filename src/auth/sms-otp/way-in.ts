import type { Locale } from '../../i18n/messages.ts';
import type { Counters, Member, Members } from '../../store/port.ts';
import { canReceiveSmsCodes } from './eligibility.ts';
import { isOtpError, OTP_POLICY, type SmsOtp } from './sms-otp.ts';

/** Codes tried in one sign-in's way in, whatever number they were for: past it every code is refused unread. */
const TRIES_PER_SIGN_IN = OTP_POLICY.failuresBeforeLock;
/** Longer than any sign-in lives: the count ends with the sign-in it belongs to. */
const TRIES_WINDOW_SECONDS = 3600;

export type WayInRequest = {
  /** The member number as typed on the log-in page. */
  number: string;
  /** The sign-in (interaction) the code belongs to. */
  bindTo: string;
  ip: string;
  userAgent?: string;
  locale: Locale;
};

/** How a code for the way in was received: the member it proved, or why nothing was proved. */
export type WayInResult = { member: Member } | { refused: 'not_verified' | 'too_many_tries' };

/**
 * "Verify with SMS to log in now": a browser facing a wait on a member number proves it holds the
 * member's phone with a one-time code, the SMS step's own (same budgets, cooldown, lifetime, tries and
 * locks). What it proves is possession, for this browser only: the caller gives the browser a device
 * cookie, and the member still logs in with their password.
 *
 * Strangers learn nothing from it: whether the number exists, belongs to an active member, or has a
 * Japanese mobile on file, every request is answered alike. A code goes out only when it does; every
 * reason a code is not sent or not accepted (no such member, a spent budget, a lock, a wrong or
 * expired code) reads the same; and the tries of one sign-in are counted for any number.
 */
export function createSmsWayIn({ members, counters, smsOtp }: { members: Members; counters: Counters; smsOtp: SmsOtp }) {
  /** The member who may receive a code for `typed`, if any (normalized as the password log-in does). */
  const holder = async (typed: string): Promise<Member | undefined> => {
    const number = typed.replace(/[\s-]/g, '');
    const member = /^\d{7,10}$/.test(number) ? await members.findByNumber(number) : undefined;
    return member && member.status === 'active' && canReceiveSmsCodes(member) ? member : undefined;
  };
  const scope = (member: Member, bindTo: string) => ({ member, purpose: 'way-in' as const, bindTo });

  return {
    /** Seconds before another code may be asked for, the same for every number. */
    cooldownSeconds: smsOtp.cooldownSeconds,

    /** Sends a code to the member's phone when `number` is an eligible member's; otherwise nothing. Never says which. */
    async send(request: WayInRequest): Promise<void> {
      const member = await holder(request.number);
      if (!member) return;
      try {
        await smsOtp.issue({ ...scope(member, request.bindTo), ip: request.ip, userAgent: request.userAgent, locale: request.locale });
      } catch (error) {
        // A cooldown, a spent budget, a lock or a failed delivery reads like a number without a phone.
        if (!isOtpError(error)) throw error;
      }
    },

    /** Accepts the code sent for `number` in this sign-in, once. */
    async verify(request: Omit<WayInRequest, 'locale'> & { code: string }): Promise<WayInResult> {
      const tries = await counters.increment(`sms-way-in:tries:${request.bindTo}`, TRIES_WINDOW_SECONDS);
      if (tries.count > TRIES_PER_SIGN_IN) return { refused: 'too_many_tries' };
      const member = await holder(request.number);
      if (!member) return { refused: 'not_verified' };
      try {
        await smsOtp.verify({ ...scope(member, request.bindTo), code: request.code, ip: request.ip, userAgent: request.userAgent });
        return { member };
      } catch (error) {
        if (!isOtpError(error)) throw error;
        return { refused: 'not_verified' };
      }
    },
  };
}

export type SmsWayIn = ReturnType<typeof createSmsWayIn>;
