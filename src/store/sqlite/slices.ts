import type { BatchOutcome } from './bulk-thread.ts';

export type SliceOptions = {
  /** How long one slice (one transaction) should take; the batch size follows from it. */
  budgetMs: number;
  /** The batch size of the first slice. */
  firstBatch: number;
  /** The largest batch, whatever the budget allows. */
  maxBatch: number;
  /**
   * How long to rest after a slice, as a multiple of the time it took: 50 keeps the work to a
   * fiftieth of the time. On the bulk worker the serving thread spends nothing on a slice, but its
   * commits wait while one holds the file, and the slices' pages must be copied back by the
   * checkpointer: paced this way its passes keep up, the WAL starts over by itself, and log-ins
   * meanwhile are as fast as without (measured with `npm run bench:prune`). A large backlog takes
   * longer; rounds of pruning never overlap.
   */
  restRatio: number;
};

export const DEFAULT_SLICES: SliceOptions = { budgetMs: 4, firstBatch: 16, maxBatch: 20_000, restRatio: 50 };

/** How long to wait before trying again a slice that found the file held by another process. */
const BUSY_REST_MS = 100;
/** After this many such slices in a row the round ends; the next one carries on. */
const BUSY_TRIES = 50;

/**
 * Repeats `slice(batch)` (one transaction, resolving with how much it did, at most `batch`) until it
 * does less than a full batch, resting in between (`restRatio` times as long as the slice took, and
 * at least one turn of the event loop): the requests that came in during a slice are served, and
 * their writes committed, before the next one starts. The batch size follows each slice's duration
 * so that one slice takes about `budgetMs`, whatever the disk and the rows. Before each slice it also
 * waits for `pace` (the checkpointer catching up). Stops early, with what was done, once `stopped()`
 * says so.
 */
export async function inSlices(
  slice: (batch: number) => Promise<BatchOutcome>,
  options: SliceOptions,
  stopped: () => boolean,
  pace: () => Promise<void> = async () => undefined,
): Promise<number> {
  let batch = options.firstBatch;
  let total = 0;
  let busy = 0;
  while (!stopped()) {
    await pace();
    if (stopped()) break;
    const began = performance.now();
    const outcome = await slice(batch);
    // How long the serving connection's writes were held: as the worker measured it, or from asking
    // for the slice to its commit.
    const took = 'ms' in outcome && outcome.ms !== undefined ? outcome.ms : performance.now() - began;
    if ('busy' in outcome) {
      if (++busy >= BUSY_TRIES) break;
      await new Promise((resolve) => setTimeout(resolve, BUSY_REST_MS));
      continue;
    }
    busy = 0;
    total += outcome.done;
    if (outcome.done < batch) break;
    // Growth is capped at double, so one slow slice (a cold page cache) is not followed by a huge one.
    const fitting = Math.floor(batch * (options.budgetMs / Math.max(took, 0.1)));
    batch = Math.max(1, Math.min(options.maxBatch, 2 * batch, fitting));
    const rest = took * options.restRatio;
    await new Promise((resolve) => (rest >= 1 ? setTimeout(resolve, rest) : setImmediate(resolve)));
  }
  return total;
}
