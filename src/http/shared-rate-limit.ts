import type { Clock, Counters } from '../store/port.ts';
import type { RateDecision, RateLimit } from './rate-limit.ts';

export type SharedRateLimitOptions = {
  /** Names the budget's counters in the store, apart from every other budget's. */
  name: string;
  /** Requests a key may make in one minute, counted by every instance together. */
  perMinute: number;
};

const WINDOW_SECONDS = 60;

/**
 * A per-key budget counted in the store's counters, which every IdP instance on a shared store
 * reads and writes: a key spreading its requests over instances gets what it would get from one.
 * One atomic fixed-window increment per request (a single-row upsert, one round trip): from the
 * first request a window of a minute starts, and past `perMinute` in it requests are refused until
 * it ends. Across the end of a window a key may get up to twice the budget in a short time, which
 * the token bucket of one process does not allow; no key ever gets more than that, whatever the
 * number of instances. A store that cannot count right now rejects with its own error (503).
 */
export function createSharedRateLimit(counters: Counters, options: SharedRateLimitOptions, clock: Clock): RateLimit {
  return {
    async take(key): Promise<RateDecision> {
      const { count, resetAt } = await counters.increment(`budget:${options.name}:${key}`, WINDOW_SECONDS);
      if (count <= options.perMinute) return { allowed: true };
      return { allowed: false, retryAfter: Math.max(1, Math.ceil((resetAt.getTime() - clock()) / 1000)) };
    },
  };
}
