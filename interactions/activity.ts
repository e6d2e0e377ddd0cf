import { deviceParts, partsOfDescription } from '../src/auth/user-agent.ts';
import { deviceName } from '../src/i18n/device-name.ts';
import type { MessageKey, Translate } from '../src/i18n/messages.ts';
import type { AuditEvent } from '../src/store/port.ts';

/** One row of "Recent security activity": what happened, from which device and address. */
export type ActivityRow = { what: string; device: string | undefined; place: string | undefined };

type Wording = (t: Translate, event: AuditEvent) => string;

const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);

/** Success and failure of one kind of attempt: the failure has words of its own. */
const attempt = (success: Wording, failure: MessageKey): Wording => (t, event) =>
  event.outcome === 'failure' ? t(failure) : success(t, event);
const fixed = (key: MessageKey): Wording => (t) => t(key);
/** `named` with the passkey's name where the event kept it, else `plain`. */
const withName = (plain: MessageKey, named: MessageKey, field = 'name'): Wording => (t, event) => {
  const name = text(event.detail?.[field]);
  return name ? t(named, { name }) : t(plain);
};

function duration(t: Translate, seconds: number): string {
  if (seconds < 60) return t('duration.seconds', { count: seconds });
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? t('duration.minute') : t('duration.minutes', { count: minutes });
}

const SMS_PURPOSES = new Set(['account', 'enrolment', 'step-up', 'way-in']);

/** The session a member or the desk ended: its device and address, as the event kept them. */
function endedSession(t: Translate, event: AuditEvent): string {
  const detail = event.detail ?? {};
  const named = deviceName(t, partsOfDescription(text(detail.device)));
  const device = named && text(detail.from) ? t('activity.session.ended.from', { device: named, from: String(detail.from) }) : named ?? text(detail.from);
  if (detail.by !== 'member') return t('activity.session.ended.desk', { device: device ?? t('sessions.unknownDevice') });
  if (!device) return t('activity.session.ended');
  return t(detail.scope === 'others' ? 'activity.session.ended.others' : 'activity.session.ended.one', { device });
}

/**
 * The wording of every kind of event the audit trail holds, in the member's language. A test holds
 * this table to every type written anywhere in the code.
 */
export const ACTIVITY_WORDING: Record<string, Wording> = {
  'login.password': attempt(fixed('activity.login.password'), 'activity.login.password.failure'),
  'login.passkey': attempt(withName('activity.login.passkey', 'activity.login.passkey.named', 'passkey'), 'activity.login.passkey.failure'),
  'login.paused': (t, event) => typeof event.detail?.seconds === 'number' && event.detail.seconds > 0
    ? t('activity.login.paused.for', { duration: duration(t, event.detail.seconds) })
    : t('activity.login.paused'),
  'sms.sent': attempt(fixed('activity.sms.sent'), 'activity.sms.sent.failure'),
  'sms.verify': attempt((t, event) => {
    const purpose = text(event.detail?.purpose);
    return t(purpose && SMS_PURPOSES.has(purpose) ? `activity.sms.verify.${purpose}` as MessageKey : 'activity.sms.verify');
  }, 'activity.sms.verify.failure'),
  'sms.locked': fixed('activity.sms.locked'),
  'sms.disabled': fixed('activity.sms.disabled'),
  'sms.notice': attempt(fixed('activity.sms.notice'), 'activity.sms.notice.failure'),
  'passkey.added': withName('activity.passkey.added', 'activity.passkey.added.named'),
  'passkey.renamed': (t, event) => {
    const [from, to] = [text(event.detail?.from), text(event.detail?.to)];
    return from && to ? t('activity.passkey.renamed.named', { from, to }) : t('activity.passkey.renamed');
  },
  'passkey.removed': withName('activity.passkey.removed', 'activity.passkey.removed.named'),
  'passkey.possible_clone': fixed('activity.passkey.possible_clone'),
  'passkey_offer.offered': fixed('activity.passkey_offer.offered'),
  'passkey_offer.accepted': fixed('activity.passkey_offer.accepted'),
  'passkey_offer.registered': fixed('activity.passkey_offer.registered'),
  'passkey_offer.dismissed': fixed('activity.passkey_offer.dismissed'),
  'passkey_offer.skipped': fixed('activity.passkey_offer.skipped'),
  'session.ended': endedSession,
  'support.logged_out_everywhere': fixed('activity.support.logged_out_everywhere'),
  'support.unlocked': fixed('activity.support.unlocked'),
  'support.sms_reenabled': fixed('activity.support.sms_reenabled'),
  'support.passkeys_listed': fixed('activity.support.passkeys_listed'),
  'support.passkey_removed': withName('activity.support.passkey_removed', 'activity.support.passkey_removed.named', 'passkey'),
  'support.enabled': fixed('activity.support.enabled'),
  'support.phone_bound': fixed('activity.support.phone_bound'),
};

/** Whether the JMB desk did it (from its command line: no browser, no address). */
const byDesk = (event: AuditEvent) => event.type.startsWith('support.') || (event.type === 'session.ended' && event.detail?.by !== 'member');

/** One event as the account page shows it. An event of a kind this version does not know still reads as account activity. */
export function describeActivity(t: Translate, event: AuditEvent): ActivityRow {
  const wording = Object.hasOwn(ACTIVITY_WORDING, event.type) ? ACTIVITY_WORDING[event.type]! : undefined;
  const what = wording
    ? wording(t, event)
    : event.outcome === 'failure' ? t('activity.failed', { what: t('activity.other') }) : t('activity.other');
  return {
    what,
    device: byDesk(event) ? t('activity.byDesk') : deviceName(t, deviceParts(event.userAgent)),
    place: event.ip,
  };
}

