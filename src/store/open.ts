import type { Clock, Store } from './port.ts';

export type OpenOptions = {
  clock?: Clock;
  /** Create MongoDB indexes on open (outside production; production runs `npm run db:migrate`). */
  ensureIndexes?: boolean;
  /**
   * On the embedded store, the kinds of documents kept in the IdP process's memory (sign-ins in
   * progress), each with the most it holds. MongoDB keeps every kind in the database: there, many
   * IdP instances share them.
   */
  inMemoryKinds?: Readonly<Record<string, number>>;
  /**
   * This process is the IdP serving the database. On the embedded store it takes the file's owner
   * lock: a second IdP process on the same file refuses to start (tools leave this unset).
   */
  serving?: boolean;
  /** The embedded store's durability level (SQLITE_SYNCHRONOUS; `normal` when unset). */
  sqliteSynchronous?: 'full' | 'normal';
};

/** Opens the store a DATABASE_URL names: `sqlite:<path>`, `sqlite::memory:` or `mongodb://…`. */
export async function openStore(databaseUrl: string, options: OpenOptions = {}): Promise<Store> {
  const clock = options.clock ?? Date.now;
  if (databaseUrl.startsWith('sqlite:')) {
    const { openSqliteStore } = await import('./sqlite/sqlite-store.ts');
    return openSqliteStore(databaseUrl.slice('sqlite:'.length), clock, {
      inMemoryKinds: options.inMemoryKinds,
      owner: options.serving,
      synchronous: options.sqliteSynchronous,
    });
  }
  if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) {
    // Loaded only when asked for, so the embedded default never loads mongoose.
    const { openMongoStore } = await import('./mongo/mongo-store.ts');
    return openMongoStore(databaseUrl, clock, { ensureIndexes: options.ensureIndexes ?? true });
  }
  throw new Error('DATABASE_URL must start with "sqlite:" or "mongodb://"');
}
