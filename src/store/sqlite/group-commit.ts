import type { DatabaseSync } from 'node:sqlite';

/**
 * One transaction for all the statements run in one turn of the event loop, committed at its end
 * (in `setImmediate`): a commit costs locks and a write of every page it touched, and a log-in's
 * writes, and those of the log-ins served alongside it, share most of those pages.
 *
 * Nothing is answered before it is committed. A write's promise resolves with its result only after
 * the commit; so does a read made while a transaction is open, since what it saw may be another
 * request's uncommitted write. If the commit fails, or SQLite gives up the transaction part-way,
 * every statement of it rejects: no caller is ever told a write happened that did not.
 *
 * A statement that fails on its own (a constraint) rejects alone; the others in the transaction are
 * unaffected, as SQLite undoes only that statement.
 */
export class GroupCommit {
  private readonly db: DatabaseSync;
  private batch: Batch | undefined;
  private readonly whenIdle: (() => void)[] = [];

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** Runs a statement that changes the database; resolves with its result once committed. */
  write<T>(statement: () => T): Promise<T> {
    const batch = this.batch ?? this.begin();
    return this.run(batch, statement);
  }

  /** Runs a statement that only reads; resolves at once, or with the open transaction's commit. */
  read<T>(statement: () => T): Promise<T> {
    if (!this.batch) {
      try {
        return Promise.resolve(statement());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.run(this.batch, statement);
  }

  /** Runs `task` once no transaction is open: now, or right after the open one's commit. */
  idle(task: () => void): void {
    if (this.batch) this.whenIdle.push(task);
    else task();
  }

  /** Commits the open transaction now (before closing the database). */
  flush(): void {
    if (this.batch) this.commit(this.batch);
  }

  private begin(): Batch {
    this.db.exec('BEGIN');
    const batch: Batch = { settle: [] };
    this.batch = batch;
    setImmediate(() => this.commit(batch));
    return batch;
  }

  private run<T>(batch: Batch, statement: () => T): Promise<T> {
    let result: T;
    try {
      result = statement();
    } catch (error) {
      // Some failures (disk full, I/O) make SQLite roll the whole transaction back.
      if (!this.db.isOpen || !this.db.isTransaction) this.end(batch, { error });
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => batch.settle.push((failure) => (failure ? reject(failure.error) : resolve(result))));
  }

  private commit(batch: Batch): void {
    if (this.batch !== batch) return;
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      try {
        if (this.db.isOpen && this.db.isTransaction) this.db.exec('ROLLBACK');
      } catch {
        // Nothing of the transaction is kept either way; its statements are told below.
      }
      this.end(batch, { error });
      return;
    }
    this.end(batch, undefined);
  }

  private end(batch: Batch, failure: Failure | undefined): void {
    this.batch = undefined;
    for (const settle of batch.settle) settle(failure);
    for (const task of this.whenIdle.splice(0)) task();
  }
}

/** The statements of one transaction, each waiting to hear whether it was committed. */
type Batch = { settle: ((failure: Failure | undefined) => void)[] };
type Failure = { error: unknown };
