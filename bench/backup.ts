/**
 * `npm run bench:backup`: `npm run db:backup` of a big embedded database while log-ins go on.
 *
 * 1. Builds a database of BENCH_BACKUP_DOCUMENTS documents (as for `npm run bench:prune`) beside
 *    256 members with passkeys; it is copied afresh for every round.
 * 2. Each round starts the IdP on a copy and runs open-loop trials of passkey log-ins at
 *    BENCH_BACKUP_RATE per second: one from the start of a backup to its end; with
 *    BENCH_BASELINE=<another checkout of the project>, one during a backup by that checkout's
 *    `db:backup` (the two take turns at going first); then one as long as the first (at least
 *    10 s) without a backup.
 * 3. Reports, per round and as medians: how long the backup took, the longest event-loop stall in
 *    the server during each trial, the p99 of whole log-ins in each and their ratio, and when the
 *    stalls over 20 ms came, counted from the start of the backup. Results go to
 *    bench/results/backup-latest.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backUp, fillDocuments } from './big-database.ts';
import { BENCH_CLIENT, LOOPBACK_BUDGETS, type ChildMessage, setting } from './common.ts';
import { closedLoop, openLoop, PasskeyPool, round, type TrialResult } from './driver.ts';
import { createMembers, ServerChild } from './server-child.ts';

const settings = {
  documents: Math.round(setting('BENCH_BACKUP_DOCUMENTS', 1_000_000, 1000, 10_000_000)),
  rounds: Math.round(setting('BENCH_BACKUP_ROUNDS', 3, 1, 9)),
  rate: setting('BENCH_BACKUP_RATE', 25, 1, 1000),
  members: 256,
};

const here = import.meta.dirname;
const other = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

type Trial = { kind: 'backup' | 'other' | 'baseline'; round: number; result: TrialResult; maxStallMs: number; stalls: [number, number][] };

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jmb-idp-bench-backup-'));
  const servers: ServerChild[] = [];
  try {
    const template = path.join(dir, 'template.db');
    const started = Date.now();
    const passkeys = await createMembers(`sqlite:${template}`, settings.members);
    fillDocuments(template, settings.documents, Math.round(settings.documents / 4));
    const templateBytes = statSync(template).size;
    log(`bench:backup: template of ${(templateBytes / 2 ** 20).toFixed(0)} MiB built in ${Math.round((Date.now() - started) / 1000)} s`);
    const clientsFile = path.join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([BENCH_CLIENT]));
    const pool = new PasskeyPool(passkeys);
    const trials: Trial[] = [];
    const copies: { seconds: number; output: string }[] = [];

    for (let r = 1; r <= settings.rounds; r++) {
      const file = path.join(dir, `round-${r}.db`);
      const target = path.join(dir, `backup-${r}.db`);
      copyFileSync(template, file);
      const server = await ServerChild.start('idp', 'idp-server.ts', {
        DATA_DIR: dir,
        DATABASE_URL: `sqlite:${file}`,
        OIDC_CLIENTS_FILE: clientsFile,
        LOG_LEVEL: 'silent',
        PRUNE_INTERVAL_SECONDS: '86400',
        ...LOOPBACK_BUDGETS,
      });
      servers.push(server);
      await closedLoop(server.target, pool, { warmupMs: 0, durationMs: 3000, maxLogIns: 50_000, concurrency: 8 });
      let durationMs = 10_000;
      // The two backups take turns at coming first after the warm-up.
      const backups = other ? (r % 2 ? ['backup', 'other'] as const : ['other', 'backup'] as const) : ['backup'] as const;
      for (const kind of [...backups, 'baseline'] as const) {
        server.tell({ type: 'loop-reset' });
        const done = new AbortController();
        const backupStarted = performance.now();
        const startedAt = Date.now();
        const backingUp = kind === 'baseline' ? undefined : backUp(file, target, kind === 'other' ? other : undefined).finally(() => done.abort());
        const result = await openLoop(server.target, pool, { warmupMs: 0, durationMs: kind === 'baseline' ? durationMs : 3_600_000, maxLogIns: 1_000_000, rate: settings.rate, signal: done.signal });
        if (backingUp) {
          const output = await backingUp;
          const seconds = (performance.now() - backupStarted) / 1000;
          if (kind === 'backup') {
            copies.push({ seconds: round(seconds, 1), output });
            durationMs = Math.max(durationMs, seconds * 1000);
          }
          rmSync(target, { force: true });
        }
        const loop = await server.ask<Extract<ChildMessage, { type: 'loop' }>>({ type: 'loop-read' }, 'loop');
        const stalls = (loop.stalls ?? []).map(([at, ms]) => [Math.round(at - startedAt), round(ms, 0)] as [number, number]);
        const trial: Trial = { kind, round: r, result, maxStallMs: round(loop.maxMs), stalls };
        trials.push(trial);
        log(`bench:backup: round ${r} ${kind.padEnd(8)} log-in p99 ${result.logIn.p99} ms (every request p99 ${result.allRequests.p99} ms), ` +
          `${result.throughput}/s, ${result.failed} failed; longest stall ${trial.maxStallMs} ms; stalls over 20 ms (at ms: ms) ` +
          `${stalls.map(([at, ms]) => `${at}: ${ms}`).join(', ') || 'none'}`);
      }
      await server.stop();
      servers.pop();
      rmSync(file, { force: true });
    }

    const of = (kind: Trial['kind']) => trials.filter((t) => t.kind === kind);
    const ratioToBaseline = (t: Trial) => round(t.result.logIn.p99 / of('baseline').find((b) => b.round === t.round)!.result.logIn.p99);
    const ratios = of('backup').map(ratioToBaseline);
    const otherRatios = of('other').map(ratioToBaseline);
    const summary = {
      date: new Date().toISOString(),
      machine: { cpu: os.cpus()[0]?.model.trim(), cores: os.availableParallelism(), node: process.version, loadAverage: os.loadavg().map((l) => round(l)) },
      settings,
      fileMiB: round(templateBytes / 2 ** 20, 0),
      backupSeconds: median(copies.map((b) => b.seconds)),
      maxStallMs: { backup: median(of('backup').map((t) => t.maxStallMs)), baseline: median(of('baseline').map((t) => t.maxStallMs)), worstBackup: Math.max(...of('backup').map((t) => t.maxStallMs)) },
      logInP99Ms: { backup: median(of('backup').map((t) => t.result.logIn.p99)), baseline: median(of('baseline').map((t) => t.result.logIn.p99)) },
      p99Ratio: { median: median(ratios), rounds: ratios },
      other: {
        checkout: other,
        maxStallMs: median(of('other').map((t) => t.maxStallMs)),
        logInP99Ms: median(of('other').map((t) => t.result.logIn.p99)),
        p99Ratio: median(otherRatios),
      },
      failed: trials.reduce((sum, t) => sum + t.result.failed, 0),
      backups: copies,
      trials: trials.map(({ result, ...rest }) => ({ ...rest, logIn: result.logIn, allRequests: result.allRequests, throughput: result.throughput, failed: result.failed })),
    };
    const resultsDir = path.join(here, 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(path.join(resultsDir, 'backup-latest.json'), `${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write([
      '',
      `Backup of ${summary.fileMiB} MiB (${settings.documents.toLocaleString('en')} documents), log-ins at ${settings.rate}/s, ${settings.rounds} rounds (median; each round in brackets):`,
      '',
      '| | during the backup | without |',
      '|---|---:|---:|',
      `| longest event-loop stall | ${summary.maxStallMs.backup} ms (${of('backup').map((t) => t.maxStallMs).join(' / ')}) | ${summary.maxStallMs.baseline} ms (${of('baseline').map((t) => t.maxStallMs).join(' / ')}) |`,
      `| p99 of a whole log-in | ${summary.logInP99Ms.backup} ms (${of('backup').map((t) => t.result.logIn.p99).join(' / ')}) | ${summary.logInP99Ms.baseline} ms (${of('baseline').map((t) => t.result.logIn.p99).join(' / ')}) |`,
      `| p99 ratio, during / without | ${summary.p99Ratio.median} (${ratios.join(' / ')}) | |`,
      '',
      ...(other ? [
        `During a backup by ${other}: longest stall ${summary.other.maxStallMs} ms (${of('other').map((t) => t.maxStallMs).join(' / ')}), ` +
          `log-in p99 ${summary.other.logInP99Ms} ms (${of('other').map((t) => t.result.logIn.p99).join(' / ')}), ` +
          `p99 ratio to without ${summary.other.p99Ratio} (${otherRatios.join(' / ')}).`,
        '',
      ] : []),
      `The backup took ${summary.backupSeconds} s (median; ${copies.map((b) => b.seconds).join(' / ')}). Failed log-ins: ${summary.failed}. ` +
        `The last one printed: ${copies.at(-1)?.output}`,
      '',
    ].join('\n'));
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
