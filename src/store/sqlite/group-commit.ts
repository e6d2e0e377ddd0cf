import type { DatabaseSync } from 'node:sqlite';
import { StoreUnavailableError, type CommitObserver } from '../port.ts';
import { storeError } from './unavailable.ts';
import type { WriteGate } from './write-gate.ts';

export type GroupCommitOptions = {
  /**
   * Makes what was committed durable (flushes the WAL); statements are answered only once it
   * resolves. Without it, a commit is answered as soon as SQLite has made it.
   */
  durable?: () => Promise<void>;
  /** Told how long each shared commit took until answered and how many statements it carried, and of failures that may pass. */
  observe?: CommitObserver;
  /**
   * Shared with another thread writing to the same file (the bulk worker): a transaction starts only
   * once this connection holds the gate; while the other thread holds it, writes wait (the event loop
   * goes on) instead of meeting its lock inside a statement.
   */
  gate?: WriteGate;
};

/**
 * One transaction for all the statements run in one turn of the event loop, committed at its end
 * (in `setImmediate`): a commit costs locks and a write of every page it touched, and a log-in's
 * writes, and those of the log-ins served alongside it, share most of those pages.
 *
 * Nothing is answered before it is committed (and, with `durable`, on disk). A write's promise resolves
 * with its result only after that; so does a read made while a transaction is open or being flushed,
 * since what it saw may be another request's write that is not yet durable. If the commit or the
 * flush fails, or SQLite gives up the transaction part-way, every statement of it rejects: no caller
 * is ever told a write happened that did not.
 *
 * A statement that fails on its own (a constraint) rejects alone; the others in the transaction are
 * unaffected, as SQLite undoes only that statement. Failures that may pass (disk full, read-only,
 * I/O) reject as StoreUnavailableError.
 */
export class GroupCommit {
  private readonly db: DatabaseSync;
  private readonly options: GroupCommitOptions;
  private batch: Batch | undefined;
  /** The flush of the latest commit, while it runs. */
  private flushing: Promise<void> | undefined;
  private readonly whenIdle: (() => void)[] = [];
  /** While paused, the writes (and transactions of their own) waiting to start, in order. */
  private paused: (() => void)[] | undefined;
  /** How many pauses are in force. */
  private holds = 0;

  constructor(db: DatabaseSync, options: GroupCommitOptions = {}) {
    this.db = db;
    this.options = options;
  }

  /** Runs a statement that changes the database; resolves with its result once committed. */
  write<T>(statement: () => T): Promise<T> {
    const paused = this.paused;
    if (paused || (!this.batch && !this.enterGate())) {
      return new Promise<T>((resolve, reject) => this.paused!.push(() => this.write(statement).then(resolve, reject)));
    }
    const batch = this.batch ?? this.begin();
    return this.run(batch, statement);
  }

  /**
   * Holds back new transactions (their writes wait, in order) and resolves once the open one, if
   * any, is committed: the WAL then stays as it is until `resume`. Reads go on. Holds may overlap
   * (the checkpointer's and bulk work's); writes go once each has been resumed.
   */
  pause(): Promise<void> {
    this.holds += 1;
    this.paused ??= [];
    return new Promise((resolve) => this.idle(resolve));
  }

  /** Ends one `pause`; once none is left, the writes held back go, in the order they came. */
  resume(): void {
    if (this.holds === 0) return;
    this.holds -= 1;
    if (this.holds > 0) return;
    const waiting = this.paused ?? [];
    this.paused = undefined;
    for (const start of waiting) start();
  }

  /** Runs a statement that only reads; resolves at once, or once what it may have seen is durable. */
  read<T>(statement: () => T): Promise<T> {
    if (!this.batch) {
      let result: T;
      try {
        result = statement();
      } catch (error) {
        return Promise.reject(storeError(error));
      }
      return this.flushing ? this.flushing.then(() => result) : Promise.resolve(result);
    }
    return this.run(this.batch, statement);
  }

  /**
   * Runs `statements` in a transaction of their own, once no other is open, and commits it at once:
   * work that must not share the fate (or the length) of the requests' transaction, such as a
   * write check or a slice of pruning. Rejects, with nothing kept, when any of them fails. Resolves
   * once the commit is durable, unless `durable` is false (work nobody waits on, like pruning: the
   * next flush covers it).
   */
  alone<T>(statements: () => T, options: { durable?: boolean } = {}): Promise<T> {
    const paused = this.paused;
    if (paused) return new Promise<T>((resolve, reject) => paused.push(() => this.alone(statements, options).then(resolve, reject)));
    return new Promise<T>((resolve, reject) => this.idle(() => {
      if (!this.enterGate()) {
        this.paused!.push(() => this.alone(statements, options).then(resolve, reject));
        return;
      }
      let result: T;
      try {
        this.db.exec('BEGIN');
        result = statements();
        this.db.exec('COMMIT');
      } catch (error) {
        this.rollback();
        reject(storeError(error));
        return;
      } finally {
        this.options.gate?.leave();
      }
      if (options.durable === false) resolve(result);
      else this.whenDurable().then(() => resolve(result), reject);
    }));
  }

  /** Runs `task` once no transaction is open: now, or right after the open one's commit. */
  idle(task: () => void): void {
    if (this.batch) this.whenIdle.push(task);
    else task();
  }

  /** Commits the open transaction now (before closing the database); resolves once it is durable. */
  async flush(): Promise<void> {
    if (this.batch) this.commit(this.batch);
    await this.flushing?.catch(() => undefined);
  }

  /**
   * Takes the write gate for a new transaction. When the other thread holds it, holds new
   * transactions back (as `pause` does) until it gives it back, and says no.
   */
  private enterGate(): boolean {
    const gate = this.options.gate;
    if (!gate || gate.tryEnter()) return true;
    this.holds += 1;
    this.paused ??= [];
    gate.whenOpen(() => this.resume());
    return false;
  }

  private begin(): Batch {
    try {
      this.db.exec('BEGIN');
    } catch (error) {
      this.options.gate?.leave();
      throw error;
    }
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
      const failure = storeError(error);
      if (failure instanceof StoreUnavailableError) this.options.observe?.failed('statement');
      // Some failures (disk full, I/O) make SQLite roll the whole transaction back.
      if (!this.db.isOpen || !this.db.isTransaction) this.end(batch, { error: failure });
      return Promise.reject(failure);
    }
    return new Promise<T>((resolve, reject) => batch.settle.push((failure) => (failure ? reject(failure.error) : resolve(result))));
  }

  private commit(batch: Batch): void {
    if (this.batch !== batch) return;
    const started = performance.now();
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      this.rollback();
      this.options.observe?.failed('commit');
      this.end(batch, { error: storeError(error) });
      return;
    }
    const durable = this.options.durable ? this.whenDurable() : undefined;
    const observe = this.options.observe;
    if (observe) {
      const answered = () => observe.committed((performance.now() - started) / 1000, batch.settle.length);
      if (durable) durable.then(answered, () => observe.failed('commit'));
      else answered();
    }
    this.end(batch, undefined, durable);
  }

  /** The flush of what was just committed (resolved at once without `durable`). */
  private whenDurable(): Promise<void> {
    if (!this.options.durable) return Promise.resolve();
    const flushing = this.options.durable();
    this.flushing = flushing;
    void flushing.then(() => undefined, () => undefined).then(() => {
      if (this.flushing === flushing) this.flushing = undefined;
    });
    return flushing;
  }

  private rollback(): void {
    try {
      if (this.db.isOpen && this.db.isTransaction) this.db.exec('ROLLBACK');
    } catch {
      // Nothing of the transaction is kept either way; its statements are told.
    }
  }

  /** Closes the batch (the connection is free again at once) and tells its statements, after `durable` when given. */
  private end(batch: Batch, failure: Failure | undefined, durable?: Promise<void>): void {
    this.batch = undefined;
    this.options.gate?.leave();
    const settle = (outcome: Failure | undefined) => {
      for (const told of batch.settle) told(outcome);
    };
    if (failure || !durable) settle(failure);
    else durable.then(() => settle(undefined), (error: unknown) => settle({ error }));
    for (const task of this.whenIdle.splice(0)) task();
  }
}

/** The statements of one transaction, each waiting to hear whether it was committed. */
type Batch = { settle: ((failure: Failure | undefined) => void)[] };
type Failure = { error: unknown };
