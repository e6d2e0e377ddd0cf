import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateJwks } from '../../src/config/load.ts';
import { openStore } from '../../src/store/open.ts';
import { openDatabase } from '../../src/store/postgres/connect.ts';
import { MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { migratePostgres } from '../../src/store/postgres/postgres-store.ts';
import { migrate } from '../../src/store/postgres/schema.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';
import { createManualClock } from './store-contract.ts';

const migrateCli = fileURLToPath(new URL('../../src/cli/migrate.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Everything production asks for besides the database, in files under `dir`. */
function productionSettings(dir: string): Record<string, string> {
  writeFileSync(path.join(dir, 'clients.json'), JSON.stringify([{ client_id: 'website', client_secret: 's'.repeat(40), redirect_uris: ['https://www.example.jp/cb'] }]));
  writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify(generateJwks()));
  return {
    NODE_ENV: 'production', ISSUER: 'https://idp.example.jp', DATA_DIR: dir, PORT: '0', COOKIE_KEYS: 'k'.repeat(40),
    OIDC_CLIENTS_FILE: path.join(dir, 'clients.json'), JWKS_FILE: path.join(dir, 'jwks.json'),
    SMS_TRANSPORT: 'twilio', TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'x'.repeat(32), TWILIO_FROM: '+15005550006',
  };
}

withPostgres('PostgreSQL schema migrations', () => {
  const cluster = sharedCluster();
  const applied = (url: string) => cluster().sql<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version', [], url);
  const newest = MIGRATIONS.length;

  test('three instances opening a fresh database at once apply each step once, and all of them work', async (t) => {
    const url = await cluster().createDatabase();
    const clock = createManualClock();
    const stores = await Promise.all([1, 2, 3].map(() => openStore(url, { clock, ensureIndexes: true, poolSize: 2 })));
    t.teardown(() => Promise.all(stores.map((store) => store.close())));
    t.deepEqual(await applied(url), MIGRATIONS.map(({ version, name }) => ({ version, name })));
    await stores[0]!.documents.upsert('Client', 'c1', { client_id: 'c1' }, undefined);
    for (const store of stores) t.deepEqual(await store.documents.find('Client', 'c1'), { client_id: 'c1' });
  });

  test('steps taking a while are applied once each and in order however many run them at once', async (t) => {
    const url = await cluster().createDatabase();
    const steps = [1, 2, 3].map((version) => ({
      version,
      name: `step ${version}`,
      sql: `SELECT pg_sleep(0.05); CREATE TABLE step_${version} (after integer ${version > 1 ? `REFERENCES step_${version - 1} (id)` : ''}, id integer PRIMARY KEY)`,
    }));
    const databases = [1, 2, 3].map(() => openDatabase(url, { poolSize: 1 }));
    t.teardown(() => Promise.all(databases.map((db) => db.end())));
    const reports = await Promise.all(databases.map((db) => migrate(db, steps)));
    t.deepEqual(reports.flatMap((report) => report.applied.map((step) => step.version)).sort(), [1, 2, 3]);
    for (const report of reports) t.is(report.version, 3);
    t.deepEqual((await applied(url)).map((step) => step.version), [1, 2, 3]);
  });

  test('migrating again applies nothing and keeps the data', async (t) => {
    const url = await cluster().createDatabase();
    const first = await migratePostgres(url);
    t.is(first.version, newest);
    t.deepEqual(first.applied.map((step) => step.version), MIGRATIONS.map((step) => step.version));
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: false });
    await store.documents.upsert('Client', 'c1', { client_id: 'c1' }, undefined);
    await store.close();
    const again = await migratePostgres(url);
    t.deepEqual(again, { version: newest, applied: [], newest });
    const reopened = await openStore(url, { clock, ensureIndexes: true });
    t.teardown(() => reopened.close());
    t.deepEqual(await reopened.documents.find('Client', 'c1'), { client_id: 'c1' });
  });

  test('in production a database whose schema is behind is refused with one line naming npm run db:migrate; once migrated it opens', async (t) => {
    const url = await cluster().createDatabase();
    const error = await t.throwsAsync(openStore(url, { ensureIndexes: false }));
    t.is(error!.message.split('\n').length, 1);
    t.regex(error!.message, /schema .* is at version 0 of \d+: run `npm run db:migrate`/);
    t.notRegex(error!.message, /postgres@/, 'no user name or password in the message');
    t.deepEqual(await cluster().sql("SELECT to_regclass('documents') AS found", [], url), [{ found: null }], 'nothing was created');
    await migratePostgres(url);
    const store = await openStore(url, { ensureIndexes: false });
    t.teardown(() => store.close());
    await t.notThrowsAsync(store.checkWrites());
  });

  test('npm start in production on a database not yet migrated exits, before listening, with one line naming npm run db:migrate', async (t) => {
    const url = await cluster().createDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), 'jmb-postgres-start-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: root, env: { PATH: process.env.PATH, ...productionSettings(dir), DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    t.is(code, 1);
    t.is(stdout, '', 'it never listened');
    t.regex(stderr, /^jmb-idp: the PostgreSQL schema at postgres:\/\/127\.0\.0\.1:\d+\/\w+ is at version 0 of \d+: run `npm run db:migrate` before starting the IdP\n$/);
  });

  test('a schema newer than this IdP knows is accepted, so old and new instances run side by side during an upgrade', async (t) => {
    const url = await cluster().createDatabase();
    await migratePostgres(url);
    await cluster().sql("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from a newer release')", [newest + 1], url);
    const store = await openStore(url, { ensureIndexes: false });
    t.teardown(() => store.close());
    await t.notThrowsAsync(store.checkWrites());
    t.deepEqual(await migratePostgres(url), { version: newest + 1, applied: [], newest });
  });

  test('the IdP runs under a role that may only read and write its tables, over the Unix socket', async (t) => {
    const url = await cluster().createDatabase();
    await migratePostgres(url);
    const name = new URL(url).pathname.slice(1);
    const role = `idp_${name.slice(-6)}`;
    await cluster().sql(`CREATE ROLE ${role} LOGIN`);
    await cluster().sql(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}; GRANT USAGE ON SEQUENCE documents_written TO ${role}`, [], url);
    const socketUrl = `postgres://${role}@/${name}?host=${encodeURIComponent(cluster().socketDir)}&port=${cluster().port}`;
    const clock = createManualClock();
    const store = await openStore(socketUrl, { clock, ensureIndexes: false, signInKinds: { Interaction: { max: 10, perOwner: 2 } } });
    t.teardown(() => store.close());
    await store.checkWrites();
    await store.documents.upsert('Interaction', 'i1', { a: 1 }, new Date(clock() + 60_000), '203.0.113.1');
    await store.documents.update('MemberSession', 'm1/x', () => ({ payload: { b: 2 }, expiresAt: undefined }));
    t.true(await store.documents.consume('Interaction', 'i1'));
    await store.audit.append({ memberId: 'm1', at: new Date(clock()), type: 'login', outcome: 'success' });
    t.is((await store.counters.increment('k', 60)).count, 1);
    t.is(await store.documents.prune(), 0);
    const development = await openStore(socketUrl, { clock, ensureIndexes: true });
    await development.close();
    t.pass('an up-to-date schema opens outside production too, where nothing needs changing');
    const db = openDatabase(socketUrl, { poolSize: 1 });
    t.teardown(() => db.end());
    const next = { version: MIGRATIONS.length + 1, name: 'a later step', sql: 'CREATE TABLE later (id integer)' };
    const refused = await t.throwsAsync(migrate(db, [...MIGRATIONS, next]));
    t.regex(refused!.message, /permission denied/, 'a step it cannot apply is refused, not half-applied');
    t.deepEqual(await cluster().sql('SELECT max(version) AS version FROM schema_migrations', [], url), [{ version: MIGRATIONS.length }]);
  });

  test('npm run db:migrate applies the schema and says so, then finds nothing to do; a wrong URL fails with a reason', async (t) => {
    const url = await cluster().createDatabase();
    const run = (databaseUrl: string) => spawnSync(process.execPath, [migrateCli], { env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: 'utf8' });
    const first = run(url);
    t.is(first.status, 0, first.stderr);
    t.is(first.stdout, `PostgreSQL schema is at version ${newest} at ${url.replace('postgres@', '')}:\n  applied ${MIGRATIONS.map((step) => `${step.version} (${step.name})`).join('; ')}\n`);
    const second = run(url);
    t.is(second.status, 0, second.stderr);
    t.regex(second.stdout, /is at version \d+ at .*:\n {2}nothing to apply\n$/);
    const wrong = run(`postgres://postgres:secret@127.0.0.1:${cluster().port}/no_such_database`);
    t.is(wrong.status, 1);
    t.regex(wrong.stderr, /^db:migrate failed: cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/no_such_database: database "no_such_database" does not exist\n$/);
    t.notRegex(wrong.stderr, /secret/);
  });
});
