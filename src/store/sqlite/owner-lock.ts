import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { StoreOpenError } from '../port.ts';

/**
 * Another IdP process serves this database file: the store cannot be opened, like any StoreOpenError,
 * and the message is the one line an operator sees.
 */
export class DatabaseInUseError extends StoreOpenError {
  readonly file: string;
  readonly pid: number | undefined;
  constructor(file: string, pid: number | undefined) {
    super(`the database ${file} is in use by another IdP process (${pid ? `pid ${pid}` : 'pid unknown'}): ` +
      'the embedded SQLite store serves one IdP process; for more than one instance, use PostgreSQL (DATABASE_URL=postgres://…)');
    this.name = 'DatabaseInUseError';
    this.file = file;
    this.pid = pid;
  }
}

/**
 * Makes this process the one IdP serving `file`, or throws DatabaseInUseError naming the process that
 * already is. Tools (the members tool, backups) open the database without it.
 *
 * The lock is a write transaction held open on a small SQLite file beside the database
 * (`<file>-lock`): SQLite takes it as an operating-system lock on that file, which the kernel drops
 * when the process ends however it ends, so a crash leaves nothing behind that blocks the next start.
 * The holder's pid goes in `<file>-lock.pid`, written only once the lock is held: a stale pid file
 * names a process that no longer holds anything and is simply overwritten.
 */
export function holdOwnerLock(file: string): { release(): void } {
  const lockFile = `${file}-lock`;
  const pidFile = `${lockFile}.pid`;
  const lock = new DatabaseSync(lockFile, { timeout: 0 });
  try {
    lock.exec('BEGIN IMMEDIATE');
  } catch (error) {
    lock.close();
    if ((error as { errcode?: number }).errcode !== 5) throw error;
    throw new DatabaseInUseError(file, readPid(pidFile));
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  return {
    release() {
      if (!lock.isOpen) return;
      rmSync(pidFile, { force: true });
      lock.close();
    },
  };
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
