import type { ExpiringDocuments } from '../../store/port.ts';

/** The document kind of WebAuthn challenges. */
export const CHALLENGE_KIND = 'WebAuthnChallenge';

/** What a challenge was issued for; a response is accepted only for the same purpose and binding. */
export type ChallengeBinding = { purpose: 'login' | 'registration'; boundTo: string };

/**
 * Single-use WebAuthn challenges, keyed by the challenge itself so that a page may hold two at once
 * (the autofill request and the button) and each is consumed exactly once.
 */
export function createChallenges(documents: ExpiringDocuments) {
  return {
    async save(challenge: string, binding: ChallengeBinding, expiresAt: Date): Promise<void> {
      await documents.upsert(CHALLENGE_KIND, challenge, binding, expiresAt);
    },
    /** The binding of a live challenge, removing it; undefined when unknown, used or expired. */
    async take(challenge: string): Promise<ChallengeBinding | undefined> {
      const payload = await documents.take(CHALLENGE_KIND, challenge);
      return payload as ChallengeBinding | undefined;
    },
  };
}

export type Challenges = ReturnType<typeof createChallenges>;
