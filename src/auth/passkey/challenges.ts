import type { ExpiringDocuments } from '../../store/port.ts';

/** The document kind of WebAuthn challenges. */
export const CHALLENGE_KIND = 'WebAuthnChallenge';

/** What a challenge was issued for; a response is accepted only for the same purpose and binding. */
export type ChallengeBinding = { purpose: 'login' | 'registration'; boundTo: string };

export type ChallengesOptions = {
  /** Live challenges one sign-in (or account session) may hold; asking again replaces its oldest. */
  perBinding: number;
  /** The owner a client address's challenges count under: its network, as the limits count it. */
  ownerOf?: (address: string) => string;
  /**
   * A binding's record goes as soon as its last challenge is taken, instead of living on until it
   * expires. For challenges held in bounded memory, where a record left behind by every finished
   * sign-in fills the bound and pushes out the newest challenges of the busiest address (members
   * behind a carrier's NAT). In a database the record is pruned with the other expired rows, and
   * the extra read-change-write per log-in would cost more than it saves.
   */
  releaseOnTake?: boolean;
};

/**
 * Single-use WebAuthn challenges, keyed by the challenge itself so that a page may hold two at once
 * (the autofill request and the button) and each is consumed exactly once. Each binding keeps a
 * record of its live challenges (a document of the same kind, whose id cannot be a challenge): past
 * `perBinding`, the oldest is withdrawn, so asking for options over and over holds a few challenges,
 * not thousands. The record is changed by the store's read-change-write in one step, so requests of
 * one sign-in reaching several IdP instances at once each see the others' challenges.
 */
export function createChallenges(documents: ExpiringDocuments, options: ChallengesOptions) {
  const ownerOf = options.ownerOf ?? ((address: string) => address);
  const recordId = ({ purpose, boundTo }: ChallengeBinding) => `record:${purpose}:${boundTo}`;

  return {
    /** Stores a new challenge for `binding`; `address` is the client address that asked for it. */
    async save(challenge: string, binding: ChallengeBinding, expiresAt: Date, address?: string): Promise<void> {
      const owner = address === undefined ? undefined : ownerOf(address);
      // The challenge first: once the record names it, another request may withdraw it.
      await documents.upsert(CHALLENGE_KIND, challenge, binding, expiresAt, owner);
      let withdrawn: string[] = [];
      await documents.update(CHALLENGE_KIND, recordId(binding), (record) => {
        const live = Array.isArray(record?.challenges) ? (record.challenges as string[]) : [];
        const kept = [...live.filter((held) => held !== challenge), challenge];
        // The change may run more than once: what the written record leaves out is what goes.
        withdrawn = kept.splice(0, Math.max(0, kept.length - options.perBinding));
        return { payload: { challenges: kept, expires: expiresAt.getTime() }, expiresAt };
      }, owner);
      await Promise.all(withdrawn.map((old) => documents.destroy(CHALLENGE_KIND, old)));
    },
    /** The binding of a live challenge, removing it; undefined when unknown, used, withdrawn or expired. */
    async take(challenge: string): Promise<ChallengeBinding | undefined> {
      // A challenge is base64url; only a binding's record has a colon in its id.
      if (challenge.includes(':')) return undefined;
      const binding = (await documents.take(CHALLENGE_KIND, challenge)) as ChallengeBinding | undefined;
      if (binding && options.releaseOnTake) {
        // The record without this challenge, until the same time; written already expired, it is gone.
        await documents.update(CHALLENGE_KIND, recordId(binding), (record) => {
          if (!record || !Array.isArray(record.challenges)) return undefined;
          const left = (record.challenges as string[]).filter((held) => held !== challenge);
          if (left.length === 0) return { payload: { challenges: [] }, expiresAt: new Date(0) };
          return typeof record.expires === 'number' ? { payload: { challenges: left, expires: record.expires }, expiresAt: new Date(record.expires) } : undefined;
        });
      }
      return binding;
    },
  };
}

export type Challenges = ReturnType<typeof createChallenges>;
