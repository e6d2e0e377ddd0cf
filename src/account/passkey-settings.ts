import { AuthError } from '../auth/auth-error.ts';
import type { CreationOptions, PasskeyRegistration } from '../auth/passkey/passkey-registration.ts';
import type { SmsOtp } from '../auth/sms-otp/sms-otp.ts';
import { japanDateTime } from '../i18n/japan-time.ts';
import { translator, type Locale } from '../i18n/messages.ts';
import { noMetrics, type Metrics } from '../metrics/port.ts';
import type { ChangeScope, FreshSms } from './fresh-sms.ts';
import { creatorName, distinctName } from './passkey-name.ts';
import { DuplicateError, type AuditLog, type Clock, type Member, type Passkey, type Passkeys } from '../store/port.ts';

/** Why a change to a member's passkeys was refused. */
export type SettingsErrorCode = 'limit_reached' | 'already_registered' | 'invalid_name' | 'not_found' | 'sms_required';

export class SettingsError extends Error {
  readonly code: SettingsErrorCode;
  constructor(code: SettingsErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** At most this many passkeys per member. */
export const PASSKEY_LIMIT = 10;
const NAME_MAX = 64;

export type Actor = { ip: string; userAgent?: string; locale: Locale };

export type PasskeySettingsDeps = {
  passkeys: Passkeys;
  registration: PasskeyRegistration;
  audit: AuditLog;
  smsOtp: Pick<SmsOtp, 'notify'>;
  /** The rule every change passes first: an SMS verification at most ten minutes old in its scope. */
  freshSms: Pick<FreshSms, 'holds'>;
  clock: Clock;
  metrics?: Pick<Metrics, 'passkeyRegistration' | 'passkeyDeletion' | 'passkeysOfMember'>;
};

/**
 * What a member may do with their passkeys, on the account page or when a sign-in offers one: list,
 * register, rename and delete. Every change is refused (`sms_required`) unless the member's phone
 * was verified by SMS in its scope at most ten minutes ago (fresh-sms.ts), whatever page asks.
 * Each change is recorded in the audit trail; adding or removing one also sends a short SMS notice.
 */
export function createPasskeySettings({ passkeys, registration, audit, smsOtp, freshSms, clock, metrics = noMetrics }: PasskeySettingsDeps) {
  const record = (member: Member, actor: Actor, type: string, detail: Record<string, string>) =>
    audit.append({ memberId: member.id, at: new Date(clock()), type, outcome: 'success', ip: actor.ip, userAgent: actor.userAgent, detail });

  const notice = (member: Member, actor: Actor, change: 'added' | 'removed') => {
    const date = japanDateTime(actor.locale, new Date(clock()));
    const body = actor.locale === 'ja'
      ? `【JMB】${date}にJMBアカウントのパスキーが${change === 'added' ? '追加' : '削除'}されました。お心当たりのない場合は、至急JMBまでご連絡ください。`
      : `JMB: A passkey was ${change} ${change === 'added' ? 'to' : 'from'} your JMB account on ${date} (JST). If this was not you, contact JMB immediately.`;
    return smsOtp.notify(member, body, actor.ip);
  };

  async function assertFreshSms(member: Member, scope: ChangeScope): Promise<void> {
    if (!(await freshSms.holds(member, scope))) throw new SettingsError('sms_required', 'the phone was not verified by SMS in the last ten minutes');
  }

  async function owned(member: Member, id: string): Promise<Passkey> {
    const passkey = await passkeys.findById(id);
    // Another member's passkey is answered exactly like a missing one.
    if (!passkey || passkey.memberId !== member.id) throw new SettingsError('not_found', 'no such passkey');
    return passkey;
  }

  return {
    list: (member: Member) => passkeys.listForMember(member.id),

    /** The creation options for a new passkey, its challenge bound to the scope, asked for from `address`. */
    async startRegistration(member: Member, scope: ChangeScope, address?: string): Promise<CreationOptions> {
      await assertFreshSms(member, scope);
      const existing = await passkeys.listForMember(member.id);
      if (existing.length >= PASSKEY_LIMIT) throw new SettingsError('limit_reached', `at most ${PASSKEY_LIMIT} passkeys`);
      return registration.start(member, existing, scope.bindTo, address);
    },

    /** Verifies and stores the new passkey answering the scope's challenge. */
    async finishRegistration(member: Member, scope: ChangeScope, response: unknown, actor: Actor): Promise<Passkey> {
      await assertFreshSms(member, scope);
      let held: number;
      let passkey: Passkey;
      try {
        const t = translator(actor.locale);
        const named = await registration.finish(member, scope.bindTo, response, creatorName(t, actor.userAgent));
        const existing = await passkeys.listForMember(member.id);
        held = existing.length;
        passkey = { ...named, name: distinctName(t, named.name, existing.map((other) => other.name)) };
        if (held >= PASSKEY_LIMIT) throw new SettingsError('limit_reached', `at most ${PASSKEY_LIMIT} passkeys`);
        try {
          await passkeys.create(passkey);
        } catch (error) {
          if (error instanceof DuplicateError) throw new SettingsError('already_registered', 'this passkey is already registered');
          throw error;
        }
      } catch (error) {
        metrics.passkeyRegistration(error instanceof SettingsError || error instanceof AuthError ? error.code : 'error');
        throw error;
      }
      metrics.passkeyRegistration('success');
      metrics.passkeysOfMember(held, held + 1);
      await record(member, actor, 'passkey.added', { name: passkey.name, synced: String(passkey.synced) });
      await notice(member, actor, 'added');
      return passkey;
    },

    async rename(member: Member, scope: ChangeScope, id: string, typed: string, actor: Actor): Promise<Passkey> {
      await assertFreshSms(member, scope);
      const name = typed.trim().replace(/\s+/g, ' ');
      if (!name || [...name].length > NAME_MAX || /\p{Cc}/u.test(name)) throw new SettingsError('invalid_name', `a name has 1 to ${NAME_MAX} characters`);
      const passkey = await owned(member, id);
      if (!(await passkeys.rename(member.id, id, name))) throw new SettingsError('not_found', 'no such passkey');
      await record(member, actor, 'passkey.renamed', { from: passkey.name, to: name });
      return { ...passkey, name };
    },

    async remove(member: Member, scope: ChangeScope, id: string, actor: Actor): Promise<Passkey> {
      await assertFreshSms(member, scope);
      const passkey = await owned(member, id);
      if (!(await passkeys.remove(member.id, id))) throw new SettingsError('not_found', 'no such passkey');
      metrics.passkeyDeletion();
      const left = (await passkeys.listForMember(member.id)).length;
      metrics.passkeysOfMember(left + 1, left);
      await record(member, actor, 'passkey.removed', { name: passkey.name });
      await notice(member, actor, 'removed');
      return passkey;
    },

    /** The passkey of this member with `id`; throws not_found for anyone else's. */
    find: owned,
  };
}

export type PasskeySettings = ReturnType<typeof createPasskeySettings>;
