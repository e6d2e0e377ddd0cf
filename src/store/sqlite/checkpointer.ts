import type { DatabaseSync } from 'node:sqlite';

/**
 * Checkpoints the WAL of `db` every `everyMs`, in place of SQLite's automatic checkpoints. Those land
 * inside whichever write crosses the threshold, every few hundred writes, and block that request for
 * the copy and the sync; on a timer they run between requests, and a page written many times in
 * between is copied once. Run from the serving connection itself: a checkpoint from another one
 * never catches up with steady writes, and the WAL would then grow without end.
 */
export function startCheckpointer(db: DatabaseSync, everyMs: number): { stop(): void } {
  db.exec('PRAGMA wal_autocheckpoint = 0');
  const timer = setInterval(() => {
    try {
      if (db.isOpen) db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch {
      // Another process holds the database for a moment; the next tick catches up.
    }
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
