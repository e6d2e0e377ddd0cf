import type { Clock, Count, Counters } from '../port.ts';
import type { Bulk } from './bulk.ts';
import type { Prepare, Row } from './counted.ts';
import type { GroupCommit } from './group-commit.ts';

/** The counters section: windows that end, incremented atomically. */
export function sqliteCounters(prepare: Prepare, commits: GroupCommit, clock: Clock, bulk: Bulk): Counters {
  const increment = prepare(`
    INSERT INTO counters (key, count, reset_at) VALUES (?, 1, ?)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN reset_at <= ? THEN 1 ELSE count + 1 END,
      reset_at = CASE WHEN reset_at <= ? THEN excluded.reset_at ELSE reset_at END
    RETURNING count, reset_at`);
  const get = prepare('SELECT count, reset_at FROM counters WHERE key = ? AND reset_at > ?');
  const reset = prepare('DELETE FROM counters WHERE key = ?');
  const toCount = (row: Row | undefined): Count | undefined =>
    row && { count: Number(row.count), resetAt: new Date(row.reset_at as number) };

  return {
    async increment(key, windowSeconds) {
      const now = clock();
      return toCount(await commits.write(() => increment.get(key, now + windowSeconds * 1000, now, now)) as Row)!;
    },
    async get(key) {
      return toCount(await commits.read(() => get.get(key, clock())) as Row | undefined);
    },
    async reset(key) {
      await commits.write(() => reset.run(key));
    },
    async prune() {
      return bulk({ work: 'ended-counters', now: clock() });
    },
  };
}
