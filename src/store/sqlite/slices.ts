import type { GroupCommit } from './group-commit.ts';

export type SliceOptions = {
  /** How long one slice (one transaction) should take; the batch size follows from it. */
  budgetMs: number;
  /** The batch size of the first slice. */
  firstBatch: number;
  /** The largest batch, whatever the budget allows. */
  maxBatch: number;
};

export const DEFAULT_SLICES: SliceOptions = { budgetMs: 8, firstBatch: 200, maxBatch: 20_000 };

/**
 * Repeats `slice(batch)` (which returns how much it did, at most `batch`) until it does less than a
 * full batch, each time in a transaction of its own, yielding to the event loop in between: the
 * requests that came in during a slice are served before the next one starts. The batch size
 * follows each slice's duration so that one slice takes about `budgetMs`, whatever the disk and
 * the rows. Stops early, with what was done, once `stopped()` says so.
 */
export async function inSlices(
  commits: GroupCommit,
  slice: (batch: number) => number,
  options: SliceOptions,
  stopped: () => boolean,
): Promise<number> {
  let batch = options.firstBatch;
  let total = 0;
  while (!stopped()) {
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
    await new Promise((resolve) => setImmediate(resolve));
  }
  return total;
}
