import type { Logger } from '../log.ts';
import type { Clock, Counters, Store } from './port.ts';

export type PruningOptions = {
  /** How often a round of pruning starts. */
  everyMs: number;
  /** Audit events older than this many days are deleted; 0 keeps them all. */
  auditRetentionDays: number;
  /**
   * Other IdP processes prune the same store on timers of their own (PostgreSQL, MongoDB): each timed
   * round is claimed in the store first (claimPruningRound), so the fleet prunes about once per
   * interval, not once per instance.
   */
  shared?: boolean;
};

/** The counter through which instances sharing a store claim timed rounds of pruning. */
const ROUND_KEY = 'pruning:round';

/**
 * True for the first instance to ask within a window of `everyMs` (an atomic counter in the store
 * every instance shares), false for the others: whoever's timer comes first prunes, and when that
 * instance is gone the next window goes to another. Rows one round leaves are the next one's.
 */
export async function claimPruningRound(counters: Counters, everyMs: number): Promise<boolean> {
  return (await counters.increment(ROUND_KEY, Math.max(1, Math.floor(everyMs / 1000)))).count === 1;
}

/** What one round removed. */
export type PruneReport = { documents: number; counters: number; audit: number; pagesReleased: number; ms: number };

/**
 * Prunes the store on a timer, never inside a request: expired documents, ended counters, audit
 * events past their retention, then gives the freed space back. The store does each part in short
 * transactions with other work between them; rounds never overlap (a round still running when the
 * next is due lets it pass). After `stop`, no round starts; a running one ends at its next short
 * transaction once the store closes.
 */
export function startPruning(deps: { store: Store; clock: Clock; logger: Logger }, options: PruningOptions): {
  /** Runs one round now (or joins the one running). */
  runNow(): Promise<PruneReport>;
  stop(): void;
} {
  const { store, clock, logger } = deps;
  let running: Promise<PruneReport> | undefined;

  const round = async (): Promise<PruneReport> => {
    const started = performance.now();
    const documents = await store.documents.prune();
    const counters = await store.counters.prune();
    const audit = options.auditRetentionDays > 0
      ? await store.audit.prune(new Date(clock() - options.auditRetentionDays * 24 * 3600 * 1000))
      : 0;
    const pagesReleased = await store.reclaimSpace();
    const report = { documents, counters, audit, pagesReleased, ms: Math.round(performance.now() - started) };
    logger.info('pruned', report);
    return report;
  };
  const runNow = () => {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timed = async () => {
    if (options.shared && !(await claimPruningRound(store.counters, options.everyMs))) {
      logger.debug('pruning round left to another instance');
      return;
    }
    await runNow();
  };
  const timer = setInterval(() => {
    if (running) return;
    timed().catch((error: unknown) => logger.warn('pruning failed', { error }));
  }, options.everyMs);
  timer.unref();

  return {
    runNow,
    stop() {
      clearInterval(timer);
    },
  };
}
