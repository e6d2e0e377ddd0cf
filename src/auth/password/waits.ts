import type { Counters } from '../../store/port.ts';

export type WaitPolicy = {
  /** The first wait and the longest; each further failure doubles the wait. */
  baseSeconds: number;
  maxSeconds: number;
  /** How long failures are remembered. */
  memorySeconds: number;
};

const failuresKey = (key: string) => `login-waits:failures:${key}`;
const waitKey = (key: string) => `login-waits:wait:${key}`;

/** Forgets the failures of `key` and ends its wait (after a success, or when an operator lifts it). */
export async function forgetWaits(counters: Counters, key: string): Promise<void> {
  await Promise.all([counters.reset(failuresKey(key)), counters.reset(waitKey(key))]);
}

/**
 * Growing waits after failed log-ins, counted in the shared store under a key (a member number, a
 * browser): the first `free` failures cost nothing, then each one starts a wait of `baseSeconds`,
 * doubling up to `maxSeconds`. Attempts are refused only while a wait runs, so a member always knows
 * when to try again and is never locked out for good.
 */
export function createWaits(counters: Counters, policy: WaitPolicy) {
  return {
    /** The end of the wait running for `key`, if one is. */
    async waitingUntil(key: string): Promise<Date | undefined> {
      return (await counters.get(waitKey(key)))?.resetAt;
    },

    /** Records a failure; returns the end of the wait it starts, if it starts one. */
    async fail(key: string, free: number): Promise<{ failures: number; waitUntil: Date | undefined }> {
      const { count: failures } = await counters.increment(failuresKey(key), policy.memorySeconds);
      const beyond = failures - free;
      if (beyond <= 0) return { failures, waitUntil: undefined };
      const seconds = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.min(beyond - 1, 30));
      const wait = await counters.increment(waitKey(key), seconds);
      return { failures, waitUntil: wait.resetAt };
    },

    forget: (key: string) => forgetWaits(counters, key),
  };
}

export type Waits = ReturnType<typeof createWaits>;
