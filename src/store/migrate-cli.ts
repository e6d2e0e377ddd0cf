/**
 * `npm run db:migrate`: prepares the database DATABASE_URL names before the IdP starts against it.
 * For PostgreSQL that means applying every missing schema step (production never applies them at
 * run time); for MongoDB, creating every index; the embedded SQLite store migrates its own schema
 * when it opens.
 */
import { defaultDatabaseUrl } from '../config/database-url.ts';
import { isPostgresUrl } from './open.ts';

const databaseUrl = process.env.DATABASE_URL ?? defaultDatabaseUrl(process.env);

try {
  if (databaseUrl.startsWith('sqlite:')) {
    console.log('DATABASE_URL names the embedded SQLite store, which migrates its schema itself on open: nothing to do.');
  } else if (isPostgresUrl(databaseUrl)) {
    const { migratePostgres } = await import('./postgres/postgres-store.ts');
    const { redactUrl } = await import('./postgres/connect.ts');
    const report = await migratePostgres(databaseUrl);
    const steps = report.applied.length
      ? `applied ${report.applied.map((step) => `${step.version} (${step.name})`).join('; ')}`
      : 'nothing to apply';
    console.log(`PostgreSQL schema is at version ${report.version} at ${redactUrl(databaseUrl)}:\n  ${steps}`);
  } else if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) {
    const { ensureMongoIndexes } = await import('./mongo/mongo-store.ts');
    const { redactUrl } = await import('./mongo/connect.ts');
    const indexes = await ensureMongoIndexes(databaseUrl);
    const summary = Object.entries(indexes).map(([collection, names]) => `${collection} (${names.join(', ')})`).join('; ');
    console.log(`MongoDB indexes are in place at ${redactUrl(databaseUrl)}:\n  ${summary}`);
  } else {
    throw new Error('DATABASE_URL must start with "sqlite:", "postgres://" or "mongodb://"');
  }
} catch (error) {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
