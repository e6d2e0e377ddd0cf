import type { Count, Counters } from '../../store/port.ts';

export type WaitPolicy = {
  /** The first wait and the longest; each further failure doubles the wait. */
  baseSeconds: number;
  maxSeconds: number;
  /** How long failures are remembered. */
  memorySeconds: number;
};

/** An attempt's place on a key, taken before its password is hashed. */
export type Reservation =
  /**
   * Taken: within the free failures (`waitUntil` undefined), or as the one attempt allowed after a
   * wait, whose failure leaves the next wait, started with it, running until `waitUntil`.
   * `triesLeft`: should this attempt fail, how many more the key takes before one has to wait (the
   * free failures left, and the turn after them); 0 when its failure leaves a wait running.
   */
  | { taken: true; waitUntil: Date | undefined; triesLeft: number; forget(): Promise<void> }
  /** Refused without a hash: a wait runs until `until`. */
  | { taken: false; until: Date };

// Places taken within the free failures, and turns taken after them: both since the last success.
const triesKey = (key: string) => `login-waits:tries:${key}`;
const turnsKey = (key: string) => `login-waits:turns:${key}`;
const waitKey = (key: string) => `login-waits:wait:${key}`;
// The wait of attempts set aside (from addresses with recent failures): theirs alone.
const asideKey = (key: string) => `login-waits:wait-aside:${key}`;

const later = (...counts: (Count | undefined)[]) =>
  counts.map((count) => count?.resetAt).filter((at): at is Date => at !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];

/** Forgets the failures of `key` and ends all its waits (an operator lifting them). */
export async function forgetWaits(counters: Counters, key: string): Promise<void> {
  await Promise.all([triesKey, turnsKey, waitKey, asideKey].map((name) => counters.reset(name(key))));
}

/**
 * Growing waits after failed log-ins, counted in the shared store under a key (a member number, a
 * browser): the first `free` failures cost nothing, then one attempt at a time gets a turn, and each
 * turn starts a wait of `baseSeconds`, doubling up to `maxSeconds`. Attempts are refused only while a
 * wait runs, so a member always knows when to try again and is never locked out for good.
 *
 * Every attempt takes its place atomically before its password is hashed (a free failure, or the
 * turn: the first to start the next wait), so attempts sent at the same moment never get more
 * checks than one sent after another would. A turn's wait starts with it; a success forgets it.
 *
 * An attempt `aside` (from an address with recent failures) has turns and waits of its own and must
 * also find the key's main wait over: its failures never keep anyone else waiting.
 */
export function createWaits(counters: Counters, policy: WaitPolicy) {
  const secondsFor = (turn: number) => Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.min(turn - 1, 30));

  return {
    /** Takes a place for one attempt on `key` before its hash, or says until when it must wait. */
    async reserve(key: string, free: number, aside = false): Promise<Reservation> {
      const [main, own, tries, turns] = await Promise.all([
        counters.get(waitKey(key)),
        aside ? counters.get(asideKey(key)) : undefined,
        counters.get(triesKey(key)),
        counters.get(turnsKey(key)),
      ]);
      const until = later(main, own);
      if (until) return { taken: false, until };
      // What a success forgets: the counters of this key known to be live, not a write for each kind.
      const live = new Set([tries && triesKey(key), turns && turnsKey(key)].filter((name): name is string => !!name));
      const forget = async () => void (await Promise.all([...live].map((name) => counters.reset(name))));
      if ((tries?.count ?? 0) < free) {
        live.add(triesKey(key));
        const { count } = await counters.increment(triesKey(key), policy.memorySeconds);
        if (count <= free) return { taken: true, waitUntil: undefined, triesLeft: free - count + 1, forget };
      }
      // The first to start the next wait has the turn; anyone arriving with it waits for its end.
      const gate = (aside ? asideKey : waitKey)(key);
      const wait = await counters.increment(gate, secondsFor((turns?.count ?? 0) + 1));
      if (wait.count > 1) return { taken: false, until: wait.resetAt };
      await counters.increment(turnsKey(key), policy.memorySeconds);
      live.add(gate).add(turnsKey(key));
      return { taken: true, waitUntil: wait.resetAt, triesLeft: 0, forget };
    },
  };
}

export type Waits = ReturnType<typeof createWaits>;
