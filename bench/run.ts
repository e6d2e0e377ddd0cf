/**
 * `npm run bench`: complete passkey log-ins against the JMB IdP on its embedded store, at its defaults
 * (LOG_LEVEL=info, its log on a pipe another process reads, as under systemd or Docker), compared in
 * the same run with a stock oidc-provider (same version, in-memory store, a log-in that checks
 * nothing) and with the same IdP at LOG_LEVEL=silent: the last makes the cost of logging a number.
 *
 * 1. Creates members with software passkeys in a fresh SQLite file (the private keys stay here); each
 *    IdP process gets its own copy.
 * 2. Starts the three servers, each in its own process; the load driver runs in this process. During
 *    a trial only one server is loaded, so on a two-core machine the loaded server has one core and
 *    the driver the other, the same for every flow.
 * 3. Counts the store statements of a passkey log-in: log-ins one after another, the difference of
 *    the IdP's jmb_store_statements_total.
 * 4. Peak: closed-loop trials, the three flows in turn (the order changing each round), ROUNDS times
 *    each → median log-ins/s; the logging cost is the silent IdP's against the IdP's at its defaults.
 * 5. Latency: open-loop trials at half of each flow's own median peak, stock and IdP at its
 *    defaults alternating → p99 per step.
 * 6. Prints Markdown tables and writes bench/results/latest.json.
 *
 * Short runs: BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_ROUNDS, BENCH_CONCURRENCY, BENCH_MEMBERS.
 * BENCH_CPU_PROFILE=<dir> makes both servers write V8 CPU profiles there when the run ends.
 * SQLITE_SYNCHRONOUS=full runs the IdP at that durability level (default `normal`, as `npm start`).
 * BENCH_BASELINE=<another checkout of this project> puts that build of the IdP (at its defaults too) in
 * the stock flow's place, on its own copy of the same database: a paired A/B of two builds in one run.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
const { eventLoopUtilization } = performance;
import { BENCH_CLIENT, LOOPBACK_BUDGETS, setting } from './common.ts';
import { closedLoop, logIn, openLoop, PasskeyPool, round, STEPS, type Step, type TrialResult } from './driver.ts';
import { createMembers, ServerChild } from './server-child.ts';

const here = import.meta.dirname;

const settings = {
  seconds: setting('BENCH_SECONDS', 5, 1, 60),
  warmupSeconds: setting('BENCH_WARMUP_SECONDS', 1, 0, 30),
  rounds: Math.round(setting('BENCH_ROUNDS', 5, 1, 9)),
  concurrency: Math.round(setting('BENCH_CONCURRENCY', 8, 1, 256)),
  members: Math.round(setting('BENCH_MEMBERS', 256, 16, 5000)),
  /** Hard cap on log-ins started in one trial, whatever the rate. */
  maxLogInsPerTrial: 50_000,
};
if (settings.members < settings.concurrency) throw new Error('BENCH_MEMBERS must be at least BENCH_CONCURRENCY');
const profileDir = process.env.BENCH_CPU_PROFILE ? path.resolve(process.env.BENCH_CPU_PROFILE) : undefined;
const cpuProfile = profileDir ? (flow: string) => ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${flow}-\${pid}.cpuprofile`] : undefined;

const sqliteSynchronous = process.env.SQLITE_SYNCHRONOUS ?? 'normal';

const baselineBuild = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
if (baselineBuild && !existsSync(path.join(baselineBuild, 'bench/idp-server.ts'))) throw new Error(`BENCH_BASELINE: no bench/idp-server.ts in ${baselineBuild}`);

const FLOWS = {
  stock: baselineBuild ? `JMB IdP built from ${baselineBuild} (the baseline of this A/B, at its defaults, same database)` : 'stock oidc-provider, log-in checks nothing (in-memory store)',
  idp: `JMB IdP at its defaults, passkey log-in (LOG_LEVEL=info, SQLite store, SQLITE_SYNCHRONOUS=${sqliteSynchronous})`,
  silent: 'the same JMB IdP with LOG_LEVEL=silent (for the cost of logging)',
} as const;
type Flow = keyof typeof FLOWS;
/** The flows measured at half of their peak for latency: the silent IdP only tells the cost of logging. */
const LATENCY_FLOWS: Flow[] = ['stock', 'idp'];
/** Passkey log-ins made one after another to count the store statements of one. */
const COUNTED_LOG_INS = 10;

/** Unmeasured load on each server before the first trial. */
const WARM_UP_SECONDS = 3;

type Usage = {
  /** CPUs' worth of time the server used (all its threads). */
  serverCpu: number;
  /** Share of wall time the server's event loop was busy. */
  serverEventLoop: number;
  /** Server CPU time (all threads) per completed log-in. */
  serverCpuMsPerLogIn: number;
  /** Server main-thread CPU time per completed log-in: the cost that bounds throughput. */
  serverMainThreadMsPerLogIn: number;
  /**
   * Of the time the server's event loop was busy, the share its thread was actually on a CPU. Well
   * below 1 means other processes on the machine took the server's core during the trial.
   */
  serverOnCpu: number;
  /** The same for the driver (this process). */
  driverOnCpu: number;
  driverCpu: number;
  serverRssMb: number;
};
type Trial = TrialResult & { round: number; usage: Usage };

/** Runs a trial and measures both processes' CPU over its measured window (after the warm-up). */
async function measured(server: ServerChild, roundNo: number, trial: () => Promise<TrialResult>): Promise<Trial> {
  const snapshot = async () => ({
    server: await server.usage(),
    driver: process.cpuUsage(),
    driverThread: process.threadCpuUsage(),
    driverLoop: eventLoopUtilization(),
    at: performance.now(),
  });
  const at = (ms: number) => new Promise<Awaited<ReturnType<typeof snapshot>>>((resolve, reject) => {
    setTimeout(() => snapshot().then(resolve, reject), ms);
  });
  const warmupMs = settings.warmupSeconds * 1000;
  const [result, before, after] = await Promise.all([trial(), at(warmupMs), at(warmupMs + settings.seconds * 1000)]);
  server.assertRunning();
  for (const [key, { count, example }] of Object.entries(result.failures)) {
    process.stderr.write(`bench: ${server.flow}: ${count} log-ins failed at ${key}, e.g. ${example}\n`);
  }
  const wallMicros = (after.at - before.at) * 1000;
  const serverCpuMicros = after.server.cpuMicros - before.server.cpuMicros;
  const active = after.server.eluActive - before.server.eluActive;
  const idle = after.server.eluIdle - before.server.eluIdle;
  const driverMicros = after.driver.user + after.driver.system - before.driver.user - before.driver.system;
  const driverThreadMicros = after.driverThread.user + after.driverThread.system - before.driverThread.user - before.driverThread.system;
  const driverActive = eventLoopUtilization(after.driverLoop, before.driverLoop).active * 1000;
  const mainMicros = after.server.mainThreadCpuMicros - before.server.mainThreadCpuMicros;
  return {
    ...result,
    round: roundNo,
    usage: {
      serverCpu: round(serverCpuMicros / wallMicros),
      serverEventLoop: round(active / (active + idle)),
      serverCpuMsPerLogIn: result.completed ? round(serverCpuMicros / 1000 / result.completed, 3) : 0,
      serverMainThreadMsPerLogIn: result.completed ? round(mainMicros / 1000 / result.completed, 3) : 0,
      serverOnCpu: round(Math.min(1, mainMicros / (active * 1000))),
      driverOnCpu: round(Math.min(1, driverThreadMicros / driverActive)),
      driverCpu: round(driverMicros / wallMicros),
      serverRssMb: Math.round(after.server.rss / 1e6),
    },
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((load) => round(load)),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmb-idp-bench-'));
  const servers: ServerChild[] = [];
  const perTrialSeconds = settings.warmupSeconds + settings.seconds;
  const expectedSeconds = 5 * settings.rounds * perTrialSeconds + 3 * WARM_UP_SECONDS + 15;
  // Whatever happens, the run ends: the servers go with the IPC channel when this process exits.
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${2 * expectedSeconds} s, giving up\n`);
    process.exit(2);
  }, 2 * expectedSeconds * 1000);
  watchdog.unref();

  try {
    const log = (line: string) => process.stderr.write(`${line}\n`);
    log(`bench: about ${Math.round(expectedSeconds / 10) * 10} s (${settings.rounds} rounds × (3 flows at peak + 2 at half peak) × ${perTrialSeconds} s)`);
    const passkeys = await createMembers(`sqlite:${path.join(dir, 'bench.db')}`, settings.members);
    const clientsFile = path.join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([BENCH_CLIENT]));
    if (profileDir) mkdirSync(profileDir, { recursive: true });

    // Each IdP process serves a copy of the same database of its own (one process per file), made
    // before any of them opens it. No LOG_LEVEL is the IdP's default: info.
    const idpServer = (flow: Flow, script: string, env: Record<string, string>) => {
      const flowDir = path.join(dir, flow);
      mkdirSync(flowDir);
      copyFileSync(path.join(dir, 'bench.db'), path.join(flowDir, 'bench.db'));
      return () => ServerChild.start(flow, script, {
        DATA_DIR: flowDir,
        DATABASE_URL: `sqlite:${path.join(flowDir, 'bench.db')}`,
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
    };
    const byFlow = {} as Record<Flow, ServerChild>;
    for (const flow of ['idp', 'silent', 'stock'] as Flow[]) {
      byFlow[flow] = await starts[flow]();
      servers.push(byFlow[flow]);
    }
    const { stock, idp } = byFlow;
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
    log(`bench: ${settings.members} members with passkeys; stock at ${stock.target.issuer}, IdP at ${idp.target.issuer}, silent IdP at ${byFlow.silent.target.issuer}`);
    const statements = await statementsPerLogIn(byFlow, pool);
    log(`bench: store statements per passkey log-in: IdP ${statements.idp ?? 'not reported'}${baselineBuild ? `, baseline ${statements.stock ?? 'not reported by that build'}` : ''}`);

    const bounds = { warmupMs: settings.warmupSeconds * 1000, durationMs: settings.seconds * 1000, maxLogIns: settings.maxLogInsPerTrial };
    // Each flow takes each place in the order in turn, so that a drift of the machine's speed over
    // the run weighs on all of them alike.
    const ORDERS: Flow[][] = [['stock', 'idp', 'silent'], ['silent', 'stock', 'idp'], ['idp', 'silent', 'stock']];
    const order = (roundNo: number): Flow[] => ORDERS[(roundNo - 1) % ORDERS.length]!;
    const trials: Trial[] = [];
    const describe = (t: Trial) => `${t.throughput} log-ins/s, p99 ${t.allRequests.p99} ms, ${t.failed} failed; ` +
      `server CPU ${Math.round(t.usage.serverCpu * 100)}% (loop ${Math.round(t.usage.serverEventLoop * 100)}% busy, on CPU ${Math.round(t.usage.serverOnCpu * 100)}%, main ${t.usage.serverMainThreadMsPerLogIn} ms/log-in), ` +
      `driver CPU ${Math.round(t.usage.driverCpu * 100)}% (on CPU ${Math.round(t.usage.driverOnCpu * 100)}%)`;

    // Every server runs the whole flow for a while before anything is measured (JIT, caches, store pages).
    for (const server of servers) {
      await closedLoop(server.target, pool, { warmupMs: 0, durationMs: WARM_UP_SECONDS * 1000, maxLogIns: settings.maxLogInsPerTrial, concurrency: settings.concurrency });
    }

    for (let r = 1; r <= settings.rounds; r++) {
      for (const flow of order(r)) {
        const server = byFlow[flow];
        const trial = await measured(server, r, () => closedLoop(server.target, pool, { ...bounds, concurrency: settings.concurrency }));
        trials.push(trial);
        log(`bench: peak    round ${r} ${flow.padEnd(6)} ${describe(trial)}`);
      }
    }
    const peak = Object.fromEntries((Object.keys(FLOWS) as Flow[]).map((flow) => [flow, median(trials.filter((t) => t.mode === 'closed' && t.target === flow).map((t) => t.throughput))])) as Record<Flow, number>;
    const rates = Object.fromEntries(LATENCY_FLOWS.map((flow) => [flow, round(peak[flow] / 2, 1)])) as Record<Flow, number>;
    for (const flow of LATENCY_FLOWS) if (!(rates[flow] > 0)) throw new Error(`the ${flow} flow completed no log-ins; nothing to measure latency at`);

    for (let r = 1; r <= settings.rounds; r++) {
      for (const flow of order(r).filter((f) => LATENCY_FLOWS.includes(f))) {
        const server = byFlow[flow];
        const trial = await measured(server, r, () => openLoop(server.target, pool, { ...bounds, rate: rates[flow] }));
        trials.push(trial);
        log(`bench: latency round ${r} ${flow.padEnd(6)} at ${rates[flow]}/s: ${describe(trial)}`);
      }
    }

    const results = summarise(trials, peak, rates, statements, (Date.now() - started) / 1000);
    const resultsDir = path.join(here, 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(markdown(results));
    log(`bench: results written to ${path.relative(process.cwd(), path.join(resultsDir, 'latest.json'))}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

/** Store statements per passkey log-in, by flow, where the server counts them (builds before this one do not). */
type StatementCounts = Partial<Record<Flow, number>>;

/**
 * The store statements of one passkey log-in on each IdP server that counts them: COUNTED_LOG_INS
 * log-ins one after another with nothing else running, and the difference of its statement count
 * divided by them. Unlike a timing, the count is the same on a busy machine as on a quiet one.
 */
async function statementsPerLogIn(byFlow: Record<Flow, ServerChild>, pool: PasskeyPool): Promise<StatementCounts> {
  const counts: StatementCounts = {};
  for (const flow of ['idp', 'stock'] as Flow[]) {
    const server = byFlow[flow];
    const before = await server.storeStatements();
    if (before === undefined) continue;
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
    counts[flow] = round((((await server.storeStatements()) ?? before) - before) / COUNTED_LOG_INS, 1);
  }
  return counts;
}

type StepFigures = { p50: number; p95: number; p99: number; worstRoundP99: number };

function summarise(trials: Trial[], peak: Record<Flow, number>, rates: Record<Flow, number>, statements: StatementCounts, seconds: number) {
  const of = (flow: Flow, mode: 'closed' | 'open') => trials.filter((t) => t.target === flow && t.mode === mode);
  const figures = (list: Trial[], pick: (t: Trial) => { p50: number; p95: number; p99: number }): StepFigures => ({
    p50: median(list.map((t) => pick(t).p50)),
    p95: median(list.map((t) => pick(t).p95)),
    p99: median(list.map((t) => pick(t).p99)),
    worstRoundP99: Math.max(...list.map((t) => pick(t).p99)),
  });
  const peakSummary = (flow: Flow) => {
    const closed = of(flow, 'closed');
    return {
      description: FLOWS[flow],
      peak: {
        logInsPerSecond: peak[flow],
        rounds: closed.map((t) => t.throughput),
        serverCpuMsPerLogIn: median(closed.map((t) => t.usage.serverCpuMsPerLogIn)),
        serverMainThreadMsPerLogIn: median(closed.map((t) => t.usage.serverMainThreadMsPerLogIn)),
        serverOnCpu: median(closed.map((t) => t.usage.serverOnCpu)),
        serverCpu: median(closed.map((t) => t.usage.serverCpu)),
        serverEventLoop: median(closed.map((t) => t.usage.serverEventLoop)),
        driverCpu: median(closed.map((t) => t.usage.driverCpu)),
        closedLoopP99Ms: median(closed.map((t) => t.allRequests.p99)),
      },
      failed: trials.filter((t) => t.target === flow).reduce((sum, t) => sum + t.failed, 0),
    };
  };
  const flowSummary = (flow: Flow) => {
    const open = of(flow, 'open');
    return {
      ...peakSummary(flow),
      halfPeak: {
        rate: rates[flow],
        achieved: median(open.map((t) => t.throughput)),
        steps: Object.fromEntries(STEPS.map((step) => [step, figures(open, (t) => t.steps[step])])) as Record<Step, StepFigures>,
        allRequests: figures(open, (t) => t.allRequests),
        logIn: figures(open, (t) => t.logIn),
        serverCpu: median(open.map((t) => t.usage.serverCpu)),
        driverCpu: median(open.map((t) => t.usage.driverCpu)),
        serverOnCpu: median(open.map((t) => t.usage.serverOnCpu)),
        driverOnCpu: median(open.map((t) => t.usage.driverOnCpu)),
        startLagP99Ms: Math.max(...open.map((t) => t.startLag?.p99 ?? 0)),
        dropped: open.reduce((sum, t) => sum + t.dropped, 0),
      },
    };
  };
  const stock = flowSummary('stock');
  const idp = flowSummary('idp');
  const silent = peakSummary('silent');
  // The cost of logging: the IdP at its defaults against itself with LOG_LEVEL=silent, in the same
  // rounds; per round as well, each pair measured minutes apart at most.
  const closedOf = (flow: Flow) => of(flow, 'closed');
  const pairedRounds = closedOf('idp').map((t) => {
    const quiet = closedOf('silent').find((s) => s.round === t.round);
    return quiet?.throughput ? round(t.throughput / quiet.throughput, 2) : 0;
  });
  const loggingRatio = peak.silent ? round(peak.idp / peak.silent, 2) : 0;
  const logging = {
    infoOverSilent: loggingRatio,
    rounds: pairedRounds,
    mainThreadCostRatio: idp.peak.serverMainThreadMsPerLogIn ? round(silent.peak.serverMainThreadMsPerLogIn / idp.peak.serverMainThreadMsPerLogIn, 2) : 0,
    cost: round(1 - loggingRatio, 2),
    target: 0.95,
    met: loggingRatio >= 0.95,
  };
  const ratio = round(peak.idp / peak.stock, 2);
  // Less sensitive to other load on the machine than throughput: CPU time the server spent per log-in.
  const cpuRatio = round(stock.peak.serverMainThreadMsPerLogIn / idp.peak.serverMainThreadMsPerLogIn, 2);
  const slowestIdpStep = Math.max(...STEPS.map((step) => idp.halfPeak.steps[step].p99));
  return {
    date: new Date().toISOString(),
    machine: machine(),
    settings: { ...settings, seconds: settings.seconds, sqliteSynchronous, driver: 'in the npm run bench process; each server in its own process' },
    durationSeconds: Math.round(seconds),
    stock,
    idp,
    silent,
    logging,
    storeStatementsPerPasskeyLogIn: {
      idp: statements.idp ?? null,
      ...(baselineBuild && { baseline: statements.stock ?? null }),
      countedLogIns: COUNTED_LOG_INS,
    },
    targets: {
      throughputRatio: { value: ratio, target: 0.6, met: ratio >= 0.6, mainThreadCostRatio: cpuRatio },
      p99AtHalfPeakMs: { slowestStep: slowestIdpStep, target: 50, met: slowestIdpStep < 50 },
    },
    trials,
  };
}

type Results = ReturnType<typeof summarise>;

const STEP_LABELS: Record<Step, string> = {
  authorize: 'authorize `GET /auth` → 303',
  page: 'log-in page `GET /interaction/:uid`',
  options: 'options `POST …/passkey/options`',
  assertion: 'assertion `POST …/passkey`',
  resume: 'resume `GET /auth/:uid` → 303 with code',
  token: 'token `POST /token`',
};

function markdown(results: Results): string {
  const { stock, idp, silent, logging, storeStatementsPerPasskeyLogIn: statements, targets, machine: m, settings: s } = results;
  const pct = (value: number) => `${Math.round(value * 100)}%`;
  const ms = (value: number) => value.toFixed(1);
  const met = (ok: boolean) => (ok ? 'met' : '**missed**');
  const lines = [
    '',
    `Measured ${results.date.slice(0, 10)} on ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node} (load average at start ${m.loadAverageAtStart.join(', ')}).`,
    '',
    `**Peak throughput** (closed loop, ${s.concurrency} virtual users, ${s.rounds} alternating rounds of ${s.seconds} s after ${s.warmupSeconds} s warm-up, median):`,
    '',
    '| flow | log-ins/s | each round | server main-thread CPU per log-in | server CPU (all threads) | server on CPU | driver CPU |',
    '|---|---:|---|---:|---:|---:|---:|',
    ...[stock, idp, silent].map((f) => `| ${f.description} | ${f.peak.logInsPerSecond} | ${f.peak.rounds.join(' / ')} | ${f.peak.serverMainThreadMsPerLogIn.toFixed(2)} ms | ${pct(f.peak.serverCpu)} | ${pct(f.peak.serverOnCpu)} | ${pct(f.peak.driverCpu)} |`),
    `| **IdP / stock** | **${targets.throughputRatio.value.toFixed(2)}** | target ≥ 0.6: ${met(targets.throughputRatio.met)} | stock / IdP: ${targets.throughputRatio.mainThreadCostRatio.toFixed(2)} | | | |`,
    `| **IdP at its defaults / IdP silent** | **${logging.infoOverSilent.toFixed(2)}** | ${logging.rounds.join(' / ')} | silent / defaults: ${logging.mainThreadCostRatio.toFixed(2)} | | | |`,
    '',
    `**Cost of logging** (LOG_LEVEL=info, the log on a pipe another process reads, against LOG_LEVEL=silent): ${pct(logging.cost)} of the peak throughput ` +
      `(target under 5%: ${met(logging.met)}); the same log-in costs ${pct(1 - logging.mainThreadCostRatio)} more main-thread CPU with its log.`,
    '',
    `**Store statements per passkey log-in** (${statements.countedLogIns} log-ins one after another, jmb_store_statements_total): ` +
      `IdP ${statements.idp ?? 'not reported'}${'baseline' in statements ? `, baseline ${statements.baseline ?? 'not reported by that build'}` : ''}.`,
    '',
    '"Server on CPU" is the share of the time the server\'s event loop was busy that its thread actually ran; below about 90% other work on the machine was taking the server\'s core. ' +
      'The main-thread CPU cost per log-in is the figure least disturbed by that, and its stock / IdP ratio is what the throughput ratio would be with the server alone on its core.',
    '',
    `**Latency at half of each flow's peak** (open loop: stock ${stock.halfPeak.rate}/s, IdP ${idp.halfPeak.rate}/s log-ins; ms, median of ${s.rounds} rounds; worst round's p99 in brackets):`,
    '',
    '| request | stock p50 | stock p99 | IdP p50 | IdP p95 | IdP p99 |',
    '|---|---:|---:|---:|---:|---:|',
    ...STEPS.map((step) => {
      const a = stock.halfPeak.steps[step];
      const b = idp.halfPeak.steps[step];
      return `| ${STEP_LABELS[step]} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(b.p50)} | ${ms(b.p95)} | ${ms(b.p99)} (${ms(b.worstRoundP99)}) |`;
    }),
    `| every request | ${ms(stock.halfPeak.allRequests.p50)} | ${ms(stock.halfPeak.allRequests.p99)} | ${ms(idp.halfPeak.allRequests.p50)} | ${ms(idp.halfPeak.allRequests.p95)} | ${ms(idp.halfPeak.allRequests.p99)} (${ms(idp.halfPeak.allRequests.worstRoundP99)}) |`,
    `| whole log-in (6 requests, from its scheduled start) | ${ms(stock.halfPeak.logIn.p50)} | ${ms(stock.halfPeak.logIn.p99)} | ${ms(idp.halfPeak.logIn.p50)} | ${ms(idp.halfPeak.logIn.p95)} | ${ms(idp.halfPeak.logIn.p99)} (${ms(idp.halfPeak.logIn.worstRoundP99)}) |`,
    '',
    `Target p99 of each IdP request < 50 ms at half peak: ${met(targets.p99AtHalfPeakMs.met)} (slowest step ${ms(targets.p99AtHalfPeakMs.slowestStep)} ms). ` +
      `Failed log-ins: stock ${stock.failed}, IdP ${idp.failed}, silent IdP ${silent.failed}. Whole run ${results.durationSeconds} s.`,
    '',
  ];
  const onCpu = Math.min(stock.peak.serverOnCpu, idp.peak.serverOnCpu, silent.peak.serverOnCpu, stock.halfPeak.serverOnCpu, idp.halfPeak.serverOnCpu);
  if (onCpu < 0.9) {
    lines.push(`Note: other work on the machine took CPU from the servers during this run (a server was on a CPU for as little as ${pct(onCpu)} of its busy time; ` +
      `load average ${m.loadAverageAtStart.join(', ')} at start), so throughput is lower and latency higher and noisier than on an idle machine.`, '');
  }
  return lines.join('\n');
}

await main();
