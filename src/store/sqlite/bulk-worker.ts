/**
 * The worker thread of bulk upkeep (see bulk-thread.ts): its own connection to the database file,
 * one batch of bulk work per message, each in a transaction of its own, answered with how much it
 * did and how long it held the write lock.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { bulkBatches } from './bulk.ts';
import type { BulkReply, BulkRequest } from './bulk-thread.ts';
import { enterAsBulk, leaveAsBulk } from './write-gate.ts';

const port = parentPort!;
const { file, gate } = workerData as { file: string; gate: SharedArrayBuffer };
const db = new DatabaseSync(file);
// The serving thread's writes wait while a batch holds the gate: never wait long for another
// process's write lock (the members tool), the batch is tried again later instead.
db.exec('PRAGMA busy_timeout = 20');
db.exec('PRAGMA synchronous = NORMAL');
// The checkpointer copies the WAL back on a thread of its own; left on, SQLite's automatic checkpoint
// would run inside this connection's commits, with their fsyncs, while the gate is held.
db.exec('PRAGMA wal_autocheckpoint = 0');
const batches = bulkBatches(db);

port.on('message', (message: BulkRequest | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  // The serving connection's transaction of the moment is committed within a turn of its event loop.
  if (!enterAsBulk(gate, 1000)) {
    port.postMessage({ id: message.id, busy: true } satisfies BulkReply);
    return;
  }
  const began = performance.now();
  let reply: BulkReply;
  try {
    db.exec('BEGIN IMMEDIATE');
    const done = batches(message.work, message.batch);
    db.exec('COMMIT');
    reply = { id: message.id, done, ms: performance.now() - began };
  } catch (error) {
    try {
      if (db.isTransaction) db.exec('ROLLBACK');
    } catch {
      // nothing of the batch is kept either way
    }
    const errcode = (error as { errcode?: unknown }).errcode;
    reply = typeof errcode === 'number' && (errcode & 0xff) === 5
      ? { id: message.id, busy: true }
      : { id: message.id, error: { message: String((error as Error).message ?? error), ...(typeof errcode === 'number' && { errcode }) } };
  } finally {
    leaveAsBulk(gate);
  }
  port.postMessage(reply);
});
