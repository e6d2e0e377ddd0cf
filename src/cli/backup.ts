/**
 * `npm run db:backup -- --to <file>`: a consistent copy of the embedded database while the IdP
 * serves it, with SQLite's online backup. For PostgreSQL and MongoDB it says which standard tool to use instead.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseKindOf, defaultDatabaseUrl } from '../config/database-url.ts';
import { CliError, parseCommandLine } from './command-line.ts';

/** The priority the backup runs at (`nice`): well behind the IdP's, never stopped by it. */
const BACKUP_NICENESS = 10;

const USAGE = 'Usage: npm run db:backup -- --to <file>   (DATABASE_URL names the database, as for the IdP)';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const values = args[0] === 'help' ? { help: true } : parseCommandLine('db:backup', { to: { type: 'string' } }, args);
  if (values.help || typeof values.to !== 'string') {
    console.error(USAGE);
    return 2;
  }
  const databaseUrl = process.env.DATABASE_URL ?? defaultDatabaseUrl(process.env);
  const kind = databaseKindOf(databaseUrl);
  if (kind === 'postgres') {
    console.error('db:backup copies the embedded SQLite store; for PostgreSQL use pg_dump or your provider\'s backups (point-in-time recovery)');
    return 2;
  }
  if (kind === 'mongodb') {
    console.error('db:backup copies the embedded SQLite store; for MongoDB use mongodump (see docs/storage.md, "Backups")');
    return 2;
  }
  if (kind !== 'sqlite' || databaseUrl === 'sqlite::memory:') {
    console.error('DATABASE_URL must name an SQLite file ("sqlite:<path>")');
    return 2;
  }
  const source = path.resolve(databaseUrl.slice('sqlite:'.length));
  const target = path.resolve(values.to);
  if (!existsSync(source)) {
    console.error(`there is no database at ${source}`);
    return 1;
  }
  if (existsSync(target)) {
    console.error(`${target} already exists: choose a new file (a backup never overwrites one)`);
    return 1;
  }
  // The copy and its check take what CPU the IdP leaves: on a machine of two or four cores, the
  // backup must not be what makes log-ins wait.
  try {
    os.setPriority(BACKUP_NICENESS);
  } catch {
    // not allowed here: the backup runs at the usual priority
  }
  const { backupSqlite } = await import('../store/sqlite/backup.ts');
  const report = await backupSqlite(source, target);
  console.log(`wrote ${target}: ${report.bytes.toLocaleString('en')} bytes (${report.pages.toLocaleString('en')} pages), ` +
    `schema version ${report.schemaVersion}, ${report.members} members, ${report.passkeys} passkeys, ${report.documents} documents, ` +
    `${report.auditEvents} audit events; quick_check ${report.check}; as of ${report.asOf}; ${report.seconds.toFixed(1)} s`);
  return report.check === 'ok' ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(error instanceof CliError ? error.message : `db:backup failed: ${(error as Error).message}`);
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
}
