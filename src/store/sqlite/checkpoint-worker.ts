/**
 * The worker thread of the checkpointer (see checkpointer.ts): its own connection to the database
 * file, one PASSIVE checkpoint per 'checkpoint' message, answered with SQLite's figures.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort!;
const db = new DatabaseSync((workerData as { file: string }).file);
// The copy back into the database file is synced before the WAL may start over.
db.exec('PRAGMA synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA main.wal_checkpoint(PASSIVE)');

port.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    port.postMessage(checkpoint.get());
  } catch (error) {
    port.postMessage({ error: String(error) });
  }
});
