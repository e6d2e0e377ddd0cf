import { canReceiveSmsCodes } from '../auth/sms-otp/eligibility.ts';
import type { SmsSender } from '../auth/sms-otp/sms-sender.ts';
import { japanDateTime } from '../i18n/japan-time.ts';
import type { AuditLog, Clock, Member, Members, Passkey, Passkeys } from '../store/port.ts';
import { maskPhone, MemberInputError, setPhone, setStatus } from '../members/members.ts';

/** Who at the desk did something to a member's account, and why: both go into the member's audit trail. */
export type DeskOperator = { by: string; reason: string | undefined };

/** What the desk asked for does not exist (a passkey of another member, say): nothing was changed. */
export class DeskRefusal extends Error {}

/** A passkey as the desk sees it: no key material, no user handle. */
export type DeskPasskey = Pick<Passkey, 'id' | 'name' | 'synced'> & { createdAt: string; lastUsedAt: string | null; lastUsedFrom: string | null };

/** Records a desk action in the member's audit trail, with the operator and the reason. */
export function recordDeskAction(audit: AuditLog, clock: Clock, member: Member, type: string, operator: DeskOperator, detail: Record<string, string> = {}): Promise<void> {
  return audit.append({
    memberId: member.id,
    at: new Date(clock()),
    type,
    outcome: 'info',
    detail: { ...detail, by: operator.by, ...(operator.reason && { reason: operator.reason }) },
  });
}

/** The member's passkeys, oldest first, with names and last use. */
export async function deskPasskeys(passkeys: Passkeys, member: Member): Promise<DeskPasskey[]> {
  return (await passkeys.listForMember(member.id)).map((passkey) => ({
    id: passkey.id,
    name: passkey.name,
    synced: passkey.synced,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
    lastUsedFrom: passkey.lastUsedFrom ?? null,
  }));
}

/** Removes one of the member's passkeys (a lost device); refused, changing nothing, when the member has no such passkey. */
export async function removeMemberPasskey(passkeys: Passkeys, member: Member, id: string): Promise<Passkey> {
  const passkey = await passkeys.findById(id);
  // Another member's passkey is refused exactly like a missing one.
  if (!passkey || passkey.memberId !== member.id || !(await passkeys.remove(member.id, id))) {
    throw new DeskRefusal(`member ${member.number} has no passkey with id ${JSON.stringify(id)}`);
  }
  return passkey;
}

/** Lets a disabled or locked member log in again. */
export async function enableMember(members: Members, member: Member): Promise<Member> {
  return (await setStatus(members, member.id, 'active')) ?? member;
}

/** Whether each notice of a phone change went out: `skipped` where the number cannot receive SMS from the IdP. */
export type NoticeOutcome = 'sent' | 'skipped' | 'failed';

export type PhoneBinding = { member: Member; notices: { previous: NoticeOutcome; current: NoticeOutcome } };

/**
 * Binds a new phone to the member: the number changes, so codes sent to the old one stop working at
 * once (codes are bound to the number), and a notice goes to the old number (where it still receives
 * SMS from the IdP) and to the new one, so a member whose number was moved by someone else hears of it.
 */
export async function bindNewPhone(deps: { members: Members; sender: SmsSender; clock: Clock }, member: Member, phone: string): Promise<PhoneBinding> {
  if (phone === member.phone) throw new MemberInputError([`phone ${maskPhone(phone)} is already the member's number`]);
  const updated = await setPhone(deps.members, member.id, phone);
  if (!updated) throw new DeskRefusal(`member ${member.number} no longer exists`);
  const notify = async (recipient: Member, body: string): Promise<NoticeOutcome> => {
    if (!canReceiveSmsCodes(recipient)) return 'skipped';
    try {
      await deps.sender.send({ to: recipient.phone, body });
      return 'sent';
    } catch {
      return 'failed';
    }
  };
  const at = new Date(deps.clock());
  return {
    member: updated,
    notices: {
      previous: await notify(member, phoneNotice(member, 'previous', at)),
      current: await notify(updated, phoneNotice(updated, 'current', at)),
    },
  };
}

/** The notice of a phone change, in Japanese for members residing in Japan and in English otherwise. No code, no link. */
export function phoneNotice(member: Member, which: 'previous' | 'current', at: Date): string {
  const japanese = member.country === 'JP';
  const when = japanDateTime(japanese ? 'ja' : 'en', at);
  if (japanese) {
    return which === 'previous'
      ? `【JMB】${when}にJMBアカウントの電話番号が別の番号に変更されました。お心当たりのない場合は、至急JMBまでご連絡ください。`
      : `【JMB】${when}にこの電話番号がJMBアカウントに登録されました。お心当たりのない場合は、至急JMBまでご連絡ください。`;
  }
  return which === 'previous'
    ? `JMB: The phone number of your JMB account was changed to another number on ${when} (JST). If this was not you, contact JMB immediately.`
    : `JMB: This number became the phone of your JMB account on ${when} (JST). If this was not you, contact JMB immediately.`;
}
