import type { Clock } from '../store/port.ts';

export type RateLimitOptions = {
  /** Requests a key may make per minute, sustained; a key that was quiet may make this many at once. */
  perMinute: number;
  /** Most keys tracked; past it the least recently seen are forgotten (and start again with a full budget). */
  maxKeys: number;
};

/** Allowed, or refused with the seconds until the next request would be allowed. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfter: number };

/**
 * A budget per key: in this process's memory (createRateLimit, which decides at once) or in the store
 * every instance shares (shared-rate-limit.ts, one round trip). Callers await either.
 */
export type RateLimit = { take(key: string): RateDecision | Promise<RateDecision> };

/**
 * Token buckets per key (a client address), in this process's memory: a bucket holds `perMinute`
 * tokens, refills continuously, and each request takes one. For requests that cost the IdP a little
 * state or CPU but no money and no guess at a secret; those that do are counted in the store, which
 * every instance shares.
 */
export function createRateLimit(options: RateLimitOptions, clock: Clock): { take(key: string): RateDecision } {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = options.perMinute / 60_000;

  return {
    take(key: string): RateDecision {
      const now = clock();
      const bucket = buckets.get(key);
      // A clock set back (NTP) refills nothing, and takes nothing either.
      const tokens = bucket ? Math.min(options.perMinute, bucket.tokens + Math.max(0, now - bucket.at) * perMs) : options.perMinute;
      // Re-inserted so that the map's order is the order of last use.
      buckets.delete(key);
      if (tokens < 1) {
        buckets.set(key, { tokens, at: now });
        return { allowed: false, retryAfter: Math.ceil((1 - tokens) / perMs / 1000) };
      }
      buckets.set(key, { tokens: tokens - 1, at: now });
      if (buckets.size > options.maxKeys) buckets.delete(buckets.keys().next().value!);
      return { allowed: true };
    },
  };
}
