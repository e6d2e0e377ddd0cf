/**
 * `npm run db:migrate`: prepares the database DATABASE_URL names before the IdP starts against it.
 * For PostgreSQL that means applying every missing schema step (production never applies them at
 * run time); for MongoDB, creating every index; the embedded SQLite store migrates its own schema
 * when it opens.
 */
import { databaseKindOf, defaultDatabaseUrl } from '../config/database-url.ts';

/** Prepares the database; returns what an operator reads of it. */
async function main(databaseUrl: string): Promise<string> {
  switch (databaseKindOf(databaseUrl)) {
    case 'sqlite':
      return 'DATABASE_URL names the embedded SQLite store, which migrates its schema itself on open: nothing to do.';
    case 'postgres': {
      const [{ migratePostgres }, { redactUrl }] = await Promise.all([import('../store/postgres/postgres-store.ts'), import('../store/postgres/connect.ts')]);
      const report = await migratePostgres(databaseUrl);
      const steps = report.applied.length
        ? `applied ${report.applied.map((step) => `${step.version} (${step.name})`).join('; ')}`
        : 'nothing to apply';
      return `PostgreSQL schema is at version ${report.version} at ${redactUrl(databaseUrl)}:\n  ${steps}`;
    }
    case 'mongodb': {
      const [{ ensureMongoIndexes }, { redactUrl }] = await Promise.all([import('../store/mongo/mongo-store.ts'), import('../store/mongo/connect.ts')]);
      const indexes = await ensureMongoIndexes(databaseUrl);
      const summary = Object.entries(indexes).map(([collection, names]) => `${collection} (${names.join(', ')})`).join('; ');
      return `MongoDB indexes are in place at ${redactUrl(databaseUrl)}:\n  ${summary}`;
    }
    default:
      throw new Error('DATABASE_URL must start with "sqlite:", "postgres://" or "mongodb://"');
  }
}

try {
  console.log(await main(process.env.DATABASE_URL ?? defaultDatabaseUrl(process.env)));
} catch (error) {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
