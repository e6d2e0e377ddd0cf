import type { DatabaseSync } from 'node:sqlite';
import { migrate } from './schema.ts';

/**
 * Settings, schema and layout, before the first request. A new file is made with incremental vacuum,
 * so pruned space can go back to the file system; the serving IdP converts an older file once (a
 * VACUUM, before it listens).
 */
export function prepareDatabase(db: DatabaseSync, onDisk: boolean, options: { owner?: boolean }): void {
  db.exec('PRAGMA busy_timeout = 5000');
  // Commits never wait for the disk on this thread; with `full`, callers wait for a WAL flush off it.
  db.exec('PRAGMA synchronous = NORMAL');
  const empty = (db.prepare('SELECT count(*) AS tables FROM sqlite_schema').get() as { tables: number }).tables === 0;
  // Only takes effect before the first table is created.
  if (empty) db.exec('PRAGMA auto_vacuum = INCREMENTAL');
  migrate(db);
  if (!onDisk) return;
  db.exec('PRAGMA journal_mode = WAL');
  const { auto_vacuum: mode } = db.prepare('PRAGMA auto_vacuum').get() as { auto_vacuum: number };
  if (options.owner && mode !== 2) {
    db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  }
}
