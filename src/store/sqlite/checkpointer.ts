import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';

// Runs in its own thread with its own connection, so that the bulk of copying the WAL into the
// database file, and syncing it, never blocks the event loop that serves requests.
const WORKER = `
const { DatabaseSync } = require('node:sqlite');
const { workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file);
db.exec('PRAGMA busy_timeout = 5000');
setInterval(() => {
  try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.everyMs);
`;

/**
 * Checkpoints the WAL of `db` (at `file`) every `everyMs`, in place of SQLite's automatic checkpoints,
 * which would land inside some request every few hundred writes and block the event loop for them.
 * A worker thread copies most pages; a short checkpoint on `db` itself then catches up the frames
 * written meanwhile, so that the next write starts the WAL from the beginning again (under steady
 * writes a checkpoint from another connection alone never catches up, and the WAL would grow).
 */
export function startCheckpointer(db: DatabaseSync, file: string, everyMs: number): { stop(): Promise<void> } {
  db.exec('PRAGMA wal_autocheckpoint = 0');
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs } });
  worker.unref();
  const finishing = setInterval(() => db.isOpen && db.exec('PRAGMA wal_checkpoint(PASSIVE)'), everyMs);
  finishing.unref();
  return {
    async stop() {
      clearInterval(finishing);
      await worker.terminate();
    },
  };
}
