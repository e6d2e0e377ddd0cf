import type { Clock, Store } from '../store/port.ts';
import { createRateLimit, type RateLimit } from './rate-limit.ts';
import { createSharedRateLimit } from './shared-rate-limit.ts';

/** Most client addresses a budget in process memory keeps track of (least recently seen forgotten). */
const MAX_KEYS = 100_000;

/**
 * Where the per-address budgets (sign-ins started, passkey options, pushed authorization requests)
 * are counted. On the embedded store the IdP is one process: a token bucket in its memory, no store
 * write. On a shared store (PostgreSQL, MongoDB) any number of instances serve the same addresses:
 * the store's counters, so that spreading requests over instances gains nothing. That costs one
 * single-row write per counted request, beside the writes each of these requests makes anyway (a
 * sign-in in progress, a challenge, a stored request).
 */
export function addressBudgets(store: Pick<Store, 'kind' | 'counters'>, clock: Clock): (name: string, perMinute: number) => RateLimit {
  if (store.kind === 'sqlite') return (_name, perMinute) => createRateLimit({ perMinute, maxKeys: MAX_KEYS }, clock);
  return (name, perMinute) => createSharedRateLimit(store.counters, { name, perMinute }, clock);
}
