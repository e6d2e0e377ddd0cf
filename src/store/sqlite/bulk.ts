import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * A kind of bulk upkeep, done a batch at a time: what it removes and up to when. Plain data, so it
 * can be handed to the bulk worker (bulk-worker.ts) as well as run on the serving connection.
 */
export type BulkWork =
  | { work: 'expired-documents'; now: number }
  | { work: 'ended-counters'; now: number }
  | { work: 'old-audit'; before: number }
  | { work: 'free-pages' };

/** Runs bulk work in short transactions (see inSlices); resolves with how many rows (or pages) went. */
export type Bulk = (work: BulkWork) => Promise<number>;

/**
 * One batch of `work` on `db`, without a transaction of its own (the caller runs it in one):
 * returns how much it did, at most `batch` (fewer means nothing is left).
 */
export type BulkBatch = (work: BulkWork, batch: number) => number;

/** The batches of each kind of bulk work on one connection, statements prepared on first use. */
export function bulkBatches(db: DatabaseSync): BulkBatch {
  const prepared = new Map<string, StatementSync>();
  const statement = (sql: string) => {
    let found = prepared.get(sql);
    if (!found) prepared.set(sql, (found = db.prepare(sql)));
    return found;
  };
  const deleted = (sql: string, ...params: number[]) => Number(statement(sql).run(...params).changes);

  return (work, batch) => {
    switch (work.work) {
      case 'expired-documents':
        return deleted(`DELETE FROM documents WHERE rowid IN (
          SELECT rowid FROM documents INDEXED BY documents_expiry WHERE expires_at <= ? AND expires_at IS NOT NULL LIMIT ?)`, work.now, batch);
      case 'ended-counters':
        return deleted('DELETE FROM counters WHERE key IN (SELECT key FROM counters INDEXED BY counters_reset WHERE reset_at <= ? LIMIT ?)', work.now, batch);
      case 'old-audit':
        return deleted('DELETE FROM audit WHERE seq IN (SELECT seq FROM audit INDEXED BY audit_time WHERE at < ? LIMIT ?)', work.before, batch);
      case 'free-pages': {
        const free = () => (statement('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count;
        const before = free();
        db.exec(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(batch))})`);
        return before - free();
      }
    }
  };
}
