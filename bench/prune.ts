/**
 * `npm run bench:prune`: a round of pruning on a big embedded database while log-ins go on.
 *
 * 1. Builds a database of BENCH_PRUNE_DOCUMENTS documents (sessions, grants, tokens, codes with
 *    payloads of their usual size), BENCH_PRUNE_EXPIRED of them expired, beside 256 members with
 *    passkeys; it is copied afresh for every round.
 * 2. Each round starts the IdP on a copy and runs two open-loop trials of passkey log-ins at
 *    BENCH_PRUNE_RATE per second: one from the start of a round of pruning to its end (at most
 *    BENCH_PRUNE_SECONDS), then one as long without a prune (at most BENCH_PRUNE_BASELINE_SECONDS).
 *    The one without comes second, on the smaller database the prune left, which if anything
 *    favours it.
 * 3. Reports, per round and as medians: how long the prune took and what it removed, the longest
 *    event-loop stall in the server during each trial, the p99 of whole log-ins in each, and their
 *    ratio; the file size before and after. Results go to bench/results/prune-latest.json.
 */
import { type ChildMessage, setting } from './common.ts';
import { log, logInsAtRate, machine, median, withBigDatabase, writeResults } from './database-rounds.ts';
import { round, type TrialResult } from './driver.ts';

const settings = {
  documents: Math.round(setting('BENCH_PRUNE_DOCUMENTS', 1_000_000, 1000, 10_000_000)),
  expired: Math.round(setting('BENCH_PRUNE_EXPIRED', 325_000, 100, 10_000_000)),
  rounds: Math.round(setting('BENCH_PRUNE_ROUNDS', 3, 1, 9)),
  rate: setting('BENCH_PRUNE_RATE', 25, 1, 1000),
  seconds: setting('BENCH_PRUNE_SECONDS', 1800, 5, 3600),
  baselineSeconds: setting('BENCH_PRUNE_BASELINE_SECONDS', 90, 5, 900),
  members: 256,
};
if (settings.expired > settings.documents) throw new Error('BENCH_PRUNE_EXPIRED must not exceed BENCH_PRUNE_DOCUMENTS');

type Trial = { kind: 'prune' | 'baseline'; round: number; result: TrialResult; maxStallMs: number; p99StallMs: number; prune?: Record<string, number> };

await withBigDatabase('prune', settings, async ({ templateBytes, pool, round: onCopy }) => {
  const trials: Trial[] = [];
  const sizes: { before: number; after: number }[] = [];

  for (let r = 1; r <= settings.rounds; r++) {
    const { bytesAfter } = await onCopy(r, async (server) => {
      let durationMs = settings.seconds * 1000;
      for (const kind of ['prune', 'baseline'] as const) {
        const prune = () => server.ask<Extract<ChildMessage, { type: 'pruned' }>>({ type: 'prune' }, 'pruned', 1_000_000);
        const { result, loop, during } = await logInsAtRate(server, pool, { rate: settings.rate, durationMs, maxLogIns: 100_000, ...(kind === 'prune' && { during: prune }) });
        const pruned = during?.value;
        if (pruned) durationMs = Math.min(settings.baselineSeconds * 1000, Math.max(5000, result.seconds * 1000));
        const trial: Trial = { kind, round: r, result, maxStallMs: round(loop.maxMs), p99StallMs: round(loop.p99Ms), ...(pruned && { prune: pruned.report }) };
        trials.push(trial);
        log(`bench:prune: round ${r} ${kind.padEnd(8)} log-in p99 ${result.logIn.p99} ms (every request p99 ${result.allRequests.p99} ms), ` +
          `${result.throughput}/s, ${result.failed} failed; longest stall ${trial.maxStallMs} ms` +
          (pruned ? `; pruned ${JSON.stringify(pruned.report)}` : ''));
      }
    });
    sizes.push({ before: templateBytes, after: bytesAfter });
  }

  const of = (kind: Trial['kind']) => trials.filter((t) => t.kind === kind);
  const ratios = of('prune').map((t) => round(t.result.logIn.p99 / of('baseline').find((b) => b.round === t.round)!.result.logIn.p99));
  const summary = {
    date: new Date().toISOString(),
    machine: machine(),
    settings,
    pruneSeconds: median(of('prune').map((t) => (t.prune?.ms ?? 0) / 1000)),
    removed: of('prune')[0]?.prune,
    maxStallMs: { prune: median(of('prune').map((t) => t.maxStallMs)), baseline: median(of('baseline').map((t) => t.maxStallMs)), worstPrune: Math.max(...of('prune').map((t) => t.maxStallMs)) },
    logInP99Ms: { prune: median(of('prune').map((t) => t.result.logIn.p99)), baseline: median(of('baseline').map((t) => t.result.logIn.p99)) },
    p99Ratio: { median: median(ratios), rounds: ratios },
    fileMiB: sizes.map((s) => ({ before: round(s.before / 2 ** 20, 0), after: round(s.after / 2 ** 20, 0) })),
    failed: trials.reduce((sum, t) => sum + t.result.failed, 0),
    trials: trials.map(({ result, ...rest }) => ({ ...rest, logIn: result.logIn, allRequests: result.allRequests, throughput: result.throughput, failed: result.failed })),
  };
  writeResults('prune', summary);
  process.stdout.write([
    '',
    `Prune of ${settings.expired.toLocaleString('en')} expired among ${settings.documents.toLocaleString('en')} documents, log-ins at ${settings.rate}/s, ${settings.rounds} rounds (median; each round in brackets):`,
    '',
    '| | with the prune | without |',
    '|---|---:|---:|',
    `| longest event-loop stall | ${summary.maxStallMs.prune} ms (${of('prune').map((t) => t.maxStallMs).join(' / ')}) | ${summary.maxStallMs.baseline} ms (${of('baseline').map((t) => t.maxStallMs).join(' / ')}) |`,
    `| p99 of a whole log-in | ${summary.logInP99Ms.prune} ms (${of('prune').map((t) => t.result.logIn.p99).join(' / ')}) | ${summary.logInP99Ms.baseline} ms (${of('baseline').map((t) => t.result.logIn.p99).join(' / ')}) |`,
    `| p99 ratio, with / without | ${summary.p99Ratio.median} (${ratios.join(' / ')}) | |`,
    '',
    `The prune took ${summary.pruneSeconds.toFixed(1)} s (median) and removed ${JSON.stringify(summary.removed)}; the file went from ` +
      `${summary.fileMiB.map((s) => `${s.before} to ${s.after} MiB`).join(', ')}. Failed log-ins: ${summary.failed}.`,
    '',
  ].join('\n'));
});
