import { Worker } from 'node:worker_threads';
import type { BulkWork } from './bulk.ts';
import { storeError } from './unavailable.ts';
import type { WriteGate } from './write-gate.ts';

export type BulkRequest = { id: number; work: BulkWork; batch: number };
export type BulkReply =
  | { id: number; done: number; ms: number }
  | { id: number; busy: true }
  | { id: number; error: { message: string; errcode?: number } };

/**
 * What one batch did: how many rows (or pages) and, from the worker, how long it held the write
 * lock; or `busy` when another process held the file.
 */
export type BatchOutcome = { done: number; ms?: number } | { busy: true };

/**
 * Bulk upkeep (pruning, giving space back) on a worker thread with its own connection to the file,
 * so the serving thread spends nothing on it: a batch of a prune costs tens of microseconds per row
 * (the row and its index entries, on pages all over the file), hundreds of thousands of rows at a
 * time after a quiet week. SQLite has one writer at a time: the worker takes `gate` for each batch
 * and the serving connection's GroupCommit waits for it (see write-gate.ts), so requests keep being
 * served and read, and only their commits wait, for the length of one short batch.
 *
 * Rejects a batch with the store's error (StoreUnavailableError for a full or read-only disk) when
 * it fails; `broken` turns true if the thread itself fails, and the caller then does its batches on
 * the serving connection as before.
 */
export function startBulkThread(file: string, gate: WriteGate): {
  run(work: BulkWork, batch: number): Promise<BatchOutcome>;
  readonly broken: boolean;
  stop(): Promise<void>;
} {
  const waiting = new Map<number, { resolve: (outcome: BatchOutcome) => void; reject: (error: unknown) => void }>();
  let next = 0;
  let broken = false;
  let stopping = false;
  let gone = false;
  const worker = new Worker(new URL('./bulk-worker.ts', import.meta.url), { workerData: { file, gate: gate.buffer } });
  worker.unref();
  const failAll = (error: unknown) => {
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: BulkReply) => {
    gate.workerReported();
    const caller = waiting.get(reply.id);
    if (!caller) return;
    waiting.delete(reply.id);
    if ('error' in reply) caller.reject(storeError(Object.assign(new Error(reply.error.message), reply.error.errcode === undefined ? {} : { errcode: reply.error.errcode })));
    else if ('busy' in reply) caller.resolve({ busy: true });
    else caller.resolve({ done: reply.done, ms: reply.ms });
  });
  worker.on('error', (error) => {
    broken = true;
    failAll(error);
  });
  worker.on('exit', () => {
    gone = true;
    gate.workerGone();
    if (!stopping) broken = true;
    failAll(new Error('the bulk worker stopped'));
  });

  return {
    run(work, batch) {
      if (broken || stopping) return Promise.reject(new Error('the bulk worker is not running'));
      const id = ++next;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, work, batch } satisfies BulkRequest);
      });
    },
    get broken() {
      return broken;
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      if (gone) return;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      // Queued after any batch in progress, which finishes first.
      worker.postMessage('close');
      const timeout = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
