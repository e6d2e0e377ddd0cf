import { randomBytes } from 'node:crypto';
import type { AuditLog, Clock, Counters, Member, Members } from '../../store/port.ts';
import { hashPassword, needsRehash, verifyPassword } from '../../members/password.ts';
import { AuthError } from '../auth-error.ts';

export type PasswordLoginLimits = { perMember: number; perIp: number; windowSeconds: number };

export type PasswordLoginDeps = {
  members: Members;
  counters: Counters;
  audit: AuditLog;
  limits: PasswordLoginLimits;
  clock: Clock;
};

export type PasswordAttempt = { number: string; password: string; ip: string; userAgent?: string; clientId?: string };

export type PasswordLogin = {
  /** The member whose number and password match; throws AuthError otherwise. */
  logIn(attempt: PasswordAttempt): Promise<Member>;
};

/**
 * The legacy member-number + password log-in. Every failure (unknown number, wrong password, a
 * member who may not log in) takes the same path and the same time, so nothing reveals whether a
 * member exists. Failures are counted per member number and per client IP in the shared store.
 */
export function createPasswordLogin(deps: PasswordLoginDeps): PasswordLogin {
  const { members, counters, audit, limits, clock } = deps;
  const decoy = hashPassword(randomBytes(16).toString('base64url'));
  decoy.catch(() => {});

  const keys = (number: string, ip: string) => [`login-failures:number:${number}`, `login-failures:ip:${ip}`] as const;

  async function assertNotLimited(number: string, ip: string): Promise<void> {
    const [byNumber, byIp] = await Promise.all(keys(number, ip).map((key) => counters.get(key)));
    const blocked = [
      byNumber && byNumber.count >= limits.perMember ? byNumber.resetAt : undefined,
      byIp && byIp.count >= limits.perIp ? byIp.resetAt : undefined,
    ].filter((at): at is Date => at !== undefined);
    if (blocked.length) {
      const retryAt = new Date(Math.max(...blocked.map((at) => at.getTime())));
      throw new AuthError('too_many_attempts', 'too many failed log-ins', retryAt);
    }
  }

  return {
    async logIn({ number: typed, password, ip, userAgent, clientId }) {
      const number = typed.replace(/[\s-]/g, '');
      await assertNotLimited(number, ip);

      const member = /^\d{7,10}$/.test(number) ? await members.findByNumber(number) : undefined;
      const matches = await verifyPassword(password, member?.passwordHash ?? (await decoy));
      const event = { at: new Date(clock()), type: 'login.password', ip, userAgent, clientId };

      if (!member || !matches || member.status !== 'active') {
        await Promise.all(keys(number, ip).map((key) => counters.increment(key, limits.windowSeconds)));
        if (member) {
          const reason = matches ? `member ${member.status}` : 'wrong password';
          await audit.append({ ...event, memberId: member.id, outcome: 'failure', detail: { reason } });
        }
        throw new AuthError('invalid_credentials', 'membership number or password is incorrect');
      }

      await counters.reset(keys(number, ip)[0]);
      await audit.append({ ...event, memberId: member.id, outcome: 'success' });
      if (needsRehash(member.passwordHash)) {
        await members.update(member.id, { passwordHash: await hashPassword(password) });
      }
      return member;
    },
  };
}
