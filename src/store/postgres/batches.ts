import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from './connect.ts';

/** How pruning divides its deletes: rows per statement, and the pause between statements. */
export type BatchOptions = { size: number; pauseMs: number; closing: () => boolean };

/**
 * 500 rows a statement, each found through an index in order of expiry: a statement takes
 * milliseconds, holds its row locks no longer, and other work runs in the pauses between them.
 */
export const DEFAULT_BATCH = { size: 500, pauseMs: 10 } as const;

/**
 * Runs `sql` (a DELETE of at most `$2` rows, with `values` as `$1`…) until a statement deletes fewer
 * than a batch, or the store closes; returns how many rows went.
 */
export async function deleteInBatches(db: Database, sql: string, values: unknown[], options: BatchOptions): Promise<number> {
  let deleted = 0;
  for (;;) {
    if (options.closing()) return deleted;
    const { rowCount } = await db.upkeep(sql, [...values, options.size]);
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < options.size) return deleted;
    await sleep(options.pauseMs);
  }
}
