import { databaseKindOf } from '../config/database-url.ts';
import type { Clock, CommitObserver, KindBounds, Store } from './port.ts';

export type OpenOptions = {
  clock?: Clock;
  /**
   * Prepare the database on open: create MongoDB's indexes, apply PostgreSQL's missing schema steps
   * (outside production; production runs `npm run db:migrate`, and a PostgreSQL store whose schema is
   * behind refuses to open).
   */
  ensureIndexes?: boolean;
  /** The most connections to PostgreSQL this process keeps (DATABASE_POOL_SIZE; 10 when unset). */
  poolSize?: number;
  /**
   * PostgreSQL statements prepared by name once per connection (DATABASE_PREPARED_STATEMENTS; off when
   * unset, as for tools, which run a few statements each).
   */
  preparedStatements?: boolean;
  /**
   * The kinds of documents anyone can create without proving anything (sign-ins in progress), with
   * their bounds. The embedded store keeps them in the IdP process's memory, within `max` in all and
   * `perOwner` per owner (a client's network); PostgreSQL and MongoDB keep them in the database,
   * where many IdP instances share them, within `perOwner` per owner.
   */
  signInKinds?: Readonly<Record<string, KindBounds>>;
  /**
   * This process is the IdP serving the database. On the embedded store it takes the file's owner
   * lock: a second IdP process on the same file refuses to start (tools leave this unset).
   */
  serving?: boolean;
  /** The embedded store's durability level (SQLITE_SYNCHRONOUS; `normal` when unset). */
  sqliteSynchronous?: 'full' | 'normal';
  /** Told of the embedded store's commits and failures (the IdP's metrics). */
  commits?: CommitObserver;
};

/** Opens the store a DATABASE_URL names: `sqlite:<path>`, `sqlite::memory:`, `postgres://…` or `mongodb://…`. */
export async function openStore(databaseUrl: string, options: OpenOptions = {}): Promise<Store> {
  const clock = options.clock ?? Date.now;
  const kind = databaseKindOf(databaseUrl);
  if (kind === 'sqlite') {
    const { openSqliteStore } = await import('./sqlite/sqlite-store.ts');
    return openSqliteStore(databaseUrl.slice('sqlite:'.length), clock, {
      signInKinds: options.signInKinds,
      owner: options.serving,
      synchronous: options.sqliteSynchronous,
      commits: options.commits,
    });
  }
  if (kind === 'postgres') {
    // Loaded only when asked for, like MongoDB's: the embedded default never loads pg.
    const { openPostgresStore } = await import('./postgres/postgres-store.ts');
    return openPostgresStore(databaseUrl, clock, {
      migrate: options.ensureIndexes ?? true,
      poolSize: options.poolSize ?? 10,
      preparedStatements: options.preparedStatements,
      signInKinds: options.signInKinds,
    });
  }
  if (kind === 'mongodb') {
    // Loaded only when asked for, so the embedded default never loads mongoose.
    const { openMongoStore } = await import('./mongo/mongo-store.ts');
    return openMongoStore(databaseUrl, clock, { ensureIndexes: options.ensureIndexes ?? true, signInKinds: options.signInKinds });
  }
  throw new Error('DATABASE_URL must start with "sqlite:", "postgres://" or "mongodb://"');
}
