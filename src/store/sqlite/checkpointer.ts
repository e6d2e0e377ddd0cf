import { Worker } from 'node:worker_threads';

// Runs in its own thread with its own connection, so that copying the WAL into the database file and
// syncing it never blocks the event loop that serves requests.
const WORKER = `
const { DatabaseSync } = require('node:sqlite');
const { workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file);
db.exec('PRAGMA busy_timeout = 5000');
setInterval(() => {
  try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.everyMs);
`;

/** Checkpoints the WAL of `file` every `everyMs` from a worker thread; stop() ends it. */
export function startCheckpointer(file: string, everyMs: number): { stop(): Promise<void> } {
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs } });
  worker.unref();
  return {
    async stop() {
      await worker.terminate();
    },
  };
}
