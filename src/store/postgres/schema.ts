import { StoreOpenError } from '../port.ts';
import type { Database, Query } from './connect.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';

/**
 * The advisory lock migrations hold, transaction-scoped (released at COMMIT or ROLLBACK, so nothing
 * outlives the transaction on a pooled connection): IdP instances starting at once, or a start
 * beside `npm run db:migrate`, apply each step once, one after the other.
 */
const MIGRATION_LOCK = 0x6a6d6269; // "jmbi"

/** What a migration run found and did. */
export type MigrationReport = { version: number; applied: Migration[]; newest: number };

/** The schema version recorded in the database: 0 for an empty one. */
export async function schemaVersion(query: Query): Promise<number> {
  const exists = await query<{ found: string | null }>("SELECT to_regclass('schema_migrations') AS found");
  if (!exists.rows[0]?.found) return 0;
  const { rows } = await query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return rows[0]?.version ?? 0;
}

/** Applies every step the database lacks, one transaction per step under the migration lock. */
export async function migrate(db: Database, steps: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const applied: Migration[] = [];
  for (;;) {
    const step = await db.transaction(async (query) => {
      // A step may take long on a big table, and the lock may be held by another instance's step.
      await query('SET LOCAL statement_timeout = 0');
      await query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const version = await schemaVersion(query);
      const next = steps.find((candidate) => candidate.version === version + 1);
      // Nothing to do needs no right to change the schema: an IdP running under a role that may
      // only read and write its tables opens an up-to-date database outside production too.
      if (!next) return { version, applied: undefined };
      if (version === 0) {
        await query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
      }
      await query(next.sql);
      await query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [next.version, next.name]);
      return { version: next.version, applied: next };
    });
    if (!step.applied) return { version: step.version, applied, newest: steps.length };
    applied.push(step.applied);
  }
}

/**
 * Resolves when the database's schema has every step this IdP needs; otherwise rejects with one
 * line telling the operator what to run (StoreOpenError). A newer schema is accepted: each step keeps the release
 * before it working, so old and new instances run side by side during an upgrade.
 */
export async function requireSchema(db: Database, where: string, steps: readonly Migration[] = MIGRATIONS): Promise<void> {
  const version = await schemaVersion(db.query);
  if (version < steps.length) {
    throw new StoreOpenError(`the PostgreSQL schema at ${where} is at version ${version} of ${steps.length}: run \`npm run db:migrate\` before starting the IdP`);
  }
}
