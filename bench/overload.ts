/**
 * `npm run bench:overload`: the IdP at its peak and at ten times its peak concurrency, for password
 * and for passkey log-ins, with its protection as shipped and, side by side in the same run, the same
 * IdP with shedding turned off (the baseline: what members got before).
 *
 * 1. Fills two fresh SQLite files with members (password and passkey each), one per IdP process.
 * 2. For each round and each method: closed-loop trials at the peak concurrency and at FACTOR times
 *    it on the protected IdP, and at FACTOR times it on the unprotected one.
 * 3. Prints per level: completed log-ins/s, p50/p99 of admitted requests, how many were refused and
 *    how fast, any other outcome, and the server's memory; medians over the rounds, against the
 *    targets. Writes bench/results/overload.json.
 *
 * Settings: OVERLOAD_SECONDS, OVERLOAD_WARMUP_SECONDS, OVERLOAD_ROUNDS, OVERLOAD_PEAK_PASSWORD,
 * OVERLOAD_PEAK_PASSKEY, OVERLOAD_FACTOR, OVERLOAD_RETRY_PAUSE_MS.
 *
 * BENCH_BASELINE=<another checkout of this project> also runs that build of the IdP, with its
 * protection as shipped, on a copy of the same members whose passwords are hashed the way that build
 * hashes them (its own `hashPassword`): each round measures both builds at the peak, one after the
 * other, and the output gives the log-ins per second of this build over the baseline's.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore } from '../src/store/open.ts';
import { BENCH_CLIENT, LOOPBACK_BUDGETS, setting } from './common.ts';
import { round } from './driver.ts';
import { overloadTrial, type Credentials, type Method, type OverloadResult } from './overload-driver.ts';
import { createMembers, ServerChild } from './server-child.ts';

const here = import.meta.dirname;

const settings = {
  seconds: setting('OVERLOAD_SECONDS', 10, 2, 120),
  warmupSeconds: setting('OVERLOAD_WARMUP_SECONDS', 2, 0, 30),
  rounds: Math.round(setting('OVERLOAD_ROUNDS', 3, 1, 9)),
  peak: { password: Math.round(setting('OVERLOAD_PEAK_PASSWORD', 2, 1, 64)), passkey: Math.round(setting('OVERLOAD_PEAK_PASSKEY', 8, 1, 64)) } as Record<Method, number>,
  factor: Math.round(setting('OVERLOAD_FACTOR', 10, 2, 50)),
  retryPauseMs: setting('OVERLOAD_RETRY_PAUSE_MS', 250, 10, 10_000),
};
const METHODS: Method[] = ['password', 'passkey'];
const PASSWORD = 'overload-bench-password-123';

/** The targets the issue sets for ten times the peak. */
const TARGETS = { throughputShare: 0.8, admittedP99Ms: 1000, refusalP99Ms: 50 };
/** Password log-ins per second at the peak against the baseline build's (argon2id against scrypt). */
const PASSWORD_PEAK_OVER_BASELINE = 2.5;

const baselineBuild = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
if (baselineBuild && !existsSync(path.join(baselineBuild, 'bench/idp-server.ts'))) throw new Error(`BENCH_BASELINE: no bench/idp-server.ts in ${baselineBuild}`);

// The baseline: the same IdP with its shedding turned off.
const NO_SHEDDING = {
  PASSWORD_HASH_MAX_QUEUE: '1000000',
  PASSWORD_HASH_MAX_WAIT_MS: '3600000',
  SHED_EVENT_LOOP_DELAY_MS: '3600000',
  SHED_MAX_REQUESTS_IN_FLIGHT: '1000000',
};

type Server = 'protected' | 'unprotected' | 'baseline';
type Level = 'peak' | 'overload';
type Trial = OverloadResult & { server: Server; level: Level; round: number; rssMbBefore: number; rssMbAfter: number };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmb-idp-overload-'));
  const servers: ServerChild[] = [];
  const members = Math.max(...METHODS.map((method) => settings.peak[method] * settings.factor)) + 16;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const perTrial = settings.warmupSeconds + settings.seconds;
  const trialsPerRound = baselineBuild ? 4 : 3;
  log(`bench:overload: about ${Math.round((settings.rounds * METHODS.length * trialsPerRound * perTrial + 60) / 10) * 10} s (${settings.rounds} rounds × 2 methods × ${trialsPerRound} trials × ${perTrial} s)`);
  try {
    const clientsFile = path.join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([BENCH_CLIENT]));
    const credentials: Record<Server, Credentials[]> = { protected: [], unprotected: [], baseline: [] };
    const start = (server: Server, script: string, databaseUrl: string) => ServerChild.start(server, script, {
      DATA_DIR: path.join(dir, server),
      DATABASE_URL: databaseUrl,
      OIDC_CLIENTS_FILE: clientsFile,
      LOG_LEVEL: 'silent',
      ...LOOPBACK_BUDGETS,
      ...(server === 'unprotected' ? NO_SHEDDING : {}),
    });
    for (const server of ['protected', 'unprotected'] as Server[]) {
      const file = path.join(dir, `${server}.db`);
      const passkeys = await createMembers(`sqlite:${file}`, members, PASSWORD);
      credentials[server] = passkeys.map((passkey, i) => ({ number: String(400_000_001 + i), password: PASSWORD, passkey }));
      if (server === 'protected' && baselineBuild) {
        // The same members and passkeys, with the passwords hashed as the baseline build hashes them.
        copyFileSync(file, path.join(dir, 'baseline.db'));
        await hashPasswordsAs(baselineBuild, `sqlite:${path.join(dir, 'baseline.db')}`);
        credentials.baseline = credentials.protected;
      }
      servers.push(await start(server, 'idp-server.ts', `sqlite:${file}`));
    }
    const [protectedServer, unprotected] = servers as [ServerChild, ServerChild];
    const baseline = baselineBuild ? await start('baseline', path.join(baselineBuild, 'bench/idp-server.ts'), `sqlite:${path.join(dir, 'baseline.db')}`) : undefined;
    if (baseline) servers.push(baseline);
    log(`bench:overload: ${members} members on each server; peak concurrency password ${settings.peak.password}, passkey ${settings.peak.passkey}; ×${settings.factor}`);

    const trials: Trial[] = [];
    const run = async (server: ServerChild, method: Method, level: Level, roundNo: number) => {
      const concurrency = settings.peak[method] * (level === 'peak' ? 1 : settings.factor);
      const before = await server.usage();
      const result = await overloadTrial(server.target, credentials[server.flow as Server], {
        method, concurrency, warmupMs: settings.warmupSeconds * 1000, durationMs: settings.seconds * 1000, retryPauseMs: settings.retryPauseMs,
      });
      server.assertRunning();
      const after = await server.usage();
      const trial: Trial = { ...result, server: server.flow as Server, level, round: roundNo, rssMbBefore: Math.round(before.rss / 1e6), rssMbAfter: Math.round(after.rss / 1e6) };
      trials.push(trial);
      const failures = Object.entries(result.failures).map(([key, { count }]) => `${count}× ${key}`).join(', ') || 'none';
      log(`bench:overload: round ${roundNo} ${server.flow.padEnd(11)} ${method.padEnd(8)} ${String(concurrency).padStart(3)} users: ` +
        `${result.logInsPerSecond} log-ins/s, admitted p50 ${result.admitted.p50} p99 ${result.admitted.p99} ms, ` +
        `${result.refused.count} refused (p99 ${result.refused.p99} ms), other outcomes ${failures}, RSS ${trial.rssMbBefore} → ${trial.rssMbAfter} MB`);
    };

    // Both servers run both flows for a while before anything is measured.
    for (const server of servers) {
      for (const method of METHODS) {
        await overloadTrial(server.target, credentials[server.flow as Server], { method, concurrency: settings.peak[method], warmupMs: 0, durationMs: 2000, retryPauseMs: settings.retryPauseMs });
      }
    }
    for (let r = 1; r <= settings.rounds; r++) {
      for (const method of METHODS) {
        // The two builds' peaks one right after the other, in turns, for a paired comparison.
        const peaks = baseline ? (r % 2 === 1 ? [protectedServer, baseline] : [baseline, protectedServer]) : [protectedServer];
        for (const server of peaks) await run(server, method, 'peak', r);
        await run(protectedServer, method, 'overload', r);
        await run(unprotected, method, 'overload', r);
      }
    }

    const results = summarise(trials, (Date.now() - started) / 1000);
    const resultsDir = path.join(here, 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'overload.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(markdown(results));
    log(`bench:overload: results written to ${path.relative(process.cwd(), path.join(resultsDir, 'overload.json'))}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

type Figures = {
  concurrency: number;
  logInsPerSecond: number;
  rounds: number[];
  admittedP50Ms: number;
  admittedP99Ms: number;
  worstRoundAdmittedP99Ms: number;
  logInP50Ms: number;
  logInP99Ms: number;
  refusedPerSecond: number;
  refusalP50Ms: number;
  refusalP99Ms: number;
  otherOutcomes: Record<string, number>;
  maxRssMb: number;
};
type Check<T> = { value: T; met: boolean };
type MethodSummary = {
  peak: Figures;
  overload: Figures;
  baseline: Figures;
  /** BENCH_BASELINE: that build at the peak, and this build's log-ins per second over its own. */
  baselineBuild?: Figures & { thisBuildOverBaseline: number; pairedRounds: number[] };
  targets: { throughputShare: Check<number>; admittedP99Ms: Check<number>; refusalP99Ms: Check<number>; noOtherServerErrors: Check<string[]> };
};

function summarise(trials: Trial[], seconds: number) {
  const figures = (server: Server, method: Method, level: Level): Figures => {
    const list = trials.filter((t) => t.server === server && t.method === method && t.level === level);
    const otherOutcomes: Record<string, number> = {};
    for (const t of list) for (const [key, { count }] of Object.entries(t.failures)) otherOutcomes[key] = (otherOutcomes[key] ?? 0) + count;
    return {
      concurrency: list[0]?.concurrency ?? 0,
      logInsPerSecond: median(list.map((t) => t.logInsPerSecond)),
      rounds: list.map((t) => t.logInsPerSecond),
      admittedP50Ms: median(list.map((t) => t.admitted.p50)),
      admittedP99Ms: median(list.map((t) => t.admitted.p99)),
      worstRoundAdmittedP99Ms: Math.max(...list.map((t) => t.admitted.p99)),
      logInP50Ms: median(list.map((t) => t.logIn.p50)),
      logInP99Ms: median(list.map((t) => t.logIn.p99)),
      refusedPerSecond: median(list.map((t) => round(t.refused.count / t.seconds))),
      refusalP50Ms: median(list.map((t) => t.refused.p50)),
      refusalP99Ms: median(list.map((t) => t.refused.p99)),
      otherOutcomes,
      maxRssMb: Math.max(...list.map((t) => t.rssMbAfter)),
    };
  };
  const byMethod = Object.fromEntries(METHODS.map((method): [Method, MethodSummary] => {
    const peak = figures('protected', method, 'peak');
    const overload = figures('protected', method, 'overload');
    const baseline = figures('unprotected', method, 'overload');
    const share = peak.logInsPerSecond ? round(overload.logInsPerSecond / peak.logInsPerSecond) : 0;
    const serverErrors = Object.keys(overload.otherOutcomes).filter((key) => /\b5\d\d\b/.test(key));
    const other = baselineBuild ? figures('baseline', method, 'peak') : undefined;
    const byRound = (server: Server, r: number) => trials.find((t) => t.server === server && t.method === method && t.level === 'peak' && t.round === r)?.logInsPerSecond ?? 0;
    const baselineFigures = other && {
      ...other,
      thisBuildOverBaseline: other.logInsPerSecond ? round(peak.logInsPerSecond / other.logInsPerSecond) : 0,
      // Each round's pair, measured one right after the other.
      pairedRounds: other.rounds.map((_, i) => (byRound('baseline', i + 1) ? round(byRound('protected', i + 1) / byRound('baseline', i + 1)) : 0)),
    };
    return [method, {
      peak, overload, baseline, ...(baselineFigures && { baselineBuild: baselineFigures }),
      targets: {
        throughputShare: { value: share, met: share >= TARGETS.throughputShare },
        admittedP99Ms: { value: overload.admittedP99Ms, met: overload.admittedP99Ms < TARGETS.admittedP99Ms },
        refusalP99Ms: { value: overload.refusalP99Ms, met: overload.refusalP99Ms < TARGETS.refusalP99Ms },
        noOtherServerErrors: { value: serverErrors, met: serverErrors.length === 0 },
      },
    }];
  })) as Record<Method, MethodSummary>;
  return {
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.availableParallelism(), node: process.version, loadAverageAtStart: os.loadavg().map((l) => round(l)) },
    settings: { ...settings, baselineBuild: baselineBuild ?? null },
    targets: { ...TARGETS, passwordPeakOverBaseline: PASSWORD_PEAK_OVER_BASELINE },
    durationSeconds: Math.round(seconds),
    methods: byMethod,
    trials,
  };
}

function markdown(results: ReturnType<typeof summarise>): string {
  const { settings: s, machine: m } = results;
  const met = (ok: boolean) => (ok ? 'met' : '**missed**');
  const row = (label: string, f: Figures) =>
    `| ${label} | ${f.concurrency} | ${f.logInsPerSecond} (${f.rounds.join(' / ')}) | ${f.admittedP50Ms.toFixed(1)} | ${f.admittedP99Ms.toFixed(1)} | ${f.logInP99Ms.toFixed(0)} | ${f.refusedPerSecond} | ${f.refusalP99Ms.toFixed(1)} | ${Object.entries(f.otherOutcomes).map(([k, v]) => `${v}× ${k}`).join(', ') || 'none'} | ${f.maxRssMb} |`;
  const lines = [
    '',
    `Measured ${results.date.slice(0, 10)} on ${m.cpu}, ${m.cores} cores, Node ${m.node} (load average at start ${m.loadAverageAtStart.join(', ')}); ` +
      `${s.rounds} rounds of ${s.seconds} s after ${s.warmupSeconds} s warm-up, medians; a refused user tries again after about ${s.retryPauseMs} ms.`,
    '',
    '| level | users | completed log-ins/s (each round) | admitted p50 ms | admitted p99 ms | whole log-in p99 ms | refused/s | refusal p99 ms | other outcomes | server RSS MB |',
    '|---|---:|---|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const method of METHODS) {
    const f = results.methods[method];
    lines.push(
      row(`${method}: peak`, f.peak),
      row(`${method}: ${s.factor}× peak`, f.overload),
      row(`${method}: ${s.factor}× peak, shedding off (baseline)`, f.baseline),
      ...(f.baselineBuild ? [row(`${method}: peak, build ${s.baselineBuild}`, f.baselineBuild)] : []),
    );
  }
  lines.push('');
  for (const method of METHODS) {
    const other = results.methods[method].baselineBuild;
    if (!other) continue;
    const target = method === 'password' ? ` (target ≥ ${PASSWORD_PEAK_OVER_BASELINE}: ${met(other.thisBuildOverBaseline >= PASSWORD_PEAK_OVER_BASELINE)})` : '';
    lines.push(`- **${method} log-ins per second at the peak, this build / ${s.baselineBuild}: ${other.thisBuildOverBaseline}**${target}; ` +
      `${results.methods[method].peak.logInsPerSecond} against ${other.logInsPerSecond}, each round's pair ${other.pairedRounds.join(' / ')}.`);
  }
  for (const method of METHODS) {
    const { targets: t } = results.methods[method];
    lines.push(`- ${method} at ${s.factor}× peak: completed ${t.throughputShare.value} of peak (target ≥ ${TARGETS.throughputShare}: ${met(t.throughputShare.met)}), ` +
      `admitted p99 ${t.admittedP99Ms.value} ms (< ${TARGETS.admittedP99Ms}: ${met(t.admittedP99Ms.met)}), refusals p99 ${t.refusalP99Ms.value} ms (< ${TARGETS.refusalP99Ms}: ${met(t.refusalP99Ms.met)}), ` +
      `no 5xx but 503: ${met(t.noOtherServerErrors.met)}.`);
  }
  lines.push('', `Whole run ${results.durationSeconds} s.`, '');
  return lines.join('\n');
}

/**
 * Gives every member in the store at `databaseUrl` a hash of the benchmark's password made by the
 * build at `build` (its src/members/password.ts `hashPassword`), so that build checks passwords the
 * way it does in production. One hash serves every member: checking it costs what checking one's own does.
 */
async function hashPasswordsAs(build: string, databaseUrl: string): Promise<void> {
  const { hashPassword } = await import(pathToFileURL(path.join(build, 'src/members/password.ts')).href) as { hashPassword?: (password: string) => Promise<string> };
  if (typeof hashPassword !== 'function') throw new Error(`BENCH_BASELINE: ${build}/src/members/password.ts exports no hashPassword`);
  const passwordHash = await hashPassword(PASSWORD);
  const store = await openStore(databaseUrl);
  try {
    for (const member of await store.members.list({ limit: 100_000 })) await store.members.update(member.id, { passwordHash });
  } finally {
    await store.close();
  }
}

await main();
