import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Clock, CommitObserver, KindBounds, Store } from '../port.ts';
import { createMemoryDocuments, splitDocuments } from '../memory-documents.ts';
import { DEFAULT_CHECKPOINTS, startCheckpointer, type CheckpointOptions } from './checkpointer.ts';
import { GroupCommit } from './group-commit.ts';
import { createWalFlush } from './wal-flush.ts';
import { holdOwnerLock } from './owner-lock.ts';
import { prepareDatabase } from './prepare.ts';
import { bulkBatches, type Bulk } from './bulk.ts';
import { startBulkThread } from './bulk-thread.ts';
import { createWriteGate } from './write-gate.ts';
import { countingPrepare } from './counted.ts';
import { DEFAULT_SLICES, inSlices, type SliceOptions } from './slices.ts';
import { sqliteAudit } from './sqlite-audit.ts';
import { sqliteCounters } from './sqlite-counters.ts';
import { sqliteDocuments } from './sqlite-documents.ts';
import { sqliteMembers } from './sqlite-members.ts';
import { sqlitePasskeys } from './sqlite-passkeys.ts';

/** How the embedded store is opened: by the serving IdP or a tool, and its upkeep and durability. */
export type SqliteStoreOptions = {
  checkpoints?: CheckpointOptions;
  /**
   * This is the IdP process serving the file: it takes the file's owner lock (a second IdP process
   * refuses to start), and converts an older file to incremental vacuum. Tools leave it unset.
   */
  owner?: boolean;
  /**
   * `normal` (the default): the WAL is flushed at checkpoints only (a crash of the IdP loses
   * nothing, a power loss or OS crash may lose the last commits); `full`: nothing is answered before
   * the WAL holding it is flushed to disk (it survives a power loss).
   */
  synchronous?: 'full' | 'normal';
  /** Told of each commit (its time and statements) and of failures that may pass. */
  commits?: CommitObserver;
  /** How pruning and space reclaiming divide their work into short transactions. */
  slices?: SliceOptions;
  /**
   * Called with the serving connection once it is open. Tests use it to make writes fail the way a
   * full or read-only disk does (`PRAGMA max_page_count`, `PRAGMA query_only`).
   */
  connected?: (db: DatabaseSync) => void;
  /**
   * Kinds of documents kept in this process's memory instead of the file, each within its own bounds:
   * sign-in state that lives minutes and is only needed by the one IdP process that serves this file.
   * Each kind has its own bounds, so a flood of one kind cannot push out another.
   */
  signInKinds?: Readonly<Record<string, KindBounds>>;
};

/**
 * The embedded store on node:sqlite: WAL so readers never wait for the writer, a busy timeout so a
 * second process (the members tool) waits instead of failing, the schema migrated on open.
 * Every statement is a single atomic step, which is what makes consume/take/increment race-free;
 * the statements of one turn of the event loop share a transaction (see GroupCommit), and none is
 * answered before it is committed (and, with `full`, flushed). Throws DatabaseInUseError when
 * `owner` is set and another IdP process serves the file.
 */
export function openSqliteStore(file: string, clock: Clock, options: SqliteStoreOptions = {}): Store {
  const onDisk = file !== ':memory:';
  if (onDisk) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const lock = options.owner && onDisk ? holdOwnerLock(path.resolve(file)) : undefined;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file);
    prepareDatabase(db, onDisk, options);
  } catch (error) {
    lock?.release();
    throw error;
  }
  // `full`: answered only once the WAL is flushed, which a thread-pool thread does (see createWalFlush).
  const walFlush = onDisk && options.synchronous === 'full' ? createWalFlush(`${file}-wal`) : undefined;
  // Shared with the bulk worker (pruning) of a file the IdP serves; see startBulkThread.
  const gate = onDisk && options.owner ? createWriteGate() : undefined;
  const commits = new GroupCommit(db, { durable: walFlush?.flush, observe: options.commits, gate });
  const slices = options.slices ?? DEFAULT_SLICES;
  // Set as closing starts, so that pruning in progress stops at its next slice.
  let closed = false;
  const closing = () => closed || !db.isOpen;
  let checkpointer: ReturnType<typeof startCheckpointer> | undefined;
  if (onDisk) checkpointer = startCheckpointer(db, file, options.checkpoints ?? DEFAULT_CHECKPOINTS, commits);
  // Pruning and reclaiming: short transactions, paced by the checkpointer, stopping when the store
  // closes; on a worker thread for a file the IdP serves (see startBulkThread), else on this connection.
  let bulkThread: ReturnType<typeof startBulkThread> | undefined;
  const batchHere = bulkBatches(db);
  const bulk: Bulk = (work) => inSlices(async (batch) => {
    if (closing()) return { done: 0 };
    if (gate) bulkThread ??= startBulkThread(file, gate);
    if (bulkThread && !bulkThread.broken) {
      try {
        return await bulkThread.run(work, batch);
      } catch (error) {
        if (!bulkThread.broken) throw error;
      }
    }
    return { done: await commits.alone(() => batchHere(work, batch), { durable: false }) };
  }, slices, closing, checkpointer?.caughtUp);
  options.connected?.(db);
  const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
  const writeCheck = db.prepare('INSERT INTO write_check (data) VALUES (zeroblob(?))');
  const clearWriteCheck = db.prepare('DELETE FROM write_check');
  const vacuumMode = db.prepare('PRAGMA auto_vacuum');

  const inMemory = new Map(Object.entries(options.signInKinds ?? {}).map(([kind, bounds]) => [kind, createMemoryDocuments(clock, bounds)]));
  const tally = { ran: 0 };
  const prepare = countingPrepare(db, tally);

  return {
    kind: 'sqlite',
    documents: splitDocuments(sqliteDocuments(prepare, commits, clock, bulk), inMemory),
    members: sqliteMembers(prepare, commits, clock),
    passkeys: sqlitePasskeys(prepare, commits),
    counters: sqliteCounters(prepare, commits, clock, bulk),
    audit: sqliteAudit(prepare, commits, bulk),
    statementsRun: () => tally.ran,
    async ping() {
      await commits.read(() => db.prepare('SELECT 1').get());
    },
    inMemory: () => [...inMemory].map(([kind, documents]) => ({ kind, held: documents.size(), evicted: documents.evicted() })),
    ...(onDisk && { walBytes: () => statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0 }),
    async checkWrites() {
      // A page's worth, so the check needs the room a new document needs (a full disk or size
      // limit fails it), removed again in the same transaction.
      await commits.alone(() => {
        writeCheck.run(pageSize);
        clearWriteCheck.run();
      });
    },
    async reclaimSpace() {
      if ((vacuumMode.get() as { auto_vacuum: number }).auto_vacuum !== 2) return 0;
      return bulk({ work: 'free-pages' });
    },
    async close() {
      closed = true;
      await bulkThread?.stop();
      await checkpointer?.stop();
      if (db.isOpen) {
        await commits.flush();
        // A write may have come in while the last commit was being flushed.
        while (db.isOpen && db.isTransaction) await commits.flush();
        // `main.`: a bare checkpoint also covers the temp database, which (once a schema change has used
        // it) refuses with "database table is locked".
        if (onDisk) db.exec('PRAGMA main.wal_checkpoint(TRUNCATE)');
        db.close();
      }
      await walFlush?.close();
      lock?.release();
    },
  };
}
