import type { Clock, Count, Counters } from '../port.ts';
import { deleteInBatches, type BatchOptions } from './batches.ts';
import type { Database } from './connect.ts';
import { toDb } from './db-text.ts';

/**
 * One statement adds one, or starts a new window when the stored one has ended, decided against the
 * row as it is when the statement gets its lock: simultaneous increments on any number of instances
 * each get their own count, and two first increments cannot both insert.
 */
const INCREMENT = `
  INSERT INTO counters AS c (key, count, reset_at) VALUES ($1, 1, $2)
  ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN c.reset_at <= $3 THEN 1 ELSE c.count + 1 END,
    reset_at = CASE WHEN c.reset_at <= $3 THEN excluded.reset_at ELSE c.reset_at END
  RETURNING count, reset_at`;

/** Ended windows, through the reset index, skipping rows an increment holds. */
export const PRUNE_COUNTERS = `WITH ended AS (
    SELECT key FROM counters WHERE reset_at <= $1 ORDER BY reset_at LIMIT $2 FOR UPDATE SKIP LOCKED
  ) DELETE FROM counters c USING ended e WHERE c.key = e.key`;

type Row = { count: number; reset_at: Date };

/** Fixed-window counters on one `counters` table, shared by every instance on the database. */
export function postgresCounters(db: Database, clock: Clock, batches: BatchOptions): Counters {
  const toCount = (row: Row | undefined): Count | undefined => row && { count: row.count, resetAt: row.reset_at };
  return {
    async increment(key, windowSeconds) {
      const now = clock();
      const { rows } = await db.query<Row>(INCREMENT, [toDb(key), new Date(now + windowSeconds * 1000).toISOString(), new Date(now).toISOString()]);
      return toCount(rows[0])!;
    },
    async get(key) {
      const { rows } = await db.query<Row>('SELECT count, reset_at FROM counters WHERE key = $1 AND reset_at > $2', [toDb(key), new Date(clock()).toISOString()]);
      return toCount(rows[0]);
    },
    async reset(key) {
      await db.query('DELETE FROM counters WHERE key = $1', [toDb(key)]);
    },
    async prune() {
      return deleteInBatches(db, PRUNE_COUNTERS, [new Date(clock()).toISOString()], batches);
    },
  };
}
