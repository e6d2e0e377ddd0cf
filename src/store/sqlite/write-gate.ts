/**
 * Who may write to the database file next, between the serving thread and the bulk worker, decided
 * in shared memory without either waiting on the other's event loop. SQLite has one writer at a
 * time; without this the serving connection would meet the worker's write lock inside a statement
 * and sleep in SQLite's busy handler, and the whole event loop with it.
 *
 * The serving thread never blocks: when the worker holds the gate it holds its writes back (the
 * event loop goes on) until the worker opens it again. The worker may block (Atomics.wait) until
 * the serving thread's transaction is committed. The worker holds the gate only while its batch
 * runs, so the serving thread's writes wait for the batch itself and not for the worker to be
 * scheduled or for messages to travel.
 */
const OPEN = 0;
const SERVING = 1;
const BULK = 2;

/** The serving thread's side. */
export type WriteGate = {
  /** The shared word, for the worker. */
  readonly buffer: SharedArrayBuffer;
  /** Takes the gate for a transaction of the serving connection; false while the worker holds it. */
  tryEnter(): boolean;
  /** Gives the gate back once the transaction is committed or rolled back. */
  leave(): void;
  /** Calls `then` once the worker has given the gate back (never synchronously). */
  whenOpen(then: () => void): void;
  /** Told when the worker reports (it has given the gate back by then). */
  workerReported(): void;
  /** Told when the worker has stopped: a gate it still held is open again. */
  workerGone(): void;
};

export function createWriteGate(): WriteGate {
  const buffer = new SharedArrayBuffer(4);
  const word = new Int32Array(buffer);
  const waiting: (() => void)[] = [];
  let poll: NodeJS.Timeout | undefined;
  const wake = () => {
    if (Atomics.load(word, 0) === BULK) return;
    if (poll) clearInterval(poll);
    poll = undefined;
    for (const then of waiting.splice(0)) then();
  };
  return {
    buffer,
    tryEnter() {
      const was = Atomics.compareExchange(word, 0, OPEN, SERVING);
      return was === OPEN || was === SERVING;
    },
    leave() {
      if (Atomics.compareExchange(word, 0, SERVING, OPEN) === SERVING) Atomics.notify(word, 0);
    },
    whenOpen(then) {
      waiting.push(then);
      if (Atomics.load(word, 0) !== BULK) {
        queueMicrotask(wake);
        return;
      }
      // The worker's report normally wakes the writes; a short poll covers a worker that stops
      // without one.
      poll ??= setInterval(wake, 5);
    },
    workerReported: wake,
    workerGone() {
      Atomics.compareExchange(word, 0, BULK, OPEN);
      wake();
    },
  };
}

/**
 * The worker's side: takes the gate, waiting while the serving connection's transaction is open, for
 * at most `timeoutMs`. False when it could not.
 */
export function enterAsBulk(buffer: SharedArrayBuffer, timeoutMs: number): boolean {
  const word = new Int32Array(buffer);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const was = Atomics.compareExchange(word, 0, OPEN, BULK);
    if (was === OPEN) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(word, 0, was, left);
  }
}

/** The worker gives the gate back. */
export function leaveAsBulk(buffer: SharedArrayBuffer): void {
  Atomics.compareExchange(new Int32Array(buffer), 0, BULK, OPEN);
}
