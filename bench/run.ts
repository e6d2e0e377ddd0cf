/**
 * `npm run bench`: complete passkey log-ins against the JMB IdP on its embedded store, at its defaults
 * (LOG_LEVEL=info, its log on a pipe another process reads, as under systemd or Docker), compared in
 * the same run with a stock oidc-provider (same version, in-memory store, a log-in that checks
 * nothing) and with the same IdP at LOG_LEVEL=silent: the last makes the cost of logging a number.
 * With BENCH_STORES=sqlite,postgres, the same IdP at its defaults on PostgreSQL too, as one process
 * and with WORKERS=BENCH_WORKERS, on a private cluster the run starts and removes.
 *
 * 1. Creates members with software passkeys in a fresh SQLite file (the private keys stay here); each
 *    SQLite IdP process gets its own copy. With PostgreSQL: starts a cluster (fsync and
 *    synchronous_commit on, as in production), copies the same members and passkeys into it, and
 *    gives each PostgreSQL flow a database of its own made from that copy.
 * 2. Starts the servers, each in its own process (with WORKERS, a primary and its workers); the load
 *    driver runs in this process. During a trial only one server is loaded.
 * 3. Counts the store work of a passkey log-in: log-ins one after another, the difference of the
 *    IdP's jmb_store_statements_total and jmb_store_round_trips_total, and of the WAL position.
 * 4. Peak: closed-loop trials of passkey log-ins, the flows in turn (the order changing each round),
 *    then of password log-ins on each IdP at its defaults, ROUNDS times each → median log-ins/s; the
 *    logging cost is the silent IdP's against the IdP's at its defaults.
 * 5. Latency: open-loop trials at half of each flow's own median peak, every flow but the silent IdP
 *    → p99 per step.
 * 6. The cost of logging, side by side: BENCH_LOGGING_PAIRS pairs of fresh IdP processes, one at its
 *    defaults and one silent, each pair warmed up together and then loaded at the same time over
 *    BENCH_LOGGING_SLICES slices (side-by-side.ts): info / silent log-ins, and CPU per log-in with the
 *    log's reader included, median over the pairs. Fresh processes, because a process's history
 *    weighs (one warmed up for 3 s ran a quarter slower than one that had served for a minute); several
 *    pairs, because two identical processes side by side still differ by a few percent.
 *    BENCH_LOGGING_CONTROL=1 makes both of each pair silent: the A/A that shows what the phase resolves.
 * 7. Prints Markdown tables and writes bench/results/latest.json (report.ts).
 *
 * Short runs: BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_ROUNDS, BENCH_CONCURRENCY, BENCH_MEMBERS.
 * BENCH_PASSWORD_CONCURRENCY: virtual users per IdP process for password log-ins (default: the
 * IdP's hashing concurrency plus one, so that one always waits).
 * BENCH_STORES: `sqlite` (default) or `sqlite,postgres`. BENCH_WORKERS: the WORKERS of the second
 * PostgreSQL flow (default 2; 1 leaves that flow out).
 * BENCH_CPU_PROFILE=<dir> makes the servers write V8 CPU profiles there when the run ends.
 * SQLITE_SYNCHRONOUS=full runs the SQLite IdP at that durability level (default `normal`, as `npm start`).
 * BENCH_BASELINE=<another checkout of this project> puts that build of the IdP (at its defaults too) in
 * the stock flow's place, on its own copy of the same database: a paired A/B of two builds in one run.
 * BENCH_BASELINE_STORE=postgres (with BENCH_STORES=sqlite,postgres) runs that build on PostgreSQL
 * instead, on a database of its own in the same cluster: the A/B of two builds on PostgreSQL.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
const { eventLoopUtilization } = performance;
import { loadProtection } from '../src/config/protection.ts';
import { BENCH_CLIENT, LOOPBACK_BUDGETS, setting } from './common.ts';
import { closedLoop, logIn, openLoop, PasskeyPool, round } from './driver.ts';
import { overloadTrial, type Credentials } from './overload-driver.ts';
import { postgresUsage, startBenchPostgres, type BenchPostgres, type PostgresUsage } from './postgres.ts';
import { markdown, summarise, type Flow, type PasswordTrial, type StoreWork, type Trial, type Usage } from './report.ts';
import { createMembers, ServerChild } from './server-child.ts';
import { sideBySide, type LoggingPair } from './side-by-side.ts';

const here = import.meta.dirname;

const STORES = ['sqlite', 'postgres'] as const;
const stores = (process.env.BENCH_STORES ?? 'sqlite').split(',').map((store) => store.trim()).filter(Boolean);
if (!stores.includes('sqlite') || stores.some((store) => !(STORES as readonly string[]).includes(store))) {
  throw new Error(`BENCH_STORES must be "sqlite" or "sqlite,postgres" (SQLite is always measured: PostgreSQL is compared with it), got "${process.env.BENCH_STORES}"`);
}
const withPostgres = stores.includes('postgres');

const settings = {
  seconds: setting('BENCH_SECONDS', 5, 1, 60),
  warmupSeconds: setting('BENCH_WARMUP_SECONDS', 1, 0, 30),
  rounds: Math.round(setting('BENCH_ROUNDS', 5, 1, 9)),
  concurrency: Math.round(setting('BENCH_CONCURRENCY', 8, 1, 256)),
  // Password hashes run this many at once in an IdP process as the benchmark starts it (no setting
  // given): one more virtual user keeps the hashing queue from ever running dry.
  passwordConcurrency: Math.round(setting('BENCH_PASSWORD_CONCURRENCY', loadProtection({}, []).hashing.concurrency + 1, 1, 64)),
  members: Math.round(setting('BENCH_MEMBERS', 256, 16, 5000)),
  stores,
  workers: withPostgres ? Math.round(setting('BENCH_WORKERS', 2, 1, 16)) : 1,
  loggingPairs: Math.round(setting('BENCH_LOGGING_PAIRS', 3, 1, 15)),
  loggingSlices: Math.round(setting('BENCH_LOGGING_SLICES', 4, 1, 30)),
  loggingControl: process.env.BENCH_LOGGING_CONTROL === '1',
  /** Hard cap on log-ins started in one trial, whatever the rate. */
  maxLogInsPerTrial: 50_000,
};
const profileDir = process.env.BENCH_CPU_PROFILE ? path.resolve(process.env.BENCH_CPU_PROFILE) : undefined;
const cpuProfile = profileDir ? (flow: string) => ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${flow}-\${pid}.cpuprofile`] : undefined;

const sqliteSynchronous = process.env.SQLITE_SYNCHRONOUS ?? 'normal';

const baselineBuild = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
if (baselineBuild && !existsSync(path.join(baselineBuild, 'bench/idp-server.ts'))) throw new Error(`BENCH_BASELINE: no bench/idp-server.ts in ${baselineBuild}`);
const baselineStore = process.env.BENCH_BASELINE_STORE ?? 'sqlite';
if (baselineStore !== 'sqlite' && baselineStore !== 'postgres') throw new Error(`BENCH_BASELINE_STORE must be "sqlite" or "postgres", got "${baselineStore}"`);
const baselineOnPostgres = baselineStore === 'postgres';
if (baselineOnPostgres && !(baselineBuild && withPostgres)) throw new Error('BENCH_BASELINE_STORE=postgres needs BENCH_BASELINE and BENCH_STORES=sqlite,postgres');

const FLOWS: Flow[] = ['stock', 'idp', 'silent', ...(withPostgres ? ['postgres' as const] : []), ...(withPostgres && settings.workers > 1 ? ['workers' as const] : [])];
const DESCRIPTIONS: Record<Flow, string> = {
  stock: baselineBuild
    ? `JMB IdP built from ${baselineBuild} (the baseline of this A/B, at its defaults, ${baselineOnPostgres ? 'on PostgreSQL, one process, a database of its own' : 'same database'})`
    : 'stock oidc-provider, log-in checks nothing (in-memory store)',
  idp: `JMB IdP at its defaults, passkey log-in (LOG_LEVEL=info, SQLite store, SQLITE_SYNCHRONOUS=${sqliteSynchronous})`,
  silent: 'the same JMB IdP with LOG_LEVEL=silent (for the cost of logging)',
  postgres: 'JMB IdP at its defaults on PostgreSQL, one process (DATABASE_POOL_SIZE 10)',
  workers: `the same on PostgreSQL with WORKERS=${settings.workers}`,
};
/** The IdP processes serving a flow. */
const processes = (flow: Flow) => (flow === 'workers' ? settings.workers : 1);
/** The flows measured at half of their peak for latency: the silent IdP only tells the cost of logging. */
const LATENCY_FLOWS: Flow[] = FLOWS.filter((flow) => flow !== 'silent');
/** The IdP at its defaults on each store: the flows that also log members in by password. */
const PASSWORD_FLOWS: Flow[] = FLOWS.filter((flow) => flow === 'idp' || flow === 'postgres' || flow === 'workers');
/** The flows on the PostgreSQL cluster. */
const DATABASE_FLOWS: Flow[] = FLOWS.filter((flow) => flow === 'postgres' || flow === 'workers' || (flow === 'stock' && baselineOnPostgres));
/** Closed-loop virtual users: each process of a flow gets as many as one IdP alone. */
const concurrency = Object.fromEntries(FLOWS.map((flow) => [flow, settings.concurrency * processes(flow)])) as Record<Flow, number>;
const passwordConcurrency = Object.fromEntries(PASSWORD_FLOWS.map((flow) => [flow, settings.passwordConcurrency * processes(flow)])) as Partial<Record<Flow, number>>;
if (settings.members < Math.max(...Object.values(concurrency), ...Object.values(passwordConcurrency))) {
  throw new Error('BENCH_MEMBERS must be at least the most virtual users of any flow (BENCH_CONCURRENCY and BENCH_PASSWORD_CONCURRENCY, times BENCH_WORKERS)');
}
/** Passkey log-ins made one after another to count the store work of one. */
const COUNTED_LOG_INS = 10;
/** Unmeasured load on each server before the first trial. */
const WARM_UP_SECONDS = 3;
/** The same for each pair of the logging phase, both at once. */
const LOGGING_WARM_UP_SECONDS = 10;
/** Every member's password: one real argon2id hash serves them all. */
const PASSWORD = 'bench-password-0123456789';

/** The servers' and the database's figures at one moment, to take differences of. */
type Snapshot = Awaited<ReturnType<typeof snapshot>>;
async function snapshot(server: ServerChild, database: BenchPostgres | undefined) {
  return {
    server: await server.usage(),
    database: await database?.sample(server.flow),
    driver: process.cpuUsage(),
    driverThread: process.threadCpuUsage(),
    driverLoop: eventLoopUtilization(),
    at: performance.now(),
  };
}

/** CPU and event-loop figures of the server and the driver between two snapshots, for `completed` log-ins. */
function usageBetween(before: Snapshot, after: Snapshot, completed: number): { usage: Usage; database?: PostgresUsage } {
  const wallMicros = (after.at - before.at) * 1000;
  const serverCpuMicros = after.server.cpuMicros - before.server.cpuMicros;
  const active = after.server.eluActive - before.server.eluActive;
  const idle = after.server.eluIdle - before.server.eluIdle;
  const driverMicros = after.driver.user + after.driver.system - before.driver.user - before.driver.system;
  const driverThreadMicros = after.driverThread.user + after.driverThread.system - before.driverThread.user - before.driverThread.system;
  const driverActive = eventLoopUtilization(after.driverLoop, before.driverLoop).active * 1000;
  const mainMicros = after.server.mainThreadCpuMicros - before.server.mainThreadCpuMicros;
  return {
    usage: {
      serverCpu: round(serverCpuMicros / wallMicros),
      serverEventLoop: round(active / (active + idle)),
      serverCpuMsPerLogIn: completed ? round(serverCpuMicros / 1000 / completed, 3) : 0,
      serverMainThreadMsPerLogIn: completed ? round(mainMicros / 1000 / completed, 3) : 0,
      serverOnCpu: round(Math.min(1, mainMicros / (active * 1000))),
      driverOnCpu: round(Math.min(1, driverThreadMicros / driverActive)),
      driverCpu: round(driverMicros / wallMicros),
      serverRssMb: Math.round(after.server.rss / 1e6),
    },
    ...(before.database && after.database && { database: postgresUsage(before.database, after.database, completed, wallMicros / 1e6) }),
  };
}

/** Runs a trial and measures the server's, the driver's and the database's work over its measured window (after the warm-up). */
async function measured<R extends { completed: number; failures: Record<string, { count: number; example: string }> }>(
  server: ServerChild, database: BenchPostgres | undefined, trial: () => Promise<R>,
): Promise<R & { usage: Usage; database?: PostgresUsage }> {
  const at = (ms: number) => new Promise<Snapshot>((resolve, reject) => {
    setTimeout(() => snapshot(server, database).then(resolve, reject), ms);
  });
  const warmupMs = settings.warmupSeconds * 1000;
  const [result, before, after] = await Promise.all([trial(), at(warmupMs), at(warmupMs + settings.seconds * 1000)]);
  server.assertRunning();
  for (const [key, { count, example }] of Object.entries(result.failures)) {
    process.stderr.write(`bench: ${server.flow}: ${count} log-ins failed at ${key}, e.g. ${example}\n`);
  }
  return { ...result, ...usageBetween(before, after, result.completed) };
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmb-idp-bench-'));
  const servers: ServerChild[] = [];
  let postgres: BenchPostgres | undefined;
  const perTrialSeconds = settings.warmupSeconds + settings.seconds;
  const trialsPerRound = FLOWS.length + LATENCY_FLOWS.length + PASSWORD_FLOWS.length;
  const loggingSeconds = settings.loggingPairs * (settings.loggingSlices * perTrialSeconds + LOGGING_WARM_UP_SECONDS + 5);
  const expectedSeconds = trialsPerRound * settings.rounds * perTrialSeconds + loggingSeconds +
    (FLOWS.length + PASSWORD_FLOWS.length) * WARM_UP_SECONDS + 15 + (withPostgres ? 30 : 0);
  const stopAll = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  // Whatever happens, the run ends: the servers go with the IPC channel when this process exits, and
  // the cluster with this process's exit handler.
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${2 * expectedSeconds} s, giving up\n`);
    process.exit(2);
  }, 2 * expectedSeconds * 1000);
  watchdog.unref();
  // Interrupted at a terminal: the servers and the cluster are stopped and their folders removed.
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}, stopping the servers\n`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    const log = (line: string) => process.stderr.write(`${line}\n`);
    log(`bench: about ${Math.round(expectedSeconds / 10) * 10} s (${settings.rounds} rounds × (${FLOWS.length} flows at peak + ${PASSWORD_FLOWS.length} password + ${LATENCY_FLOWS.length} at half peak) × ${perTrialSeconds} s, ` +
      `then the logging phase, ${settings.loggingPairs} pairs × ${settings.loggingSlices} × ${perTrialSeconds} s side by side)`);
    const membersFile = path.join(dir, 'bench.db');
    const passkeys = await createMembers(`sqlite:${membersFile}`, settings.members, PASSWORD);
    const credentials: Credentials[] = passkeys.map((passkey, i) => ({ number: String(400_000_001 + i), password: PASSWORD, passkey }));
    const clientsFile = path.join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([BENCH_CLIENT]));
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    if (withPostgres) {
      postgres = await startBenchPostgres(`sqlite:${membersFile}`);
      log(`bench: ${postgres.version.split(' on ')[0]} in ${postgres.dataDir} (fsync ${postgres.settings.fsync}, synchronous_commit ${postgres.settings.synchronous_commit})`);
    }

    // Each IdP process serves a copy of the same members of its own: a SQLite file (one process per
    // file) or a PostgreSQL database. No LOG_LEVEL is the IdP's default: info.
    const idpServer = (flow: Flow | `logging-${string}`, script: string, env: Record<string, string>) => async () => {
      const flowDir = path.join(dir, flow);
      mkdirSync(flowDir);
      let databaseUrl: string;
      if ((DATABASE_FLOWS as string[]).includes(flow)) {
        databaseUrl = await postgres!.databaseFor(flow);
      } else {
        copyFileSync(membersFile, path.join(flowDir, 'bench.db'));
        databaseUrl = `sqlite:${path.join(flowDir, 'bench.db')}`;
      }
      return ServerChild.start(flow, script, {
        DATA_DIR: flowDir,
        DATABASE_URL: databaseUrl,
        OIDC_CLIENTS_FILE: clientsFile,
        ...LOOPBACK_BUDGETS,
        // Compare durability levels run against run, each beside the same stock baseline.
        SQLITE_SYNCHRONOUS: sqliteSynchronous,
        ...env,
      }, cpuProfile);
    };
    const starts: Record<Flow, () => Promise<ServerChild>> = {
      idp: idpServer('idp', 'idp-server.ts', {}),
      silent: idpServer('silent', 'idp-server.ts', { LOG_LEVEL: 'silent' }),
      stock: baselineBuild ? idpServer('stock', path.join(baselineBuild, 'bench/idp-server.ts'), {}) : () => ServerChild.start('stock', 'stock-server.ts', {}, cpuProfile),
      postgres: idpServer('postgres', 'idp-server.ts', {}),
      workers: idpServer('workers', 'cluster-server.ts', { WORKERS: String(settings.workers) }),
    };
    const byFlow = {} as Record<Flow, ServerChild>;
    for (const flow of FLOWS) {
      byFlow[flow] = await starts[flow]();
      servers.push(byFlow[flow]);
    }
    const databaseOf = (flow: Flow) => (DATABASE_FLOWS.includes(flow) ? postgres : undefined);
    const pool = new PasskeyPool(passkeys);

    // One log-in each first, so a broken flow fails loudly instead of producing numbers.
    for (const server of servers) {
      const agent = new Agent({ keepAlive: false });
      const passkey = pool.take()!;
      try {
        await logIn(agent, server.target, passkey, () => {});
      } catch (error) {
        throw new Error(`a single log-in against the ${server.flow} server failed: ${(error as Error).message}`);
      } finally {
        pool.give(passkey);
        agent.destroy();
      }
    }
    log(`bench: ${settings.members} members with passkeys; ${FLOWS.map((flow) => `${flow} at ${byFlow[flow].target.issuer}`).join(', ')}`);
    const storeWork = await storeWorkPerLogIn(byFlow, pool, databaseOf);
    log(`bench: store work per passkey log-in: ${Object.entries(storeWork).map(([flow, work]) => `${flow} ${work.statements ?? 'not reported'} statements` +
      `${work.roundTrips ? `, ${work.roundTrips} round trips` : ''}${work.walBytes ? `, ${work.walBytes} WAL bytes` : ''}`).join('; ')}`);

    const bounds = { warmupMs: settings.warmupSeconds * 1000, durationMs: settings.seconds * 1000, maxLogIns: settings.maxLogInsPerTrial };
    // Each flow takes each place in the order in turn, so that a drift of the machine's speed over
    // the run weighs on all of them alike.
    const order = (roundNo: number): Flow[] => {
      const shift = (FLOWS.length - ((roundNo - 1) % FLOWS.length)) % FLOWS.length;
      return [...FLOWS.slice(shift), ...FLOWS.slice(0, shift)];
    };
    const trials: Trial[] = [];
    const passwordTrials: PasswordTrial[] = [];
    const describeUsage = (u: Usage, database?: PostgresUsage) =>
      `server CPU ${Math.round(u.serverCpu * 100)}% (loop ${Math.round(u.serverEventLoop * 100)}% busy, on CPU ${Math.round(u.serverOnCpu * 100)}%, main ${u.serverMainThreadMsPerLogIn} ms/log-in), ` +
      `driver CPU ${Math.round(u.driverCpu * 100)}% (on CPU ${Math.round(u.driverOnCpu * 100)}%)` +
      (database ? `; database CPU ${Math.round(database.cpu * 100)}%, ${database.cpuMsPerLogIn} ms and ${database.walBytesPerLogIn} WAL bytes per log-in` : '');
    const describe = (t: Trial) => `${t.throughput} log-ins/s, p99 ${t.allRequests.p99} ms, ${t.failed} failed; ${describeUsage(t.usage, t.database)}`;
    const passwordTrial = (flow: Flow, durationMs: number, warmupMs: number) =>
      overloadTrial(byFlow[flow].target, credentials, { method: 'password', concurrency: passwordConcurrency[flow]!, warmupMs, durationMs, retryPauseMs: 250 });

    // Every server runs the whole flow for a while before anything is measured (JIT, caches, store pages).
    for (const flow of FLOWS) {
      await closedLoop(byFlow[flow].target, pool, { warmupMs: 0, durationMs: WARM_UP_SECONDS * 1000, maxLogIns: settings.maxLogInsPerTrial, concurrency: concurrency[flow] });
    }
    for (const flow of PASSWORD_FLOWS) await passwordTrial(flow, WARM_UP_SECONDS * 1000, 0);

    for (let r = 1; r <= settings.rounds; r++) {
      for (const flow of order(r)) {
        const server = byFlow[flow];
        const trial = { ...(await measured(server, databaseOf(flow), () => closedLoop(server.target, pool, { ...bounds, concurrency: concurrency[flow] }))), round: r };
        trials.push(trial);
        log(`bench: peak     round ${r} ${flow.padEnd(8)} ${describe(trial)}`);
      }
      for (const flow of order(r).filter((f) => PASSWORD_FLOWS.includes(f))) {
        const trial = { ...(await measured(byFlow[flow], databaseOf(flow), () => passwordTrial(flow, bounds.durationMs, bounds.warmupMs))), target: flow, round: r };
        passwordTrials.push(trial);
        log(`bench: password round ${r} ${flow.padEnd(8)} ${trial.logInsPerSecond} log-ins/s, admitted p99 ${trial.admitted.p99} ms, ${trial.refused.count} refused; ${describeUsage(trial.usage, trial.database)}`);
      }
    }
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const peak = Object.fromEntries(FLOWS.map((flow) => [flow, median(trials.filter((t) => t.mode === 'closed' && t.target === flow).map((t) => t.throughput))])) as Record<Flow, number>;
    const rates = Object.fromEntries(LATENCY_FLOWS.map((flow) => [flow, round(peak[flow] / 2, 1)])) as Record<Flow, number>;
    for (const flow of LATENCY_FLOWS) if (!(rates[flow] > 0)) throw new Error(`the ${flow} flow completed no log-ins; nothing to measure latency at`);

    for (let r = 1; r <= settings.rounds; r++) {
      for (const flow of order(r).filter((f) => LATENCY_FLOWS.includes(f))) {
        const server = byFlow[flow];
        const trial = { ...(await measured(server, databaseOf(flow), () => openLoop(server.target, pool, { ...bounds, rate: rates[flow] }))), round: r };
        trials.push(trial);
        log(`bench: latency  round ${r} ${flow.padEnd(8)} at ${rates[flow]}/s: ${describe(trial)}`);
      }
    }

    // The cost of logging: pairs of fresh processes, the IdP at its defaults and silent, with the same
    // history, loaded at the same time, so that both meet the same machine at every moment.
    const loggingPairs: LoggingPair[] = [];
    for (let pair = 1; pair <= settings.loggingPairs; pair++) {
      const pairServers: ServerChild[] = [];
      // Which of the two starts first (and is loaded first in each slice) alternates from pair to
      // pair: in the A/A control the first of two identical processes cost about 1% more.
      const roles = [['info', settings.loggingControl ? 'silent' : 'info'], ['silent', 'silent']] as const;
      for (const [role, level] of pair % 2 ? roles : [...roles].reverse()) {
        const server = await idpServer(`logging-${role}-${pair}`, 'idp-server.ts', { LOG_LEVEL: level })();
        servers.push(server);
        pairServers.push(server);
      }
      await Promise.all(pairServers.map((server) => closedLoop(server.target, pool, {
        warmupMs: 0, durationMs: LOGGING_WARM_UP_SECONDS * 1000, maxLogIns: settings.maxLogInsPerTrial, concurrency: settings.concurrency,
      })));
      const measuredPair = await sideBySide(pairServers, pool, { slices: settings.loggingSlices, concurrency: settings.concurrency, ...bounds }, log);
      const info = measuredPair.find((server) => server.name.startsWith('logging-info'))!;
      const silent = measuredPair.find((server) => server.name.startsWith('logging-silent'))!;
      for (const server of measuredPair) if (server.failed) log(`bench: logging pair ${pair}: ${server.failed} log-ins failed on ${server.name}`);
      loggingPairs.push({ info, silent });
      await Promise.all(pairServers.map((server) => server.stop()));
    }

    const results = summarise({
      flows: FLOWS,
      descriptions: DESCRIPTIONS,
      passwordFlows: PASSWORD_FLOWS,
      peak,
      rates,
      trials,
      passwordTrials,
      storeWork,
      loggingPairs,
      loggingControl: settings.loggingControl,
      countedLogIns: COUNTED_LOG_INS,
      baseline: baselineBuild !== undefined,
      baselineOnPostgres,
      ...(postgres && { postgres: { version: postgres.version, settings: postgres.settings } }),
      settings: { ...settings, sqliteSynchronous },
      concurrency,
      passwordConcurrency,
      workers: settings.workers,
      seconds: (Date.now() - started) / 1000,
    });
    const resultsDir = path.join(here, 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(markdown(results));
    log(`bench: results written to ${path.relative(process.cwd(), path.join(resultsDir, 'latest.json'))}`);
  } finally {
    await stopAll();
    clearTimeout(watchdog);
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
  }
}

/**
 * The store work of one passkey log-in on each IdP server that counts it: COUNTED_LOG_INS log-ins
 * one after another with nothing else running, and the difference of its statement and round-trip
 * counts (and, on PostgreSQL, of the WAL position) divided by them. Unlike a timing, the counts are
 * the same on a busy machine as on a quiet one.
 */
async function storeWorkPerLogIn(byFlow: Record<Flow, ServerChild>, pool: PasskeyPool, databaseOf: (flow: Flow) => BenchPostgres | undefined): Promise<Partial<Record<Flow, StoreWork>>> {
  const counts: Partial<Record<Flow, StoreWork>> = {};
  for (const flow of [...FLOWS.filter((f) => f !== 'silent' && f !== 'stock'), 'stock'] as Flow[]) {
    const server = byFlow[flow];
    const database = databaseOf(flow);
    const before = await server.storeTraffic();
    if (before.statements === undefined) continue;
    const walBefore = await database?.walBytes();
    const agent = new Agent({ keepAlive: true });
    try {
      for (let i = 0; i < COUNTED_LOG_INS; i++) {
        const passkey = pool.take()!;
        try {
          await logIn(agent, server.target, passkey, () => {});
        } finally {
          pool.give(passkey);
        }
      }
    } finally {
      agent.destroy();
    }
    const after = await server.storeTraffic();
    const walAfter = await database?.walBytes();
    const per = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : round((a - b) / COUNTED_LOG_INS, 1));
    counts[flow] = {
      statements: per(after.statements, before.statements),
      roundTrips: per(after.roundTrips, before.roundTrips) || undefined,
      walBytes: per(walAfter, walBefore),
    };
  }
  return counts;
}

await main();
