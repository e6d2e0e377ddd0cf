export type HashQueueOptions = {
  /** Hashes run at once. */
  concurrency: number;
  /** Most hashes waiting for a turn. */
  maxQueue: number;
  /** The longest a hash may expect to wait for its turn; beyond it the request is refused at once. */
  maxWaitMs: number;
};

/** The queue is full: the caller answers "busy" at once instead of keeping the member waiting. */
export class HashQueueFullError extends Error {
  /** Seconds after which a retry has a fair chance. */
  readonly retryAfter: number;
  constructor(retryAfter: number) {
    super('too many password checks are waiting');
    this.retryAfter = retryAfter;
  }
}

/**
 * Runs password hashes (scrypt: tens of milliseconds of CPU and 32 MiB each) a few at a time, in the
 * order they came. At a peak the hashes are the bottleneck, and an unbounded queue turns a few
 * seconds of excess into minutes of waiting for everyone: so a hash that would wait longer than
 * `maxWaitMs` (judged from the recent time per hash) is refused straight away.
 */
export function createHashQueue(options: HashQueueOptions, now: () => number = () => performance.now()) {
  const waiting: (() => void)[] = [];
  let running = 0;
  // An estimate of one hash's duration, updated from each one that completes.
  let averageMs = 50;

  /** Seconds to wait before trying, when a hash asked for now would be refused; undefined when it would be taken. */
  const busyFor = (): number | undefined => {
    if (running < options.concurrency) return undefined;
    // Hashes finish about every averageMs / concurrency; a new one starts after those ahead of it.
    const expectedWait = ((waiting.length + 1) * averageMs) / options.concurrency;
    return waiting.length >= options.maxQueue || expectedWait > options.maxWaitMs ? Math.max(1, Math.ceil(expectedWait / 1000)) : undefined;
  };

  return {
    /** Runs `hash` when its turn comes; throws HashQueueFullError without running it when the wait would be too long. */
    async run<T>(hash: () => Promise<T>): Promise<T> {
      if (running < options.concurrency) {
        running++;
      } else {
        const busy = busyFor();
        if (busy !== undefined) throw new HashQueueFullError(busy);
        // A finishing hash hands its slot straight to the first in line, so nobody overtakes.
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      const started = now();
      try {
        return await hash();
      } finally {
        averageMs = averageMs * 0.8 + (now() - started) * 0.2;
        const first = waiting.shift();
        if (first) first();
        else running--;
      }
    },
    /** Hashes running and waiting. */
    load: () => ({ running, waiting: waiting.length }),
    busyFor,
  };
}

export type HashQueue = ReturnType<typeof createHashQueue>;
