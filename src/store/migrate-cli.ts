/**
 * `npm run db:migrate`: prepares the database DATABASE_URL names before the IdP starts against it.
 * For MongoDB that means creating every index (production never creates them at run time);
 * the embedded SQLite store migrates its own schema when it opens.
 */
import { defaultDatabaseUrl } from '../config/database-url.ts';

const databaseUrl = process.env.DATABASE_URL ?? defaultDatabaseUrl(process.env);

try {
  if (databaseUrl.startsWith('sqlite:')) {
    console.log('DATABASE_URL names the embedded SQLite store, which migrates its schema itself on open: nothing to do.');
  } else if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) {
    const { ensureMongoIndexes } = await import('./mongo/mongo-store.ts');
    const { redactUrl } = await import('./mongo/connect.ts');
    const indexes = await ensureMongoIndexes(databaseUrl);
    const summary = Object.entries(indexes).map(([collection, names]) => `${collection} (${names.join(', ')})`).join('; ');
    console.log(`MongoDB indexes are in place at ${redactUrl(databaseUrl)}:\n  ${summary}`);
  } else {
    throw new Error('DATABASE_URL must start with "sqlite:" or "mongodb://"');
  }
} catch (error) {
  console.error(`db:migrate failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
