import type { GroupCommit } from './group-commit.ts';

export type SliceOptions = {
  /** How long one slice (one transaction) should take; the batch size follows from it. */
  budgetMs: number;
  /** The batch size of the first slice. */
  firstBatch: number;
  /** The largest batch, whatever the budget allows. */
  maxBatch: number;
  /**
   * How long to rest after a slice, as a multiple of the time it took: 5 keeps the work to a sixth
   * of the serving thread, so requests keep the rest of it (and the WAL grows slowly enough for
   * the checkpointer to keep up) however long the work is.
   */
  restRatio: number;
};

export const DEFAULT_SLICES: SliceOptions = { budgetMs: 4, firstBatch: 16, maxBatch: 20_000, restRatio: 5 };

/**
 * Repeats `slice(batch)` (which returns how much it did, at most `batch`) until it does less than a
 * full batch, each time in a transaction of its own, resting in between (`restRatio` times as long
 * as the slice took, and at least one turn of the event loop): the requests that came in during a
 * slice are served before the next one starts. The batch size follows each slice's duration so
 * that one slice takes about `budgetMs`, whatever the disk and the rows. Before each slice it also
 * waits for `pace` (the checkpointer catching up). Stops early, with what was done, once
 * `stopped()` says so.
 */
export async function inSlices(
  commits: GroupCommit,
  slice: (batch: number) => number,
  options: SliceOptions,
  stopped: () => boolean,
  pace: () => Promise<void> = async () => undefined,
): Promise<number> {
  let batch = options.firstBatch;
  let total = 0;
  while (!stopped()) {
    await pace();
    if (stopped()) break;
    let began = 0;
    const done = await commits.alone(() => {
      began = performance.now();
      return slice(batch);
    }, { durable: false });
    // From the slice's first statement to just after its commit: the time the event loop was held.
    const took = performance.now() - began;
    total += done;
    if (done < batch) break;
    // Growth is capped at double, so one slow slice (a cold page cache) is not followed by a huge one.
    const fitting = Math.floor(batch * (options.budgetMs / Math.max(took, 0.1)));
    batch = Math.max(1, Math.min(options.maxBatch, 2 * batch, fitting));
    const rest = took * options.restRatio;
    await new Promise((resolve) => (rest >= 1 ? setTimeout(resolve, rest) : setImmediate(resolve)));
  }
  return total;
}
