export type HashQueueOptions = {
  /** Hashes run at once. */
  concurrency: number;
  /** Most hashes waiting for a turn, shared out among the owners (client addresses) waiting. */
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

/** A place in line taken before the hash is ready to run, so that nothing is spent on a check the queue would refuse. */
export type HashPlace = {
  /** Runs `hash` when its turn comes (at once while a slot is free). */
  run<T>(hash: () => Promise<T>): Promise<T>;
  /** Gives the place up unused; does nothing once `run` was called. */
  leave(): void;
};

const NOBODY = '';

/**
 * Runs password hashes (argon2id: about a hundred milliseconds of CPU and 19 MiB each; scrypt for hashes from before) a few at a time. Waiting
 * hashes are served by owner (the client address asking) in turn, first come first served within
 * one owner: an address sending many checks waits behind its own, and a member behind a quiet
 * address gets the next free slot but a few.
 *
 * At a peak the hashes are the bottleneck, and an unbounded queue turns a few seconds of excess into
 * minutes of waiting for everyone: so a hash that would wait longer than `maxWaitMs` (judged from the
 * recent time per hash and from what its owner has waiting), or whose owner already holds its share
 * of `maxQueue`, is refused straight away. Shares are judged per owner, so one address cannot fill
 * the queue for others.
 */
export function createHashQueue(options: HashQueueOptions, now: () => number = () => performance.now()) {
  // Per owner, the hashes waiting for a turn; the map's order is the order owners are served in.
  const lines = new Map<string, (() => void)[]>();
  // Places taken whose hash has not been handed over yet, per owner: they count as waiting.
  const held = new Map<string, number>();
  let running = 0;
  let heldTotal = 0;
  // An estimate of one hash's duration, updated from each one that completes.
  let averageMs = 50;

  const waitingOf = (owner: string) => (lines.get(owner)?.length ?? 0) + (held.get(owner) ?? 0);
  const owners = () => new Set([...lines.keys(), ...held.keys()]);

  /** Seconds to wait before trying, when a hash for `owner` asked for now would be refused; undefined when it would be taken. */
  const busyFor = (owner: string = NOBODY): number | undefined => {
    if (running + heldTotal < options.concurrency) return undefined;
    const mine = waitingOf(owner);
    const others = [...owners()].filter((other) => other !== owner);
    // Taking turns, each other owner runs at most one more hash than this owner has waiting before this one.
    const ahead = mine + others.reduce((sum, other) => sum + Math.min(waitingOf(other), mine + 1), 0);
    const expectedWait = ((ahead + 1) * averageMs) / options.concurrency;
    const share = options.maxQueue === 0 ? 0 : Math.max(1, Math.floor(options.maxQueue / (others.length + 1)));
    return mine >= share || expectedWait > options.maxWaitMs ? Math.max(1, Math.ceil(expectedWait / 1000)) : undefined;
  };

  /** The next waiting hash, taking owners in turn: an owner served goes to the back of the line of owners. */
  const next = (): (() => void) | undefined => {
    for (const [owner, line] of lines) {
      const first = line.shift();
      lines.delete(owner);
      if (line.length > 0) lines.set(owner, line);
      return first;
    }
    return undefined;
  };

  const release = (owner: string) => {
    const left = (held.get(owner) ?? 1) - 1;
    if (left > 0) held.set(owner, left);
    else held.delete(owner);
    heldTotal--;
  };

  /** Takes a place in line for `owner`; throws HashQueueFullError when the wait would be too long. */
  const enter = (owner: string = NOBODY): HashPlace => {
    const busy = busyFor(owner);
    if (busy !== undefined) throw new HashQueueFullError(busy);
    held.set(owner, (held.get(owner) ?? 0) + 1);
    heldTotal++;
    let used = false;
    return {
      async run(hash) {
        if (used) throw new Error('a place in the hash queue runs one hash');
        used = true;
        release(owner);
        if (running < options.concurrency) {
          running++;
        } else {
          // A finishing hash hands its slot straight to the next in turn.
          await new Promise<void>((resolve) => {
            const line = lines.get(owner) ?? [];
            line.push(resolve);
            lines.set(owner, line);
          });
        }
        const started = now();
        try {
          return await hash();
        } finally {
          averageMs = averageMs * 0.8 + (now() - started) * 0.2;
          const first = next();
          if (first) first();
          else running--;
        }
      },
      leave() {
        if (used) return;
        used = true;
        release(owner);
      },
    };
  };

  return {
    enter,
    /** Runs `hash` for `owner` when its turn comes; throws HashQueueFullError without running it when the wait would be too long. */
    run: async <T>(hash: () => Promise<T>, owner: string = NOBODY): Promise<T> => enter(owner).run(hash),
    /** Hashes running and waiting (places taken included). */
    load: () => ({ running, waiting: [...lines.values()].reduce((sum, line) => sum + line.length, 0) + heldTotal }),
    busyFor,
  };
}

export type HashQueue = ReturnType<typeof createHashQueue>;
