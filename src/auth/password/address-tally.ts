import type { Clock, Counters } from '../../store/port.ts';

/** What one client address has done in the current window, the attempt being counted included. */
export type AddressTally = {
  /** Password log-in attempts: successes, failures and refusals alike. */
  attempts: number;
  /** Attempts that have not succeeded (failed, refused, or still being checked). */
  unsuccessful: number;
  /** Wrong passwords hashed before this attempt (refusals are not among them). */
  failures: number;
  /** When the window ends, and with it everything counted in it. */
  resetAt: Date;
  /** Counts this attempt as a success. */
  succeeded(): Promise<void>;
  /** Counts this attempt as a hashed failure. */
  failed(): Promise<void>;
};

/**
 * Password log-in attempts per client address (its limit key: an IPv6 client by its /64), in fixed
 * windows of `windowSeconds` shared by every instance. Each attempt is counted before anything is
 * checked, so that attempts sent at the same moment see each other, and refused attempts cost the
 * address as much as failed ones. Successes are counted apart, so they never make an address look
 * like a guesser, and never wipe out its failures either.
 */
export function createAddressTallies(counters: Counters, windowSeconds: number, clock: Clock) {
  const windowMs = windowSeconds * 1000;
  return {
    /** Counts one attempt from `address` and returns the address's window so far. */
    async count(address: string): Promise<AddressTally> {
      const window = Math.floor(clock() / windowMs);
      const resetAt = new Date((window + 1) * windowMs);
      const key = (what: string) => `login-address:${what}:${window}:${address}`;
      // Until the window's end: every counter of one window ends with it.
      const seconds = () => Math.max(1, Math.ceil((resetAt.getTime() - clock()) / 1000));
      const [attempts, successes, failures] = await Promise.all([
        counters.increment(key('attempts'), seconds()),
        counters.get(key('successes')),
        counters.get(key('failures')),
      ]);
      return {
        attempts: attempts.count,
        unsuccessful: attempts.count - (successes?.count ?? 0),
        failures: failures?.count ?? 0,
        resetAt,
        succeeded: async () => void (await counters.increment(key('successes'), seconds())),
        failed: async () => void (await counters.increment(key('failures'), seconds())),
      };
    },
  };
}

export type AddressTallies = ReturnType<typeof createAddressTallies>;
