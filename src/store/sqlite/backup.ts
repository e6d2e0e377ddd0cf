import { closeSync, fdatasyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';

/** What a backup wrote. */
export type BackupReport = {
  bytes: number;
  pages: number;
  schemaVersion: number;
  members: number;
  passkeys: number;
  documents: number;
  auditEvents: number;
  /** `ok`, or what SQLite's quick_check found wrong with the copy. */
  check: string;
  /** When the snapshot copied was taken (ISO time). */
  asOf: string;
  seconds: number;
};

/** Pages copied per step (4 MiB at the default page size). */
const PAGES_PER_STEP = 1024;

/**
 * Copies the database at `source` to `target` with SQLite's online backup, while an IdP may be
 * writing to it from another process.
 *
 * The copy holds one read transaction on the source for its whole length, so every step copies from
 * the same snapshot: the copy is consistent as of its start, and the backup never has to start over
 * when the IdP commits (which, left alone, it would after nearly every step under load). In WAL mode
 * a reader never blocks the writer: the IdP goes on serving throughout; only its WAL grows a little
 * until the copy ends. The copy is written under a temporary name and renamed when complete and
 * checked, so a failed backup never leaves a file that looks finished.
 */
export async function backupSqlite(source: string, target: string): Promise<BackupReport> {
  const started = performance.now();
  const partial = `${target}.partial`;
  const db = new DatabaseSync(source, { timeout: 5000 });
  try {
    db.exec('BEGIN');
    // The snapshot is taken at the first read.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    const asOf = new Date().toISOString();
    const pages = await backup(db, partial, { rate: PAGES_PER_STEP, progress: () => flush(partial) });
    db.exec('COMMIT');
    const report = inspect(partial);
    renameSync(partial, target);
    // The new name, too, survives a crash once the backup says it is done.
    flush(path.dirname(target), 'r');
    return { ...report, pages, bytes: statSync(target).size, asOf, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

/**
 * Puts what was written to `file` (a directory: its entries) on disk. Called after every step of
 * the copy: left to the kernel, the whole copy (a gigabyte for a million documents) would sit in
 * memory as dirty pages until the backup's closing sync wrote it out at once, seconds in which the
 * disk serves little else and the IdP's own log flushes queue behind it. Written out a step at a
 * time, the backup never has more than a step's worth waiting, and each step's sync paces the copy
 * to what the disk can take.
 */
function flush(file: string, flags = 'r+'): void {
  const fd = openSync(file, flags);
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function inspect(file: string): Pick<BackupReport, 'schemaVersion' | 'members' | 'passkeys' | 'documents' | 'auditEvents' | 'check'> {
  const copy = new DatabaseSync(file);
  try {
    // A copy stands alone: no WAL beside it to lose when it is moved.
    copy.exec('PRAGMA journal_mode = DELETE');
    const count = (table: string) => Number((copy.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    const checks = copy.prepare('PRAGMA quick_check').all().map((row) => String(row.quick_check));
    return {
      schemaVersion: (copy.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
      members: count('members'),
      passkeys: count('passkeys'),
      documents: count('documents'),
      auditEvents: count('audit'),
      check: checks.join('; '),
    };
  } finally {
    copy.close();
  }
}
