import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';

export type CheckpointOptions = {
  /** How often the WAL is copied back into the database file. */
  everyMs: number;
  /** WAL length, in pages, from which the serving connection finishes a checkpoint so the WAL starts over. */
  restartPages: number;
};

export const DEFAULT_CHECKPOINTS: CheckpointOptions = { everyMs: 250, restartPages: 16_384 };

export type CheckpointResult = { busy: number; log: number; checkpointed: number };

/**
 * Keeps the WAL of `db` short without making requests wait for the disk.
 *
 * SQLite's automatic checkpoints land inside whichever write crosses the threshold and block that
 * request for the copy and two fsyncs (tens of milliseconds on a virtual disk). Here a worker thread,
 * with its own connection, copies the WAL into the database file every `everyMs` and pays for the
 * fsyncs. A checkpoint from another connection never catches up with steady writes, though: the WAL
 * only starts over when a write finds every page of it copied. So once the WAL holds `restartPages`
 * pages, the serving connection runs one more checkpoint itself, right after the worker's: it copies
 * only what was written in the meantime, and its next write starts the WAL from the beginning.
 *
 * Should the worker fail, the serving connection checkpoints on the timer itself, as before.
 * `whenIdle` runs the serving connection's checkpoints once it has no transaction open.
 */
export function startCheckpointer(
  db: DatabaseSync,
  file: string,
  options: CheckpointOptions = DEFAULT_CHECKPOINTS,
  whenIdle: (task: () => void) => void = (task) => task(),
): { stop(): Promise<void> } {
  db.exec('PRAGMA wal_autocheckpoint = 0');
  // When the WAL starts over, its file is cut back to a few restarts' worth instead of keeping its peak size.
  const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
  db.exec(`PRAGMA journal_size_limit = ${4 * options.restartPages * pageSize}`);
  const checkpointHere = () => whenIdle(() => {
    try {
      if (db.isOpen) db.prepare('PRAGMA main.wal_checkpoint(PASSIVE)').get();
    } catch {
      // another process holds the database for a moment; the next tick catches up
    }
  });

  let workerFailed = false;
  let inFlight = false;
  let worker: Worker | undefined = startWorker();
  function startWorker(): Worker {
    const started = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: { file } });
    started.unref();
    started.on('message', (result: CheckpointResult | { error: string }) => {
      inFlight = false;
      if ('log' in result && result.log >= options.restartPages) checkpointHere();
    });
    started.on('error', () => {
      workerFailed = true;
      inFlight = false;
    });
    started.on('exit', () => {
      if (worker !== started) return;
      // A worker gone mid-checkpoint will not answer; the next tick starts another.
      worker = undefined;
      inFlight = false;
    });
    return started;
  }

  const timer = setInterval(() => {
    if (workerFailed) {
      checkpointHere();
      return;
    }
    if (inFlight) return;
    worker ??= startWorker();
    inFlight = true;
    worker.postMessage('checkpoint');
  }, options.everyMs);
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      const stopping = worker;
      worker = undefined;
      if (!stopping) return;
      const exited = new Promise((resolve) => stopping.once('exit', resolve));
      stopping.postMessage('close');
      const timeout = setTimeout(() => void stopping.terminate(), 2000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
