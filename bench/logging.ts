/**
 * `npm run bench:logging`: what the request log costs. The same build of the IdP runs twice, at
 * LOG_LEVEL=info and at LOG_LEVEL=silent, each with stdout to a pipe this process drains (as under
 * systemd, Docker or Kubernetes), each on its own copy of one SQLite file of members with passkeys.
 * Closed-loop trials of complete passkey log-ins (bench/driver.ts) alternate info and silent,
 * BENCH_ROUNDS times; the figure is the median over rounds of info's log-ins per second over
 * silent's, beside the main-thread CPU per log-in (less sensitive to other load on the machine).
 *
 * First, the logger alone: the main-thread CPU of one request line (bench/logging-lines.ts), info
 * less silent, median of BENCH_ROUNDS alternating runs of BENCH_LOG_LINES lines.
 *
 * BENCH_BASELINE=<another checkout of this project> measures that build's logger the same way in
 * the same run. Short runs: BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_ROUNDS, BENCH_CONCURRENCY,
 * BENCH_MEMBERS.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BENCH_CLIENT, LOOPBACK_BUDGETS, setting, type ChildMessage, type ServerUsage } from './common.ts';
import { closedLoop, logIn, PasskeyPool, round, type Target, type TrialResult } from './driver.ts';
import { createMembers, stopChild } from './server-child.ts';

const settings = {
  seconds: setting('BENCH_SECONDS', 5, 1, 60),
  warmupSeconds: setting('BENCH_WARMUP_SECONDS', 1, 0, 30),
  rounds: Math.round(setting('BENCH_ROUNDS', 3, 1, 9)),
  concurrency: Math.round(setting('BENCH_CONCURRENCY', 8, 1, 256)),
  members: Math.round(setting('BENCH_MEMBERS', 64, 16, 5000)),
  lines: Math.round(setting('BENCH_LOG_LINES', 20_000, 1_000, 1_000_000)),
};
const WARM_UP_SECONDS = 3;
const LEVELS = ['info', 'silent'] as const;
type Level = (typeof LEVELS)[number];

const here = import.meta.dirname;
const builds = [{ name: 'this build', root: path.resolve(here, '..') }];
if (process.env.BENCH_BASELINE) {
  const root = path.resolve(process.env.BENCH_BASELINE);
  if (!existsSync(path.join(root, 'src/app.ts'))) throw new Error(`BENCH_BASELINE: no src/app.ts in ${root}`);
  builds.push({ name: `baseline ${root}`, root });
}

type Usage = ServerUsage & { lines: number };

/** One IdP child: its stdout drained and counted, its CPU and event loop asked for over IPC. */
class LoggingServer {
  lines = 0;
  bytes = 0;
  readonly child: ChildProcess;
  readonly target: Target;
  private exited: string | undefined;
  private constructor(child: ChildProcess, target: Target) {
    this.child = child;
    this.target = target;
    child.on('exit', (code, signal) => {
      this.exited = `exited with ${signal ?? code}`;
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) this.lines++;
    });
  }

  static start(name: string, env: Record<string, string>): Promise<LoggingServer> {
    const child = fork(path.join(here, 'logging-server.ts'), [], {
      execPath: process.execPath,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
      child.once('message', (message: ChildMessage) => {
        clearTimeout(timer);
        if (message.type !== 'ready') return reject(new Error(`${name} sent ${message.type} before ready`));
        resolve(new LoggingServer(child, { name, issuer: message.issuer, port: message.port }));
      });
    });
  }

  usage(): Promise<Usage> {
    if (this.exited) return Promise.reject(new Error(`${this.target.name} ${this.exited}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.target.name} did not report its usage`)), 10_000);
      const listener = (message: ChildMessage) => {
        if (message.type !== 'usage') return;
        clearTimeout(timer);
        this.child.off('message', listener);
        resolve({ ...message.usage, lines: this.lines });
      };
      this.child.on('message', listener);
      this.child.send({ type: 'usage' });
    });
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

type Trial = { level: Level; throughput: number; failed: number; failures: TrialResult['failures']; mainMsPerLogIn: number; cpuMsPerLogIn: number; linesPerLogIn: number };

/** A closed-loop trial, with the server's CPU and log lines over its measured window. */
async function trial(server: LoggingServer, level: Level, pool: PasskeyPool): Promise<Trial> {
  const warmupMs = settings.warmupSeconds * 1000;
  const at = (ms: number) => new Promise<Usage>((resolve, reject) => {
    setTimeout(() => server.usage().then(resolve, reject), ms);
  });
  const [result, before, after] = await Promise.all([
    closedLoop(server.target, pool, { warmupMs, durationMs: settings.seconds * 1000, maxLogIns: 50_000, concurrency: settings.concurrency }),
    at(warmupMs),
    at(warmupMs + settings.seconds * 1000),
  ]);
  const per = (value: number) => (result.completed ? round(value / result.completed, 3) : 0);
  return {
    level,
    throughput: result.throughput,
    failed: result.failed,
    failures: result.failures,
    mainMsPerLogIn: per((after.mainThreadCpuMicros - before.mainThreadCpuMicros) / 1000),
    cpuMsPerLogIn: per((after.cpuMicros - before.cpuMicros) / 1000),
    linesPerLogIn: per(after.lines - before.lines),
  };
}

type LineCost = { mainMicros: number; allMicros: number };

/** CPU per request line of the build's logger at `level`, stdout to a drained pipe. */
function lineCost(root: string, level: Level): Promise<LineCost> {
  const child = spawn(process.execPath, [path.join(here, 'logging-lines.ts')], {
    env: { PATH: process.env.PATH ?? '', BENCH_BUILD: root, LOG_LEVEL: level, LINES: String(settings.lines) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.resume();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve, reject) => child.once('close', (code) => {
    const last = stderr.trim().split('\n').at(-1) ?? '';
    if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as LineCost);
    else reject(new Error(`logging-lines.ts exited with ${code}: ${stderr}`));
  }));
}

async function perLine(build: { name: string; root: string }) {
  const rounds: Record<Level, LineCost>[] = [];
  for (let r = 1; r <= settings.rounds; r++) {
    const order: Level[] = r % 2 === 1 ? ['info', 'silent'] : ['silent', 'info'];
    const done = {} as Record<Level, LineCost>;
    for (const level of order) done[level] = await lineCost(build.root, level);
    process.stderr.write(`bench:logging: ${build.name} logger alone, round ${r}: info ${round(done.info.mainMicros)} µs/line main thread (${round(done.info.allMicros)} all threads), silent ${round(done.silent.mainMicros)} (${round(done.silent.allMicros)})\n`);
    rounds.push(done);
  }
  return {
    mainMicros: round(median(rounds.map((done) => done.info.mainMicros - done.silent.mainMicros))),
    allMicros: round(median(rounds.map((done) => done.info.allMicros - done.silent.allMicros))),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function measure(build: { name: string; root: string }, databaseFile: string, clientsFile: string, pool: PasskeyPool, dir: string) {
  const log = (line: string) => process.stderr.write(`bench:logging: ${line}\n`);
  const servers = {} as Record<Level, LoggingServer>;
  try {
    for (const level of LEVELS) {
      const data = path.join(dir, `${builds.indexOf(build)}-${level}`);
      mkdirSync(data);
      copyFileSync(databaseFile, path.join(data, 'bench.db'));
      servers[level] = await LoggingServer.start(`${build.name} at ${level}`, {
        BENCH_BUILD: build.root,
        DATA_DIR: data,
        DATABASE_URL: `sqlite:${path.join(data, 'bench.db')}`,
        OIDC_CLIENTS_FILE: clientsFile,
        LOG_LEVEL: level,
        ...LOOPBACK_BUDGETS,
      });
      const agent = new Agent({ keepAlive: false });
      const passkey = pool.take()!;
      try {
        await logIn(agent, servers[level].target, passkey, () => {});
      } finally {
        pool.give(passkey);
        agent.destroy();
      }
      await closedLoop(servers[level].target, pool, { warmupMs: 0, durationMs: WARM_UP_SECONDS * 1000, maxLogIns: 50_000, concurrency: settings.concurrency });
    }
    const rounds: Record<Level, Trial>[] = [];
    for (let r = 1; r <= settings.rounds; r++) {
      const order: Level[] = r % 2 === 1 ? ['info', 'silent'] : ['silent', 'info'];
      const done = {} as Record<Level, Trial>;
      for (const level of order) {
        const t = await trial(servers[level], level, pool);
        done[level] = t;
        for (const [key, { count, example }] of Object.entries(t.failures)) log(`${build.name} at ${level}: ${count} log-ins failed at ${key}, e.g. ${example}`);
        log(`${build.name} round ${r} ${level.padEnd(6)} ${t.throughput} log-ins/s, ${t.failed} failed, main ${t.mainMsPerLogIn} ms/log-in, all threads ${t.cpuMsPerLogIn} ms/log-in, ${t.linesPerLogIn} log lines/log-in`);
      }
      rounds.push(done);
    }
    const of = (level: Level, pick: (t: Trial) => number) => round(median(rounds.map((done) => pick(done[level]))), 3);
    return {
      build: build.name,
      info: of('info', (t) => t.throughput),
      silent: of('silent', (t) => t.throughput),
      ratio: round(median(rounds.map((done) => done.info.throughput / done.silent.throughput)), 3),
      ratios: rounds.map((done) => round(done.info.throughput / done.silent.throughput, 3)),
      mainInfo: of('info', (t) => t.mainMsPerLogIn),
      mainSilent: of('silent', (t) => t.mainMsPerLogIn),
      mainRatio: round(median(rounds.map((done) => done.info.mainMsPerLogIn / done.silent.mainMsPerLogIn)), 3),
      linesPerLogIn: of('info', (t) => t.linesPerLogIn),
      failed: rounds.reduce((sum, done) => sum + done.info.failed + done.silent.failed, 0),
    };
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmb-idp-bench-logging-'));
  const perBuild = 2 * (WARM_UP_SECONDS + 1) + 2 * settings.rounds * (settings.warmupSeconds + settings.seconds);
  process.stderr.write(`bench:logging: about ${Math.round(builds.length * perBuild / 5) * 5 + 10} s (${builds.length} build(s) × ${settings.rounds} rounds × info and silent)\n`);
  const watchdog = setTimeout(() => {
    process.stderr.write('bench:logging: still running long after its time, giving up\n');
    process.exit(2);
  }, (4 * builds.length * perBuild + 120) * 1000);
  watchdog.unref();
  try {
    const databaseFile = path.join(dir, 'bench.db');
    const pool = new PasskeyPool(await createMembers(`sqlite:${databaseFile}`, settings.members));
    const clientsFile = path.join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([BENCH_CLIENT]));
    const lineCosts = [];
    for (const build of builds) lineCosts.push({ build: build.name, ...(await perLine(build)) });
    const results = [];
    for (const build of builds) results.push(await measure(build, databaseFile, clientsFile, pool, dir));
    const rows = results.map((r) => `| ${r.build} | ${r.info} | ${r.silent} | **${r.ratio}** (${r.ratios.join(', ')}) | ${r.mainInfo} / ${r.mainSilent} (×${r.mainRatio}) | ${r.linesPerLogIn} | ${r.failed} |`);
    process.stdout.write([
      '',
      `Passkey log-ins per second, IdP at LOG_LEVEL=info (stdout to a drained pipe) against silent; median of ${settings.rounds} alternating rounds of ${settings.seconds} s, concurrency ${settings.concurrency}, ${os.availableParallelism()} cores, load average at the end ${os.loadavg().map((load) => round(load, 1)).join(' ')}.`,
      '',
      '| build | info log-ins/s | silent log-ins/s | info / silent (each round) | main-thread ms per log-in, info / silent | log lines per log-in | failed |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `The logger alone: CPU of one request line at info less silent, stdout to a drained pipe, median of ${settings.rounds} alternating runs of ${settings.lines} lines, each line in its own turn of the event loop.`,
      '',
      '| build | main thread µs per line | all threads µs per line |',
      '|---|---|---|',
      ...lineCosts.map((c) => `| ${c.build} | ${c.mainMicros} | ${c.allMicros} |`),
      '',
    ].join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

await main();
