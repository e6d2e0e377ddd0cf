/**
 * The PostgreSQL side of `npm run bench`: a private cluster started for the run and removed after it,
 * run as a production primary runs (fsync, synchronous_commit and full_page_writes on), a database
 * per IdP flow holding the same members and passkeys, and what the server spent between two samples:
 *
 * - CPU time of the whole server: the postmaster, every backend and helper process (WAL writer,
 *   checkpointer, autovacuum…), and the processes it has reaped since (a closed connection's
 *   backend), read from /proc;
 * - WAL written, from pg_current_wal_lsn(): exact;
 * - WAL flushes (pg_stat_wal.wal_sync) and transactions committed (pg_stat_database): PostgreSQL's
 *   cumulative statistics, which each backend reports at most once a second, so over a short trial
 *   they are approximate;
 * - the IdP's connections open at the end (pg_stat_activity, application_name jmb-idp).
 */
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { openStore } from '../src/store/open.ts';
import { startPostgres, type PostgresCluster } from '../test/helpers/postgres-cluster.ts';
import { clockTicks, procStat as stat } from './common.ts';

/** What the server had spent by one moment; the benchmark takes differences. */
export type PostgresSample = {
  cpuMicros: number;
  walBytes: number;
  walSyncs: number;
  commits: number;
  connections: number;
};

/** What the server spent on a trial's completed log-ins. */
export type PostgresUsage = {
  /** CPUs' worth of time the server used (all its processes). */
  cpu: number;
  cpuMsPerLogIn: number;
  walBytesPerLogIn: number;
  /** From cumulative statistics: approximate over a short trial. */
  walSyncsPerLogIn: number;
  /** From cumulative statistics: approximate over a short trial (reads are transactions too). */
  commitsPerLogIn: number;
  /** The IdP's connections open at the end of the trial. */
  connections: number;
};

export type BenchPostgres = {
  /** `SELECT version()`. */
  version: string;
  /** The settings that decide what a commit costs, as the server reports them. */
  settings: Record<string, string>;
  /** The cluster's data folder (removed when the run ends). */
  dataDir: string;
  /** A database of its own for `flow`, a copy of the members' database; its URL. */
  databaseFor(flow: string): Promise<string>;
  /** The WAL position now, in bytes from the start: exact, for counting a few log-ins. */
  walBytes(): Promise<number>;
  /** What the server has spent so far; the IdP connections counted are those to `flow`'s database. */
  sample(flow: string): Promise<PostgresSample>;
  stop(): Promise<void>;
};

const MEMBERS_DATABASE = 'bench_members';
const REPORTED_SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers', 'max_connections', 'wal_level'];

/**
 * Starts the cluster and copies into it every member and passkey of the store at `membersUrl` (the
 * benchmark's SQLite file), so that one set of software passkeys logs in on every flow.
 */
export async function startBenchPostgres(membersUrl: string): Promise<BenchPostgres> {
  const cluster = await startPostgres({ durable: true });
  let client: pg.Client | undefined;
  try {
    await cluster.sql(`CREATE DATABASE ${MEMBERS_DATABASE}`);
    await copyMembers(membersUrl, cluster.urlOf(MEMBERS_DATABASE));
    client = new pg.Client({ connectionString: cluster.urlOf('postgres'), application_name: 'jmb-bench' });
    await client.connect();
    const version = (await client.query<{ version: string }>('SELECT version()')).rows[0]!.version;
    const settings: Record<string, string> = {};
    for (const name of REPORTED_SETTINGS) settings[name] = (await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name])).rows[0]!.value;
    const sampler = client;
    const cpu = serverCpu(cluster);
    return {
      version,
      settings,
      dataDir: cluster.dataDir,
      async databaseFor(flow) {
        const name = databaseName(flow);
        await sampler.query(`CREATE DATABASE ${name} TEMPLATE ${MEMBERS_DATABASE}`);
        return cluster.urlOf(name);
      },
      async walBytes() {
        return Number((await sampler.query<{ wal: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal")).rows[0]!.wal);
      },
      async sample(flow) {
        const { rows: [row] } = await sampler.query<{ wal: string; syncs: string; commits: string; connections: string }>(`SELECT
          pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal,
          (SELECT wal_sync FROM pg_stat_wal)::text AS syncs,
          (SELECT sum(xact_commit) FROM pg_stat_database)::text AS commits,
          (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'jmb-idp' AND datname = $1)::text AS connections`, [databaseName(flow)]);
        return { cpuMicros: cpu(), walBytes: Number(row!.wal), walSyncs: Number(row!.syncs), commits: Number(row!.commits), connections: Number(row!.connections) };
      },
      async stop() {
        await sampler.end().catch(() => undefined);
        await cluster.stop();
      },
    };
  } catch (error) {
    await client?.end().catch(() => undefined);
    await cluster.stop();
    throw error;
  }
}

/** The database of `flow`'s IdP. */
function databaseName(flow: string): string {
  return `bench_${flow.replace(/\W/g, '_').toLowerCase()}`;
}

/** What the server spent between `before` and `after` on `completed` log-ins over `seconds`. */
export function postgresUsage(before: PostgresSample, after: PostgresSample, completed: number, seconds: number): PostgresUsage {
  const per = (value: number, digits: number) => (completed ? Math.round((value / completed) * 10 ** digits) / 10 ** digits : 0);
  return {
    cpu: Math.round(((after.cpuMicros - before.cpuMicros) / 1e6 / seconds) * 100) / 100,
    cpuMsPerLogIn: per((after.cpuMicros - before.cpuMicros) / 1000, 3),
    walBytesPerLogIn: per(after.walBytes - before.walBytes, 0),
    walSyncsPerLogIn: per(after.walSyncs - before.walSyncs, 2),
    commitsPerLogIn: per(after.commits - before.commits, 2),
    connections: after.connections,
  };
}

/** Every member and passkey of one store written into another, as they are. */
async function copyMembers(fromUrl: string, toUrl: string): Promise<void> {
  const from = await openStore(fromUrl);
  const to = await openStore(toUrl, { poolSize: 4 });
  try {
    for (let afterNumber: string | undefined; ;) {
      const members = await from.members.list({ limit: 500, afterNumber });
      if (members.length === 0) break;
      for (const member of members) {
        await to.members.create(member);
        for (const passkey of await from.passkeys.listForMember(member.id)) await to.passkeys.create(passkey);
      }
      afterNumber = members.at(-1)!.number;
    }
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

/**
 * The server's CPU time so far, in microseconds: the postmaster's own and that of the children it
 * has reaped (fields utime, stime, cutime and cstime of /proc/<pid>/stat), and that of each child
 * still running. A backend that ends between two samples moves from the second sum to the first.
 */
function serverCpu(cluster: PostgresCluster): () => number {
  const microsPerTick = 1e6 / clockTicks();
  const pid = cluster.serverPid();
  return () => {
    let ticks = 0;
    const own = stat(pid);
    if (!own) throw new Error(`the PostgreSQL server (pid ${pid}) is gone`);
    ticks += own.utime + own.stime + own.cutime + own.cstime;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const child = stat(Number(entry));
      if (child?.ppid === pid) ticks += child.utime + child.stime + child.cutime + child.cstime;
    }
    return ticks * microsPerTick;
  };
}

