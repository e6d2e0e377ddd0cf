/** How long a failed check waits before it is answered, so that its time tells nothing. */
export type FailurePacing = {
  /** Records that a check against a hash of cost `cost` (costOf) took `ms`. */
  observe(cost: string, ms: number): void;
  /** Resolves once a failed check of cost `cost` that took `ms` has taken as long as one against the slowest hash members hold. */
  pad(cost: string, ms: number): Promise<void>;
};

export type FailurePacingOptions = {
  /**
   * Times one check against a hash of the slowest kind members may still hold (scrypt, from before
   * argon2id), once, at the first failure: its cost (costOf) and how long the check took.
   */
  sampleSlowest: () => Promise<{ cost: string; ms: number }>;
  wait?: (ms: number) => Promise<void>;
};

/**
 * Paces failed password checks. Hashes of several costs live side by side (argon2id for new and
 * changed passwords, scrypt for members who have not logged in since, argon2id at older settings),
 * and an unknown number is checked against a decoy at today's cost. Without pacing, a wrong password
 * for a member whose hash is scrypt would answer visibly later than one for an unknown number, and
 * the time alone would say the number is a member's. So a failure is answered no sooner than a check
 * of the slowest cost seen would have taken under the same load: its own time, scaled by how much
 * slower the slowest cost has recently been than its own. The wait holds no hashing slot and no CPU.
 * Successes are not paced: a success says the number is a member's anyway.
 */
export function createFailurePacing(options: FailurePacingOptions): FailurePacing {
  const wait = options.wait ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // A moving average of each cost's check time.
  const averages = new Map<string, number>();
  let sampling: Promise<void> | undefined;

  const observe = (cost: string, ms: number) => {
    const before = averages.get(cost);
    averages.set(cost, before === undefined ? ms : before * 0.8 + ms * 0.2);
  };
  const slowest = () => Math.max(0, ...averages.values());

  return {
    observe,
    async pad(cost, ms) {
      sampling ??= options.sampleSlowest().then(({ cost: sampled, ms: took }) => {
        if (!averages.has(sampled)) observe(sampled, took);
      }, () => {});
      await sampling;
      const own = averages.get(cost);
      if (own === undefined || own <= 0) return;
      const target = ms * (slowest() / own);
      if (target > ms) await wait(target - ms);
    },
  };
}
