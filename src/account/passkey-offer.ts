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

/** The sign-in an offer is made in: its id, and when it ends (after which it reports nothing again). */
export type SignIn = { id: string; until: Date };

const DAY_MS = 24 * 3600 * 1000;
/** How long the daily figures are kept. */
const STATS_DAYS = 400;
const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);
const statsKey = (outcome: OfferOutcome, day: string) => `passkey-offer:${outcome}:${day}`;
const onceKey = (outcome: OfferOutcome, signIn: string) => `passkey-offer-once:${outcome}:${signIn}`;

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

  /**
   * Records `outcome` for the sign-in once, however often it is reported (the offer loaded again,
   * "Set up a passkey" pressed again, two tabs at once): the figures and the audit trail count
   * sign-ins, not clicks.
   */
  const recordOnce = async (memberId: string, outcome: OfferOutcome, signIn: SignIn, actor: OfferActor) => {
    const seconds = Math.max(1, Math.ceil((signIn.until.getTime() - clock()) / 1000));
    // The increment is atomic in every store: of simultaneous reports exactly one sees 1.
    const { count } = await counters.increment(onceKey(outcome, signIn.id), seconds);
    if (count === 1) await record(memberId, outcome, actor);
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

    recordOnce,

    /** "Not now": no offer for `snoozeDays`. */
    async dismiss(memberId: string, signIn: SignIn, actor: OfferActor): Promise<void> {
      await counters.increment(snoozeKey(memberId), snoozeDays * 24 * 3600);
      await recordOnce(memberId, 'dismissed', signIn, actor);
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
