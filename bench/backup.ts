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
import { rmSync } from 'node:fs';
import path from 'node:path';
import { backUp } from './big-database.ts';
import { setting } from './common.ts';
import { log, logInsAtRate, machine, median, withBigDatabase, writeResults } from './database-rounds.ts';
import { round, type TrialResult } from './driver.ts';

const settings = {
  documents: Math.round(setting('BENCH_BACKUP_DOCUMENTS', 1_000_000, 1000, 10_000_000)),
  rounds: Math.round(setting('BENCH_BACKUP_ROUNDS', 3, 1, 9)),
  rate: setting('BENCH_BACKUP_RATE', 25, 1, 1000),
  members: 256,
};

const other = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;

type Trial = { kind: 'backup' | 'other' | 'baseline'; round: number; result: TrialResult; maxStallMs: number; stalls: [number, number][] };

await withBigDatabase('backup', { ...settings, expired: Math.round(settings.documents / 4) }, async ({ dir, templateBytes, pool, round: onCopy }) => {
  const trials: Trial[] = [];
  const copies: { seconds: number; output: string }[] = [];

  for (let r = 1; r <= settings.rounds; r++) {
    const target = path.join(dir, `backup-${r}.db`);
    await onCopy(r, async (server, file) => {
      let durationMs = 10_000;
      // The two backups take turns at coming first after the warm-up.
      const backups = other ? (r % 2 ? ['backup', 'other'] as const : ['other', 'backup'] as const) : ['backup'] as const;
      for (const kind of [...backups, 'baseline'] as const) {
        const backingUp = () => backUp(file, target, kind === 'other' ? other : undefined);
        const { result, loop, startedAt, during } = await logInsAtRate(server, pool, {
          rate: settings.rate,
          durationMs: kind === 'baseline' ? durationMs : 3_600_000,
          maxLogIns: 1_000_000,
          ...(kind !== 'baseline' && { during: backingUp }),
        });
        if (during) {
          const seconds = during.ms / 1000;
          if (kind === 'backup') {
            copies.push({ seconds: round(seconds, 1), output: during.value });
            durationMs = Math.max(durationMs, seconds * 1000);
          }
          rmSync(target, { force: true });
        }
        const stalls = (loop.stalls ?? []).map(([at, ms]) => [Math.round(at - startedAt), round(ms, 0)] as [number, number]);
        const trial: Trial = { kind, round: r, result, maxStallMs: round(loop.maxMs), stalls };
        trials.push(trial);
        log(`bench:backup: round ${r} ${kind.padEnd(8)} log-in p99 ${result.logIn.p99} ms (every request p99 ${result.allRequests.p99} ms), ` +
          `${result.throughput}/s, ${result.failed} failed; longest stall ${trial.maxStallMs} ms; stalls over 20 ms (at ms: ms) ` +
          `${stalls.map(([at, ms]) => `${at}: ${ms}`).join(', ') || 'none'}`);
      }
    });
  }

  const of = (kind: Trial['kind']) => trials.filter((t) => t.kind === kind);
  const ratioToBaseline = (t: Trial) => round(t.result.logIn.p99 / of('baseline').find((b) => b.round === t.round)!.result.logIn.p99);
  const ratios = of('backup').map(ratioToBaseline);
  const otherRatios = of('other').map(ratioToBaseline);
  const summary = {
    date: new Date().toISOString(),
    machine: machine(),
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
  writeResults('backup', summary);
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
});
