/**
 * What `npm run bench` makes of its trials: the summary written to bench/results/latest.json, and
 * the Markdown tables it prints.
 */
import os from 'node:os';
import { round, STEPS, type Step, type TrialResult } from './driver.ts';
import type { OverloadResult } from './overload-driver.ts';
import type { PostgresUsage } from './postgres.ts';
import type { LoggingPair } from './side-by-side.ts';

/** The servers a run can load: the stock oidc-provider (or a baseline build), and the IdP in four ways. */
export type Flow = 'stock' | 'idp' | 'silent' | 'postgres' | 'workers';

export type Usage = {
  /** CPUs' worth of time the server used (all its threads; with WORKERS, all its processes). */
  serverCpu: number;
  /** Share of wall time the server's event loop was busy (with WORKERS, the workers' average). */
  serverEventLoop: number;
  /** Server CPU time (all threads) per completed log-in. */
  serverCpuMsPerLogIn: number;
  /** Server main-thread CPU time per completed log-in (with WORKERS, every worker's): the cost that bounds throughput. */
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

/** A passkey trial: closed loop at the peak or open loop at half of it. */
export type Trial = TrialResult & { round: number; usage: Usage; database?: PostgresUsage };
/** A closed-loop trial of password log-ins. */
export type PasswordTrial = OverloadResult & { target: Flow; round: number; usage: Usage; database?: PostgresUsage };

/** What the store of one flow did for one passkey log-in, counted over log-ins made one after another. */
export type StoreWork = { statements?: number; roundTrips?: number; walBytes?: number };

/** Everything a run measured, for `summarise`. */
export type RunFacts = {
  flows: Flow[];
  descriptions: Record<Flow, string>;
  passwordFlows: Flow[];
  peak: Partial<Record<Flow, number>>;
  rates: Partial<Record<Flow, number>>;
  trials: Trial[];
  passwordTrials: PasswordTrial[];
  storeWork: Partial<Record<Flow, StoreWork>>;
  /** Pairs of fresh IdP processes, at its defaults and silent, each pair loaded at the same time. */
  loggingPairs: LoggingPair[];
  /** Both of each pair were silent (BENCH_LOGGING_CONTROL=1): an A/A. */
  loggingControl: boolean;
  countedLogIns: number;
  baseline: boolean;
  /** The baseline build runs on PostgreSQL (BENCH_BASELINE_STORE=postgres), against the `postgres` flow. */
  baselineOnPostgres?: boolean;
  postgres?: { version: string; settings: Record<string, string> };
  settings: { seconds: number; warmupSeconds: number; rounds: number; concurrency: number } & Record<string, unknown>;
  concurrency: Partial<Record<Flow, number>>;
  passwordConcurrency: Partial<Record<Flow, number>>;
  workers: number;
  seconds: number;
};

/** The ratio targets: the IdP against the stock flow, and one instance on PostgreSQL against the same on SQLite. */
const TARGETS = { idpOverStock: 0.6, postgresOverSqlite: 0.75, p99AtHalfPeakMs: 50, loggingShare: 0.95 } as const;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ratio = (a: number, b: number) => (b ? round(a / b, 2) : 0);

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

type StepFigures = { p50: number; p95: number; p99: number; worstRoundP99: number };

/** The medians of the database server's figures over a flow's trials. */
function databaseFigures(list: { database?: PostgresUsage }[]) {
  const of = list.map((t) => t.database).filter((d): d is PostgresUsage => d !== undefined);
  if (of.length === 0) return undefined;
  return {
    cpuMsPerLogIn: median(of.map((d) => d.cpuMsPerLogIn)),
    cpu: median(of.map((d) => d.cpu)),
    walBytesPerLogIn: median(of.map((d) => d.walBytesPerLogIn)),
    walSyncsPerLogIn: median(of.map((d) => d.walSyncsPerLogIn)),
    commitsPerLogIn: median(of.map((d) => d.commitsPerLogIn)),
    connections: Math.max(...of.map((d) => d.connections)),
  };
}

/** The run's figures: medians over the rounds by flow, the ratios against their targets, and every trial. */
export function summarise(facts: RunFacts) {
  const { trials, peak, rates } = facts;
  const of = (flow: Flow, mode: 'closed' | 'open') => trials.filter((t) => t.target === flow && t.mode === mode);
  const figures = (list: Trial[], pick: (t: Trial) => { p50: number; p95: number; p99: number }): StepFigures => ({
    p50: median(list.map((t) => pick(t).p50)),
    p95: median(list.map((t) => pick(t).p95)),
    p99: median(list.map((t) => pick(t).p99)),
    worstRoundP99: Math.max(...list.map((t) => pick(t).p99)),
  });
  const peakSummary = (flow: Flow) => {
    const closed = of(flow, 'closed');
    const database = databaseFigures(closed);
    return {
      description: facts.descriptions[flow],
      peak: {
        logInsPerSecond: peak[flow] ?? 0,
        concurrency: facts.concurrency[flow] ?? 0,
        rounds: closed.map((t) => t.throughput),
        serverCpuMsPerLogIn: median(closed.map((t) => t.usage.serverCpuMsPerLogIn)),
        serverMainThreadMsPerLogIn: median(closed.map((t) => t.usage.serverMainThreadMsPerLogIn)),
        serverOnCpu: median(closed.map((t) => t.usage.serverOnCpu)),
        serverCpu: median(closed.map((t) => t.usage.serverCpu)),
        serverEventLoop: median(closed.map((t) => t.usage.serverEventLoop)),
        driverCpu: median(closed.map((t) => t.usage.driverCpu)),
        closedLoopP99Ms: median(closed.map((t) => t.allRequests.p99)),
        ...(database && { database }),
      },
      failed: trials.filter((t) => t.target === flow).reduce((sum, t) => sum + t.failed, 0),
    };
  };
  const flowSummary = (flow: Flow) => {
    const open = of(flow, 'open');
    const database = databaseFigures(open);
    return {
      ...peakSummary(flow),
      halfPeak: {
        rate: rates[flow] ?? 0,
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
        ...(database && { database }),
      },
    };
  };
  type FlowSummary = ReturnType<typeof flowSummary>;
  const has = (flow: Flow) => facts.flows.includes(flow);
  const stock = flowSummary('stock');
  const idp = flowSummary('idp');
  const silent = peakSummary('silent');
  const postgres: FlowSummary | undefined = has('postgres') ? flowSummary('postgres') : undefined;
  const workers: FlowSummary | undefined = has('workers') ? flowSummary('workers') : undefined;

  // Every ratio is paired: the two flows' trials of one round, run one after the other, give one
  // ratio, and the figure is the median of those. The machine's speed drifts between rounds (other
  // work on a shared host) far more than it does within one, so a ratio of the two flows' medians
  // mixes that drift in; it is kept in the results as `ratioOfMedians` to compare.
  const roundRatios = (a: Flow, b: Flow) => of(a, 'closed').map((t) => {
    const other = of(b, 'closed').find((s) => s.round === t.round);
    return other?.throughput ? t.throughput / other.throughput : 0;
  });
  const pairedRounds = (a: Flow, b: Flow) => roundRatios(a, b).map((value) => round(value, 2));
  const paired = (a: Flow, b: Flow) => round(median(roundRatios(a, b)), 2);
  const mainThreadRatio = (cheaper: { peak: { serverMainThreadMsPerLogIn: number } }, dearer: { peak: { serverMainThreadMsPerLogIn: number } }) =>
    ratio(cheaper.peak.serverMainThreadMsPerLogIn, dearer.peak.serverMainThreadMsPerLogIn);

  // The cost of logging, from the logging phase: in each pair of fresh processes loaded at the same
  // time, the log-ins the IdP at its defaults completed over the silent one's (the same windows), and
  // the CPU each log-in cost, the process reading the log included, as the throughput it leaves
  // (silent's CPU over info's); the figures are the medians over the pairs. The target is met when
  // both say so.
  const pairs = facts.loggingPairs.map(({ info, silent }) => ({
    infoOverSilent: silent.completed ? round(info.completed / silent.completed, 3) : 0,
    cpuSilentOverInfo: info.withReaderCpuMsPerLogIn ? round(silent.withReaderCpuMsPerLogIn / info.withReaderCpuMsPerLogIn, 3) : 0,
    slices: info.slices.map((value, i) => (silent.slices[i] ? round(value / silent.slices[i]!, 3) : 0)),
    cpuMsPerLogIn: { info: info.withReaderCpuMsPerLogIn, silent: silent.withReaderCpuMsPerLogIn },
    serverCpuMsPerLogIn: { info: info.serverCpuMsPerLogIn, silent: silent.serverCpuMsPerLogIn },
    mainThreadMsPerLogIn: { info: info.serverMainThreadMsPerLogIn, silent: silent.serverMainThreadMsPerLogIn },
    logInsPerSecond: { info: round(median(info.slices), 1), silent: round(median(silent.slices), 1) },
    failed: info.failed + silent.failed,
  }));
  const infoOverSilent = round(median(pairs.map((p) => p.infoOverSilent)), 3);
  const cpuSilentOverInfo = round(median(pairs.map((p) => p.cpuSilentOverInfo)), 3);
  const logging = {
    control: facts.loggingControl,
    infoOverSilent,
    cost: round(1 - infoOverSilent, 3),
    cpuSilentOverInfo,
    cpuCost: round(1 - cpuSilentOverInfo, 3),
    pairs,
    target: TARGETS.loggingShare,
    met: infoOverSilent >= TARGETS.loggingShare && cpuSilentOverInfo >= TARGETS.loggingShare,
    // The IdP at its defaults and the silent IdP of the peak rounds, one after the other.
    oneAfterTheOther: {
      infoOverSilent: paired('idp', 'silent'),
      ratioOfMedians: ratio(peak.idp ?? 0, peak.silent ?? 0),
      rounds: pairedRounds('idp', 'silent'),
      mainThreadCostRatio: mainThreadRatio(silent, idp),
    },
  };
  const idpOverStock = paired('idp', 'stock');
  const slowestIdpStep = Math.max(...STEPS.map((step) => idp.halfPeak.steps[step].p99));

  const password = Object.fromEntries(facts.passwordFlows.map((flow) => {
    const list = facts.passwordTrials.filter((t) => t.target === flow);
    const database = databaseFigures(list);
    return [flow, {
      concurrency: facts.passwordConcurrency[flow] ?? 0,
      logInsPerSecond: median(list.map((t) => t.logInsPerSecond)),
      rounds: list.map((t) => t.logInsPerSecond),
      serverMainThreadMsPerLogIn: median(list.map((t) => t.usage.serverMainThreadMsPerLogIn)),
      serverCpuMsPerLogIn: median(list.map((t) => t.usage.serverCpuMsPerLogIn)),
      serverCpu: median(list.map((t) => t.usage.serverCpu)),
      admittedP99Ms: median(list.map((t) => t.admitted.p99)),
      refused: list.reduce((sum, t) => sum + t.refused.count, 0),
      failed: list.reduce((sum, t) => sum + Object.values(t.failures).reduce((n, f) => n + f.count, 0), 0),
      ...(database && { database }),
    }];
  })) as Partial<Record<Flow, { concurrency: number; logInsPerSecond: number; rounds: number[]; serverMainThreadMsPerLogIn: number; serverCpuMsPerLogIn: number; serverCpu: number; admittedP99Ms: number; refused: number; failed: number; database?: ReturnType<typeof databaseFigures> }>>;

  const postgresOverSqlite = postgres && {
    value: paired('postgres', 'idp'),
    ratioOfMedians: ratio(postgres.peak.logInsPerSecond, idp.peak.logInsPerSecond),
    target: TARGETS.postgresOverSqlite,
    met: paired('postgres', 'idp') >= TARGETS.postgresOverSqlite,
    rounds: pairedRounds('postgres', 'idp'),
    mainThreadCostRatio: mainThreadRatio(idp, postgres),
    password: ratio(password.postgres?.logInsPerSecond ?? 0, password.idp?.logInsPerSecond ?? 0),
  };
  // This build against the baseline build, both one IdP on PostgreSQL: throughput, and the CPU each
  // log-in costs the IdP's main thread and the database server (lower is better: baseline over this).
  const postgresOverBaseline = postgres && facts.baselineOnPostgres && {
    value: paired('postgres', 'stock'),
    ratioOfMedians: ratio(postgres.peak.logInsPerSecond, stock.peak.logInsPerSecond),
    rounds: pairedRounds('postgres', 'stock'),
    mainThreadCostRatio: mainThreadRatio(postgres, stock),
    databaseCostRatio: ratio(postgres.peak.database?.cpuMsPerLogIn ?? 0, stock.peak.database?.cpuMsPerLogIn ?? 0),
  };
  const workersOverOne = postgres && workers && {
    workers: facts.workers,
    value: paired('workers', 'postgres'),
    ratioOfMedians: ratio(workers.peak.logInsPerSecond, postgres.peak.logInsPerSecond),
    rounds: pairedRounds('workers', 'postgres'),
    password: ratio(password.workers?.logInsPerSecond ?? 0, password.postgres?.logInsPerSecond ?? 0),
  };

  const storeWork = facts.storeWork;
  return {
    date: new Date().toISOString(),
    machine: machine(),
    settings: { ...facts.settings, driver: 'in the npm run bench process; each server in its own process (with WORKERS, a primary and its workers)' },
    durationSeconds: Math.round(facts.seconds),
    stock,
    idp,
    silent,
    ...(postgres && { postgres }),
    ...(workers && { workers }),
    passwordLogIns: password,
    logging,
    storeStatementsPerPasskeyLogIn: {
      idp: storeWork.idp?.statements ?? null,
      ...(facts.baseline && { baseline: storeWork.stock?.statements ?? null }),
      ...(postgres && { postgres: storeWork.postgres?.statements ?? null }),
      ...(workers && { workers: storeWork.workers?.statements ?? null }),
      countedLogIns: facts.countedLogIns,
    },
    ...(postgres && {
      databasePerPasskeyLogIn: Object.fromEntries((['postgres', 'workers', ...(facts.baselineOnPostgres ? ['stock'] : [])] as Flow[]).filter(has).map((flow) => [flow, {
        statements: storeWork[flow]?.statements ?? null,
        roundTrips: storeWork[flow]?.roundTrips ?? null,
        walBytesOneAtATime: storeWork[flow]?.walBytes ?? null,
        atPeak: { postgres, workers, stock }[flow as 'postgres' | 'workers' | 'stock']?.peak.database,
        atHalfPeak: { postgres, workers, stock }[flow as 'postgres' | 'workers' | 'stock']?.halfPeak.database,
      }])),
      postgresServer: facts.postgres,
    }),
    targets: {
      throughputRatio: {
        value: idpOverStock,
        ratioOfMedians: ratio(peak.idp ?? 0, peak.stock ?? 0),
        rounds: pairedRounds('idp', 'stock'),
        target: TARGETS.idpOverStock,
        met: idpOverStock >= TARGETS.idpOverStock,
        mainThreadCostRatio: mainThreadRatio(stock, idp),
      },
      p99AtHalfPeakMs: { slowestStep: slowestIdpStep, target: TARGETS.p99AtHalfPeakMs, met: slowestIdpStep < TARGETS.p99AtHalfPeakMs },
      ...(postgresOverSqlite && { postgresOverSqlite }),
      ...(workersOverOne && { workersOverOne }),
      ...(postgresOverBaseline && { postgresOverBaseline }),
    },
    trials,
    passwordTrials: facts.passwordTrials,
  };
}

/** What bench/results/latest.json holds. */
export type Results = ReturnType<typeof summarise>;

const STEP_LABELS: Record<Step, string> = {
  authorize: 'authorize `GET /auth` → 303',
  page: 'log-in page `GET /interaction/:uid`',
  options: 'options `POST …/passkey/options`',
  assertion: 'assertion `POST …/passkey`',
  resume: 'resume `GET /auth/:uid` → 303 with code',
  token: 'token `POST /token`',
};

/** Short names for table headings. */
const SHORT: Record<Flow, string> = { stock: 'stock', idp: 'IdP', silent: 'silent', postgres: 'PG', workers: 'PG workers' };

/** The tables `npm run bench` prints. */
export function markdown(results: Results): string {
  const { stock, idp, silent, logging, storeStatementsPerPasskeyLogIn: statements, targets, machine: m, settings: s, passwordLogIns } = results;
  const postgres = 'postgres' in results ? results.postgres : undefined;
  const workers = 'workers' in results ? results.workers : undefined;
  const pct = (value: number) => `${Math.round(value * 100)}%`;
  const pct1 = (value: number) => `${(value * 100).toFixed(1)}%`;
  const ms = (value: number) => value.toFixed(1);
  const met = (ok: boolean) => (ok ? 'met' : '**missed**');
  const named = [['stock', stock], ['idp', idp], ['silent', silent], ...(postgres ? [['postgres', postgres]] : []), ...(workers ? [['workers', workers]] : [])] as [Flow, typeof silent][];
  const peakFlows = named.map(([, f]) => f);
  const latencyFlows = [['stock', stock], ['idp', idp], ...(postgres ? [['postgres', postgres]] : []), ...(workers ? [['workers', workers]] : [])] as [Flow, typeof idp][];
  const lines = [
    '',
    `Measured ${results.date.slice(0, 10)} on ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node} (load average at start ${m.loadAverageAtStart.join(', ')}).`,
    '',
    `**Peak throughput, passkey log-ins** (closed loop, ${s.concurrency} virtual users per IdP process, ${s.rounds} alternating rounds of ${s.seconds} s after ${s.warmupSeconds} s warm-up, median; a ratio in bold is the median of the rounds' ratios, each between two trials of one round):`,
    '',
    '| flow | users | log-ins/s | each round | server main-thread CPU per log-in | server CPU (all threads) | server on CPU | driver CPU | database CPU per log-in |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|',
    ...peakFlows.map((f) => `| ${f.description} | ${f.peak.concurrency} | ${f.peak.logInsPerSecond} | ${f.peak.rounds.join(' / ')} | ${f.peak.serverMainThreadMsPerLogIn.toFixed(2)} ms | ${pct(f.peak.serverCpu)} | ${pct(f.peak.serverOnCpu)} | ${pct(f.peak.driverCpu)} | ${'database' in f.peak && f.peak.database ? `${f.peak.database.cpuMsPerLogIn.toFixed(2)} ms` : ''} |`),
    `| **IdP / stock** | | **${targets.throughputRatio.value.toFixed(2)}** | ${targets.throughputRatio.rounds.join(' / ')}; target ≥ 0.6: ${met(targets.throughputRatio.met)} | stock / IdP: ${targets.throughputRatio.mainThreadCostRatio.toFixed(2)} | | | | |`,
    `| IdP at its defaults / IdP silent, one after the other (for the cost of logging, see below) | | ${logging.oneAfterTheOther.infoOverSilent.toFixed(2)} | ${logging.oneAfterTheOther.rounds.join(' / ')} | silent / defaults: ${logging.oneAfterTheOther.mainThreadCostRatio.toFixed(2)} | | | | |`,
  ];
  if ('postgresOverSqlite' in targets && targets.postgresOverSqlite) {
    const r = targets.postgresOverSqlite;
    lines.push(`| **one IdP on PostgreSQL / on SQLite** | | **${r.value.toFixed(2)}** | ${r.rounds.join(' / ')}; target ≥ ${r.target}: ${met(r.met)} | SQLite / PostgreSQL: ${r.mainThreadCostRatio.toFixed(2)} | | | | |`);
  }
  if ('postgresOverBaseline' in targets && targets.postgresOverBaseline) {
    const r = targets.postgresOverBaseline;
    lines.push(`| **this build / the baseline, both one IdP on PostgreSQL** | | **${r.value.toFixed(2)}** | ${r.rounds.join(' / ')} | this build / baseline: ${r.mainThreadCostRatio.toFixed(2)} | | | | database: ${r.databaseCostRatio.toFixed(2)} |`);
  }
  if ('workersOverOne' in targets && targets.workersOverOne) {
    const r = targets.workersOverOne;
    lines.push(`| **WORKERS=${r.workers} / one IdP, on PostgreSQL** | | **${r.value.toFixed(2)}** | ${r.rounds.join(' / ')} | | | | | |`);
  }
  lines.push(
    '',
    `**Cost of logging**${logging.control ? ' — **A/A control run (BENCH_LOGGING_CONTROL=1): both processes of each pair silent**' : ''} ` +
      `(LOG_LEVEL=info, the log on a pipe another process reads, against LOG_LEVEL=silent; ${logging.pairs.length} pairs of fresh IdP processes, ` +
      `each pair warmed up together, then loaded at the same time, ${s.concurrency} virtual users each, ${logging.pairs[0]?.slices.length ?? 0} slices of ${s.seconds} s): ` +
      `throughput cost ${pct1(logging.cost)} (info / silent ${logging.infoOverSilent.toFixed(3)}, the median of ${logging.pairs.map((p) => p.infoOverSilent.toFixed(3)).join(' / ')}), ` +
      `CPU per log-in, the log's reader included, ${pct1(logging.cpuCost)} (silent / info ${logging.cpuSilentOverInfo.toFixed(3)}, the median of ${logging.pairs.map((p) => p.cpuSilentOverInfo.toFixed(3)).join(' / ')}); ` +
      `target under 5% by both: ${met(logging.met)}.` +
      `${logging.pairs.some((p) => p.failed) ? ` Failed log-ins: ${logging.pairs.reduce((n, p) => n + p.failed, 0)}.` : ''}`,
    '',
    '| pair | log-ins/s, info / silent (median slice) | each slice, info / silent | CPU per log-in with the reader, info / silent | main thread, info / silent |',
    '|---|---|---|---|---|',
    ...logging.pairs.map((p, i) => `| ${i + 1} | ${p.logInsPerSecond.info} / ${p.logInsPerSecond.silent} | ${p.slices.join(' / ')} | ${p.cpuMsPerLogIn.info.toFixed(3)} / ${p.cpuMsPerLogIn.silent.toFixed(3)} ms | ${p.mainThreadMsPerLogIn.info.toFixed(3)} / ${p.mainThreadMsPerLogIn.silent.toFixed(3)} ms |`),
    '',
    `**Store statements per passkey log-in** (${statements.countedLogIns} log-ins one after another, jmb_store_statements_total): ` +
      `IdP ${statements.idp ?? 'not reported'}${'baseline' in statements ? `, baseline ${statements.baseline ?? 'not reported by that build'}` : ''}` +
      `${'postgres' in statements ? `, IdP on PostgreSQL ${statements.postgres ?? 'not reported'}` : ''}${'workers' in statements ? `, with WORKERS ${statements.workers ?? 'not reported'}` : ''}.`,
    '',
  );

  const passwordRows = Object.entries(passwordLogIns) as [Flow, NonNullable<(typeof passwordLogIns)[Flow]>][];
  if (passwordRows.length) {
    lines.push(
      `**Password log-ins** (argon2id as the IdP ships it; closed loop, ${s.rounds} rounds, median; the IdP's hashing queue and shedding as shipped):`,
      '',
      '| flow | users | log-ins/s | each round | server main-thread CPU per log-in | server CPU (all threads) | admitted p99 | refused | database CPU per log-in |',
      '|---|---:|---:|---|---:|---:|---:|---:|---:|',
      ...passwordRows.map(([flow, p]) => `| ${SHORT[flow]} | ${p.concurrency} | ${p.logInsPerSecond} | ${p.rounds.join(' / ')} | ${p.serverMainThreadMsPerLogIn.toFixed(2)} ms | ${pct(p.serverCpu)} | ${ms(p.admittedP99Ms)} ms | ${p.refused} | ${p.database ? `${p.database.cpuMsPerLogIn.toFixed(2)} ms` : ''} |`),
      '',
    );
  }

  if ('databasePerPasskeyLogIn' in results && results.databasePerPasskeyLogIn) {
    const server = results.postgresServer;
    lines.push(
      `**PostgreSQL per passkey log-in** (${server?.version.split(' on ')[0] ?? 'PostgreSQL'}, a private cluster on this machine: ` +
        `fsync ${server?.settings.fsync}, synchronous_commit ${server?.settings.synchronous_commit}, full_page_writes ${server?.settings.full_page_writes}, ` +
        `wal_sync_method ${server?.settings.wal_sync_method}, shared_buffers ${server?.settings.shared_buffers}). ` +
        'Statements, round trips and WAL counted over log-ins one after another; the rest at the peak (median of the rounds). ' +
        'WAL flushes and commits come from PostgreSQL\'s cumulative statistics, which each backend reports at most once a second: approximate over short trials.',
      '',
      '| flow | statements | round trips | WAL bytes, one at a time | database CPU per log-in, peak | database CPU, peak | WAL bytes per log-in, peak | WAL flushes per log-in, peak | commits per log-in, peak | IdP connections open |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...(Object.entries(results.databasePerPasskeyLogIn) as [Flow, { statements: number | null; roundTrips: number | null; walBytesOneAtATime: number | null; atPeak?: ReturnType<typeof databaseFigures> }][]).map(([flow, d]) =>
        `| ${flow === 'stock' ? 'baseline' : SHORT[flow]} | ${d.statements ?? ''} | ${d.roundTrips ?? ''} | ${d.walBytesOneAtATime ?? ''} | ${d.atPeak ? `${d.atPeak.cpuMsPerLogIn.toFixed(2)} ms` : ''} | ${d.atPeak ? pct(d.atPeak.cpu) : ''} | ${d.atPeak?.walBytesPerLogIn ?? ''} | ${d.atPeak?.walSyncsPerLogIn ?? ''} | ${d.atPeak?.commitsPerLogIn ?? ''} | ${d.atPeak?.connections ?? ''} |`),
      '',
    );
  }

  lines.push(
    '"Server on CPU" is the share of the time the server\'s event loop was busy that its thread actually ran; below about 90% other work on the machine was taking the server\'s core. ' +
      'The main-thread CPU cost per log-in is the figure least disturbed by that, and its stock / IdP ratio is what the throughput ratio would be with the server alone on its core. ' +
      'The PostgreSQL server runs on the same machine, so its CPU comes out of the same cores as the IdP\'s and the driver\'s.',
    '',
    `**Latency at half of each flow's peak** (open loop: ${latencyFlows.map(([flow, f]) => `${SHORT[flow]} ${f.halfPeak.rate}/s`).join(', ')} log-ins; ms, median of ${s.rounds} rounds; worst round's p99 in brackets):`,
    '',
    `| request | stock p50 | stock p99 | IdP p50 | IdP p95 | IdP p99 |${latencyFlows.slice(2).map(([flow]) => ` ${SHORT[flow]} p50 | ${SHORT[flow]} p99 |`).join('')}`,
    `|---|---:|---:|---:|---:|---:|${latencyFlows.slice(2).map(() => '---:|---:|').join('')}`,
    ...[...STEPS.map((step) => [STEP_LABELS[step], (f: typeof idp) => f.halfPeak.steps[step]] as const),
      ['every request', (f: typeof idp) => f.halfPeak.allRequests] as const,
      ['whole log-in (6 requests, from its scheduled start)', (f: typeof idp) => f.halfPeak.logIn] as const,
    ].map(([label, pick]) => {
      const a = pick(stock);
      const b = pick(idp);
      return `| ${label} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(b.p50)} | ${ms(b.p95)} | ${ms(b.p99)} (${ms(b.worstRoundP99)}) |` +
        latencyFlows.slice(2).map(([, f]) => ` ${ms(pick(f).p50)} | ${ms(pick(f).p99)} (${ms(pick(f).worstRoundP99)}) |`).join('');
    }),
    '',
    `Target p99 of each IdP request < 50 ms at half peak: ${met(targets.p99AtHalfPeakMs.met)} (slowest step ${ms(targets.p99AtHalfPeakMs.slowestStep)} ms). ` +
      `Failed log-ins: ${named.map(([flow, f]) => `${SHORT[flow]} ${f.failed}`).join(', ')}. Whole run ${results.durationSeconds} s.`,
    '',
  );
  const onCpu = Math.min(...peakFlows.map((f) => f.peak.serverOnCpu), ...latencyFlows.map(([, f]) => f.halfPeak.serverOnCpu));
  if (onCpu < 0.9) {
    lines.push(`Note: other work on the machine took CPU from the servers during this run (a server was on a CPU for as little as ${pct(onCpu)} of its busy time; ` +
      `load average ${m.loadAverageAtStart.join(', ')} at start), so throughput is lower and latency higher and noisier than on an idle machine.`, '');
  }
  return lines.join('\n');
}
