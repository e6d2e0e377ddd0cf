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
};

/**
 * Single-use WebAuthn challenges, keyed by the challenge itself so that a page may hold two at once
 * (the autofill request and the button) and each is consumed exactly once. Each binding keeps a
 * record of its live challenges (a document of the same kind, whose id cannot be a challenge): past
 * `perBinding`, the oldest is withdrawn, so asking for options over and over holds a few challenges,
 * not thousands.
 */
export function createChallenges(documents: ExpiringDocuments, options: ChallengesOptions) {
  const ownerOf = options.ownerOf ?? ((address: string) => address);
  // Within this process, one binding's record is updated by one request at a time.
  const updating = new Map<string, Promise<void>>();
  const recordId = ({ purpose, boundTo }: ChallengeBinding) => `record:${purpose}:${boundTo}`;

  async function exclusively(id: string, update: () => Promise<void>): Promise<void> {
    const before = updating.get(id) ?? Promise.resolve();
    const mine = before.then(update, update);
    const settled = mine.catch(() => {});
    updating.set(id, settled);
    try {
      await mine;
    } finally {
      if (updating.get(id) === settled) updating.delete(id);
    }
  }

  return {
    /** Stores a new challenge for `binding`; `address` is the client address that asked for it. */
    async save(challenge: string, binding: ChallengeBinding, expiresAt: Date, address?: string): Promise<void> {
      const id = recordId(binding);
      const owner = address === undefined ? undefined : ownerOf(address);
      await exclusively(id, async () => {
        const record = await documents.find(CHALLENGE_KIND, id);
        const live = Array.isArray(record?.challenges) ? (record.challenges as string[]) : [];
        const kept = [...live, challenge];
        const withdrawn = kept.splice(0, Math.max(0, kept.length - options.perBinding));
        await documents.upsert(CHALLENGE_KIND, challenge, binding, expiresAt, owner);
        await documents.upsert(CHALLENGE_KIND, id, { challenges: kept }, expiresAt, owner);
        await Promise.all(withdrawn.map((old) => documents.destroy(CHALLENGE_KIND, old)));
      });
    },
    /** The binding of a live challenge, removing it; undefined when unknown, used, withdrawn or expired. */
    async take(challenge: string): Promise<ChallengeBinding | undefined> {
      // A challenge is base64url; only a binding's record has a colon in its id.
      if (challenge.includes(':')) return undefined;
      const payload = await documents.take(CHALLENGE_KIND, challenge);
      return payload as ChallengeBinding | undefined;
    },
  };
}

export type Challenges = ReturnType<typeof createChallenges>;
