/** How long the primary waits before starting a worker in place of one that died. */
export type RestartDelayOptions = {
  /** The wait after a worker that had been serving a while. */
  firstMs: number;
  /** The longest wait, however often workers die. */
  maxMs: number;
  /** A worker that lived this long before dying was no crash loop: the wait starts again from `firstMs`. */
  stableMs: number;
};

export const RESTART_DELAY: RestartDelayOptions = { firstMs: 500, maxMs: 30_000, stableMs: 60_000 };

/**
 * Waits that double while workers keep dying soon after they start (a bad disk, a database that
 * refuses every connection), up to `maxMs`, and start again from `firstMs` once a worker lived
 * `stableMs`: one crash costs members half a second of one worker, a crash loop never turns into a
 * fork loop that takes the machine's CPU.
 */
export function createRestartDelay(options: RestartDelayOptions = RESTART_DELAY) {
  let next = options.firstMs;
  return {
    /** The wait before replacing a worker that lived `livedMs`. */
    after(livedMs: number): number {
      if (livedMs >= options.stableMs) next = options.firstMs;
      const wait = next;
      next = Math.min(options.maxMs, next * 2);
      return wait;
    },
  };
}
