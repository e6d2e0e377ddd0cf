import type { Logger } from '../log.ts';
import type { Clock, Store } from './port.ts';

export type PruningOptions = {
  /** How often a round of pruning starts. */
  everyMs: number;
  /** Audit events older than this many days are deleted; 0 keeps them all. */
  auditRetentionDays: number;
};

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

  const timer = setInterval(() => {
    if (running) return;
    runNow().catch((error: unknown) => logger.warn('pruning failed', { error }));
  }, options.everyMs);
  timer.unref();

  return {
    runNow,
    stop() {
      clearInterval(timer);
    },
  };
}
