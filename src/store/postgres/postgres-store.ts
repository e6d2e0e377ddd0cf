import { StoreOpenError, StoreUnavailableError, type Clock, type KindBounds, type Store } from '../port.ts';
import { DEFAULT_BATCH } from './batches.ts';
import { openDatabase, redactUrl, type Database } from './connect.ts';
import { migrate, requireSchema, type MigrationReport } from './schema.ts';
import { postgresAudit } from './postgres-audit.ts';
import { postgresCounters } from './postgres-counters.ts';
import { postgresDocuments } from './postgres-documents.ts';
import { postgresMembers } from './postgres-members.ts';
import { postgresPasskeys } from './postgres-passkeys.ts';

/** How the PostgreSQL store is opened. */
export type PostgresStoreOptions = {
  /** Apply missing schema steps on open (outside production); otherwise refuse to open on an older schema. */
  migrate: boolean;
  /** Connections this instance keeps at most (DATABASE_POOL_SIZE). */
  poolSize: number;
  /** Statements prepared by name once per connection (DATABASE_PREPARED_STATEMENTS); off when not given. */
  preparedStatements?: boolean;
  /** Kinds anyone can create without proving anything (sign-ins in progress), bounded per client address. */
  signInKinds?: Readonly<Record<string, KindBounds>>;
  /** Rows per pruning statement and the pause between statements (tests make them small). */
  pruneBatch?: { size: number; pauseMs: number };
};

/**
 * The store on PostgreSQL, shared by any number of IdP instances: documents (oidc-provider's models,
 * sign-ins in progress, challenges), members, passkeys, counters and the audit trail each in a table
 * of their own. Rejects with StoreOpenError, one line, when the database cannot be reached or its
 * schema is behind (and `migrate` is off).
 */
export async function openPostgresStore(url: string, clock: Clock, options: PostgresStoreOptions): Promise<Store> {
  const where = redactUrl(url);
  const db = openDatabase(url, { poolSize: options.poolSize, preparedStatements: options.preparedStatements });
  try {
    await connected(db, where);
    if (options.migrate) await migrate(db);
    else await requireSchema(db, where);
  } catch (error) {
    await db.end();
    throw error;
  }

  // Opening's own statements (the connection check, migrations) are not the IdP's work.
  const atOpen = db.traffic();
  let closed = false;
  const batches = { ...DEFAULT_BATCH, ...options.pruneBatch, closing: () => closed };
  return {
    kind: 'postgres',
    documents: postgresDocuments(db, clock, options.signInKinds ?? {}, batches),
    members: postgresMembers(db, clock),
    passkeys: postgresPasskeys(db),
    counters: postgresCounters(db, clock, batches),
    audit: postgresAudit(db, batches),
    async ping() {
      await db.upkeep('SELECT 1');
    },
    async checkWrites() {
      // A real write, committed (and, with synchronous replication, replicated) like any other: it
      // fails on a read-only standby, a full disk, or with no server at all.
      await db.upkeep('INSERT INTO write_check (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at', [new Date(clock()).toISOString()]);
    },
    async reclaimSpace() {
      // Autovacuum makes the space of deleted rows reusable; giving it back to the file system is an
      // operator's VACUUM FULL or pg_repack, never something to run beside requests.
      return 0;
    },
    statementsRun: () => db.traffic().statements - atOpen.statements,
    roundTripsRun: () => db.traffic().roundTrips - atOpen.roundTrips,
    async close() {
      closed = true;
      await db.end();
    },
  };
}

/** Applies every missing schema step to the database `url` names, for `npm run db:migrate`. */
export async function migratePostgres(url: string): Promise<MigrationReport> {
  const db = openDatabase(url, { poolSize: 1 });
  try {
    await connected(db, redactUrl(url));
    return await migrate(db);
  } finally {
    await db.end();
  }
}

async function connected(db: Database, where: string): Promise<void> {
  try {
    await db.query('SELECT 1');
  } catch (error) {
    const reason = (error instanceof StoreUnavailableError ? error.cause : error) as Error & { code?: string };
    // Connecting to a name with several addresses fails with an AggregateError, whose message is empty.
    throw new StoreOpenError(`cannot connect to PostgreSQL at ${where}: ${reason.message || reason.code || String(reason)}`, { cause: error });
  }
}
