/**
 * A private PostgreSQL cluster of its own, for the tests and the benchmark: Debian's `postgresql`
 * package (.ci/run installs it), `initdb` in a temporary folder, listening on 127.0.0.1 at a free port
 * and on a socket in that folder, trust authentication. PostgreSQL refuses to run as root, so when the
 * caller does, the cluster runs as `nobody`. `stop` stops it and removes its folder, and so does the
 * calling process's exit, whatever happened. No test framework here: `npm run bench` uses it too.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

export type PostgresCluster = {
  port: number;
  /** The cluster's data folder. */
  dataDir: string;
  /** The process id of the running server (the postmaster), from its pid file. */
  serverPid(): number;
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

/**
 * How the server runs. The tests' cluster (the default) never waits for the disk: fsync,
 * synchronous_commit and full_page_writes off, a small shared_buffers. `durable` runs it as a
 * production server does, each of those on (PostgreSQL's own defaults) and shared_buffers at 128MB.
 */
export type PostgresOptions = { durable?: boolean };

/** Starts a private cluster and resolves once it accepts connections. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresMissing());
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-postgres-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const port = await freePort();
  const spawnOptions: SpawnOptions = {
    ...(asRoot && UNPRIVILEGED),
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  };
  const run = (program: string, args: string[]) => runTool(path.join(bin, program), args, spawnOptions);
  const pgCtl = (args: string[]) => run('pg_ctl', ['-D', data, ...args]);
  // Stopped on exit even when a test (or the whole file) fails before its teardown.
  const onExit = () => {
    spawnSync(path.join(bin, 'pg_ctl'), ['-D', data, 'stop', '-m', 'immediate'], { ...spawnOptions, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  // A UTF-8 locale that is not "C", as on most servers: prefix look-ups must not depend on the
  // database's collation (the store's keys are COLLATE "C").
  await run('initdb', ['-D', data, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
  const durability = options.durable
    ? ['-c fsync=on', '-c synchronous_commit=on', '-c full_page_writes=on', '-c shared_buffers=128MB']
    : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c shared_buffers=16MB'];
  const serverOptions = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', ...durability, '-c max_connections=200'].join(' ');
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
    dataDir: data,
    serverPid: () => Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n', 1)[0]),
    socketDir: dir,
    urlOf,
    sql,
    async createDatabase(database = {}) {
      const name = `jmb_idp_${randomBytes(6).toString('hex')}`;
      const icu = database.icuLocale ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${database.icuLocale.replace(/[^A-Za-z0-9-]/g, '')}'` : '';
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
