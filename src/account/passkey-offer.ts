import { canReceiveSmsCodes } from '../auth/sms-otp/eligibility.ts';
import { noMetrics, type Metrics } from '../metrics/port.ts';
import type { AuditLog, Clock, Counters, Members, Passkeys } from '../store/port.ts';

/** What became of an offer: shown, taken up, a passkey registered, turned down, or skipped (a browser that cannot make one). */
export type OfferOutcome = 'offered' | 'accepted' | 'registered' | 'dismissed' | 'skipped';
export const OFFER_OUTCOMES: readonly OfferOutcome[] = ['offered', 'accepted', 'registered', 'dismissed', 'skipped'];

export type PasskeyOfferDeps = {
  members: Members;
  passkeys: Passkeys;
  counters: Counters;
  audit: AuditLog;
  clock: Clock;
  /** After "Not now", the days before the offer is made again. */
  snoozeDays: number;
  metrics?: Pick<Metrics, 'passkeyOffer'>;
};

export type OfferActor = { ip: string; userAgent?: string; clientId?: string };

const DAY_MS = 24 * 3600 * 1000;
/** How long the daily figures are kept. */
const STATS_DAYS = 400;
const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);
const statsKey = (outcome: OfferOutcome, day: string) => `passkey-offer:${outcome}:${day}`;

/**
 * Offering a passkey right after a password log-in (progressive enrolment): who may be offered one,
 * "Not now" remembered for a while, and the figures of how many took it up.
 */
export function createPasskeyOffer({ members, passkeys, counters, audit, clock, snoozeDays, metrics = noMetrics }: PasskeyOfferDeps) {
  const snoozeKey = (memberId: string) => `passkey-offer-snoozed:${memberId}`;

  const record = async (memberId: string, outcome: OfferOutcome, actor: OfferActor) => {
    const at = clock();
    metrics.passkeyOffer(outcome);
    await Promise.all([
      audit.append({ memberId, at: new Date(at), type: `passkey_offer.${outcome}`, outcome: 'info', ip: actor.ip, userAgent: actor.userAgent, clientId: actor.clientId }),
      counters.increment(statsKey(outcome, dayOf(at)), STATS_DAYS * 24 * 3600),
    ]);
  };

  return {
    /**
     * True for a member who can register a passkey here and has none yet: resident in Japan with a
     * Japanese mobile number (registering needs an SMS code), active, and not "Not now" lately.
     */
    async eligible(memberId: string): Promise<boolean> {
      const [member, owned, snoozed] = await Promise.all([members.findById(memberId), passkeys.listForMember(memberId), counters.get(snoozeKey(memberId))]);
      return !!member && member.status === 'active' && canReceiveSmsCodes(member) && owned.length === 0 && !snoozed;
    },

    record,

    /** "Not now": no offer for `snoozeDays`. */
    async dismiss(memberId: string, actor: OfferActor): Promise<void> {
      await counters.increment(snoozeKey(memberId), snoozeDays * 24 * 3600);
      await record(memberId, 'dismissed', actor);
    },

    /** How many offers had each outcome over the last `days` days (today included). */
    async stats(days: number): Promise<Record<OfferOutcome, number>> {
      const today = clock();
      const dates = Array.from({ length: days }, (_, i) => dayOf(today - i * DAY_MS));
      const totals = await Promise.all(OFFER_OUTCOMES.map(async (outcome) => {
        const counts = await Promise.all(dates.map((day) => counters.get(statsKey(outcome, day))));
        return [outcome, counts.reduce((sum, count) => sum + (count?.count ?? 0), 0)] as const;
      }));
      return Object.fromEntries(totals) as Record<OfferOutcome, number>;
    },
  };
}

export type PasskeyOffer = ReturnType<typeof createPasskeyOffer>;
