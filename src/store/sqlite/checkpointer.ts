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

/** What the checkpointer needs of the serving connection's transactions (GroupCommit). */
export type ServingWrites = {
  /** Runs `task` once no transaction is open. */
  idle(task: () => void): void;
  /** Holds back new transactions; resolves once none is open. */
  pause(): Promise<void>;
  resume(): void;
};

/**
 * Keeps the WAL of `db` short without making requests wait for the disk.
 *
 * SQLite's automatic checkpoints land inside whichever write crosses the threshold and block that
 * request for the copy and two fsyncs (tens of milliseconds on a virtual disk). Here a worker thread,
 * with its own connection, copies the WAL into the database file every `everyMs` and pays for the
 * fsyncs. A checkpoint from another connection never catches up with steady writes, though: the WAL
 * only starts over when a write finds every page of it copied. So once the WAL holds `restartPages`
 * pages, the serving connection holds back its next transactions (the event loop goes on; only
 * commits wait) while the worker runs one more checkpoint, which then copies everything; the next
 * write starts the WAL from the beginning. The serving thread never waits for an fsync for this.
 * Should that catch-up pass still leave pages behind (another process reading an older snapshot,
 * such as a backup, or writing), nothing more is tried until the WAL has grown by another
 * `restartPages`: a checkpoint on the serving thread would stall the event loop for the copy and the
 * fsync (over a second on a large file), and repeated catch-up passes would hold commits back again
 * and again while the reader keeps the WAL from starting over.
 *
 * Should the worker fail, the serving connection checkpoints on the timer itself, as before.
 *
 * Bulk work (pruning) waits on `caughtUp` between its slices, which asks for a pass at once and
 * resolves once few pages of the WAL are left to copy back. Left to run ahead, such work fills the
 * WAL faster than the worker copies it, and makes the restarts (and their pauses) more frequent and
 * longer.
 */
export function startCheckpointer(
  db: DatabaseSync,
  file: string,
  options: CheckpointOptions,
  writes: ServingWrites,
): { caughtUp(): Promise<void>; stop(): Promise<void> } {
  db.exec('PRAGMA wal_autocheckpoint = 0');
  // When the WAL starts over, its file is cut back to a few restarts' worth instead of keeping its peak size.
  const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
  db.exec(`PRAGMA journal_size_limit = ${4 * options.restartPages * pageSize}`);
  const checkpointHere = () => writes.idle(() => {
    try {
      if (db.isOpen) db.prepare('PRAGMA main.wal_checkpoint(PASSIVE)').get();
    } catch {
      // another process holds the database for a moment; the next tick catches up
    }
  });

  let workerFailed = false;
  let inFlight = false;
  let stopped = false;
  /** Set while the serving connection's transactions are held back for a catch-up pass. */
  let restarting: { giveUp: NodeJS.Timeout } | undefined;
  const endRestart = () => {
    if (!restarting) return;
    clearTimeout(restarting.giveUp);
    restarting = undefined;
    writes.resume();
    // Bulk work waiting for the pass goes on (called only once everything below is defined).
    release();
  };
  let last: CheckpointResult | undefined;
  /** After a catch-up pass that could not copy everything, the WAL length at which to try again. */
  let nextCatchUpAt = 0;
  const waiting: (() => void)[] = [];
  // Bulk work goes on while the pages not yet copied back are few: a catch-up pass then has little
  // to copy, and the serving connection's commits wait the least.
  const backlog = () => (last ? last.log - last.checkpointed : 0);
  // Nor while a catch-up pass holds the serving connection's commits: a batch written meanwhile would
  // leave that pass pages to miss.
  const caughtUp = () => stopped || workerFailed || (!restarting && backlog() < options.restartPages / 16);
  const release = () => {
    if (caughtUp()) for (const resolve of waiting.splice(0)) resolve();
  };
  let worker: Worker | undefined = startWorker();
  function startWorker(): Worker {
    const started = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: { file } });
    started.unref();
    started.on('message', (result: CheckpointResult | { error: string }) => {
      inFlight = false;
      if (restarting) {
        endRestart();
        if ('log' in result && result.checkpointed < result.log) nextCatchUpAt = result.log + options.restartPages;
      } else if ('log' in result && result.log >= Math.max(options.restartPages, nextCatchUpAt) && !stopped) {
        catchUp(started);
      }
      // The WAL started over: the next catch-up comes at the usual length.
      if ('log' in result && result.log < options.restartPages) nextCatchUpAt = 0;
      if ('log' in result) last = result;
      release();
    });
    started.on('error', () => {
      workerFailed = true;
      inFlight = false;
      endRestart();
      release();
    });
    started.on('exit', () => {
      if (worker !== started) return;
      // A worker gone mid-checkpoint will not answer; the next tick starts another.
      worker = undefined;
      inFlight = false;
      endRestart();
    });
    return started;
  }

  /** Holds back the serving connection's transactions and has the worker copy everything. */
  function catchUp(target: Worker): void {
    // Whatever happens to the worker, writes are not held back for more than a moment.
    restarting = { giveUp: setTimeout(endRestart, 2000) };
    restarting.giveUp.unref();
    void writes.pause().then(() => {
      if (!restarting || worker !== target) return endRestart();
      inFlight = true;
      target.postMessage('checkpoint');
    });
  }

  const timer = setInterval(() => {
    if (workerFailed) {
      checkpointHere();
      return;
    }
    if (inFlight || restarting) return;
    worker ??= startWorker();
    inFlight = true;
    worker.postMessage('checkpoint');
  }, options.everyMs);
  timer.unref();

  return {
    caughtUp() {
      if (caughtUp()) return Promise.resolve();
      // Copy now rather than at the next tick.
      if (worker && !inFlight && !restarting) {
        inFlight = true;
        worker.postMessage('checkpoint');
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    async stop() {
      stopped = true;
      endRestart();
      release();
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
