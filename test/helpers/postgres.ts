/**
 * A private PostgreSQL cluster for the tests: Debian's `postgresql` package (.ci/run installs it),
 * `initdb` in a temporary folder, listening on 127.0.0.1 at a free port and on a socket in that
 * folder, trust authentication, no fsync. PostgreSQL refuses to run as root, so when the tests do,
 * the cluster runs as `nobody`. Each test gets a database of its own; the cluster is stopped and its
 * folder removed by `stop`, and on the test process's exit whatever happened.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { freePort } from './ports.ts';

const DEBIAN_ROOT = '/usr/lib/postgresql';
const UNPRIVILEGED = { uid: 65534, gid: 65534 };

/** The newest installed PostgreSQL's bin folder (Debian keeps one folder per major version), if any. */
export function postgresBin(): string | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((version) => /^\d+$/.test(version) && existsSync(path.join(DEBIAN_ROOT, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(DEBIAN_ROOT, versions[0], 'bin');
}

/** Why a private PostgreSQL cluster cannot run here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  if (postgresBin()) return undefined;
  return `PostgreSQL is not installed (no ${DEBIAN_ROOT}/<version>/bin/initdb): apt-get install -y postgresql (.ci/run installs it)`;
}

/**
 * Calls `register` (which registers the tests that need PostgreSQL) when a private cluster can run
 * here; otherwise registers one test titled `title` that says why: skipped, or failed when
 * TEST_REQUIRE_POSTGRES is set (CI, where these tests must run).
 */
export function withPostgres(title: string, register: () => void): void {
  const missing = postgresMissing();
  if (!missing) {
    register();
  } else if (process.env.TEST_REQUIRE_POSTGRES) {
    test(title, (t) => t.fail(`TEST_REQUIRE_POSTGRES is set but ${missing}`));
  } else {
    test.skip(`${title}: skipped, ${missing}`, () => {});
  }
}

/**
 * One private cluster for the test file, started before its first test and stopped after its last
 * (whether or not they passed). Call at the top level of a test file, inside `withPostgres`, before
 * registering any `test.serial.before` hook that uses it.
 */
export function sharedCluster(): () => PostgresCluster {
  let cluster: PostgresCluster | undefined;
  // Serial, so that it runs before the file's own `test.serial.before` hooks, which use it.
  test.serial.before(async () => {
    cluster = await startPostgres();
  });
  test.after.always(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster did not start');
    return cluster;
  };
}

export type PostgresCluster = {
  port: number;
  /** The folder of the cluster's Unix socket. */
  socketDir: string;
  /** The URL of database `name` on this cluster. */
  urlOf(name: string): string;
  /**
   * Creates an empty database with a fresh name and returns its URL. `icuLocale` gives it that ICU
   * locale as its default collation (where "B" sorts after "a", unlike byte order).
   */
  createDatabase(options?: { icuLocale?: string }): Promise<string>;
  /** Runs SQL as the superuser on the database `url` names (default: the `postgres` database). */
  sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], url?: string): Promise<T[]>;
  /** `pg_ctl stop -m fast`: every connection is ended, as in a database restart. */
  halt(): Promise<void>;
  /** Starts the stopped cluster again, on the same port. */
  resume(): Promise<void>;
  /** `pg_ctl restart -m fast`: every connection is ended and the server starts again at once, on the same port. */
  restart(): Promise<void>;
  /** The server log so far. */
  log(): string;
  /** Stops the cluster and removes its folder. */
  stop(): Promise<void>;
};

/** Starts a private cluster and resolves once it accepts connections. */
export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresMissing());
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-postgres-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const port = await freePort();
  const options: SpawnOptions = {
    ...(asRoot && UNPRIVILEGED),
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  };
  const run = (program: string, args: string[]) => runTool(path.join(bin, program), args, options);
  const pgCtl = (args: string[]) => run('pg_ctl', ['-D', data, ...args]);
  // Stopped on exit even when a test (or the whole file) fails before its teardown.
  const onExit = () => {
    spawnSync(path.join(bin, 'pg_ctl'), ['-D', data, 'stop', '-m', 'immediate'], { ...options, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  // A UTF-8 locale that is not "C", as on most servers: prefix look-ups must not depend on the
  // database's collation (the store's keys are COLLATE "C").
  await run('initdb', ['-D', data, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
  const serverOptions = [
    `-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c synchronous_commit=off',
    '-c full_page_writes=off', '-c shared_buffers=16MB', '-c max_connections=200',
  ].join(' ');
  const start = () => pgCtl(['-l', logFile, '-o', serverOptions, '-w', '-t', '60', 'start']);
  try {
    await start();
  } catch (error) {
    onExit();
    process.removeListener('exit', onExit);
    throw error;
  }

  const urlOf = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const sql = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = [], url = urlOf('postgres')) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    port,
    socketDir: dir,
    urlOf,
    sql,
    async createDatabase(options = {}) {
      const name = `jmb_idp_${randomBytes(6).toString('hex')}`;
      const icu = options.icuLocale ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale.replace(/[^A-Za-z0-9-]/g, '')}'` : '';
      await sql(`CREATE DATABASE ${name}${icu}`);
      return urlOf(name);
    },
    halt: () => pgCtl(['stop', '-m', 'fast', '-w']),
    resume: start,
    restart: () => pgCtl(['-l', logFile, '-o', serverOptions, '-w', '-t', '60', '-m', 'fast', 'restart']),
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop() {
      process.removeListener('exit', onExit);
      await pgCtl(['stop', '-m', 'immediate', '-w']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one of PostgreSQL's programs to its end; rejects with its output when it fails. */
function runTool(program: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, options);
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(program)} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}
