import { pino, type DestinationStream } from 'pino';
import type { LogLevel } from './config/load.ts';
import { redactFields, scrubText } from './log-redaction.ts';

export type LogFields = Record<string, unknown>;

/**
 * A structured logger: one JSON object per line on stdout. Callers pass fields, never secrets; what
 * holds one anyway (a field named for a secret, a JWK's private members, a token or key quoted in an
 * error's message) is redacted at any depth before the line is written (log-redaction.ts).
 */
export type Logger = {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
};

/** A logger that owns its output: `flushSync` writes every line it still holds before it returns. */
export type OwnLogger = Logger & { flushSync(): void };

// POSIX writes at most this long to a pipe land whole, never interleaved with another write.
const PIPE_BUF = 4096;

// Lines wait in the buffer until it holds this much or FLUSH_EVERY_MS has passed: one write for a
// few dozen lines under load, where a write per line cost a thread-pool round trip each.
const BATCH = PIPE_BUF - 512;
const FLUSH_EVERY_MS = 100;

const noop = () => {};

/**
 * Writes lines at or above `level` to `write`, or by default to stdout without waiting for the write.
 * Errors keep their stack only at error level. At `silent` nothing is built and a call costs nothing.
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): OwnLogger {
  if (level === 'silent') return { debug: noop, info: noop, warn: noop, error: noop, flushSync: noop };
  const destination = write ? { write } : stdout();
  const output = pino({
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      // Runs only for a line at an enabled level (pino makes the others no-ops), so the redaction,
      // the costly part of a line, is never paid for a line that is not written.
      logMethod(args, method, levelValue) {
        const [fields, message] = args as unknown as [LogFields, string];
        const stacks = levelValue >= pino.levels.values.error!;
        method.call(this, { msg: scrubText(message), ...redactFields(fields, { stacks }) });
      },
    },
  }, destination);
  const at = (name: Exclude<LogLevel, 'silent'>) => (output.isLevelEnabled(name)
    ? (message: string, fields: LogFields = {}) => output[name](fields, message)
    : noop);
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    flushSync: () => (destination as DestinationStream & { flushSync?: () => void }).flushSync?.(),
  };
}

/**
 * Standard output, written asynchronously: a line is appended to a buffer and the request goes on;
 * the buffer goes to the file descriptor on libuv's thread pool once it holds BATCH bytes, or at the
 * latest FLUSH_EVERY_MS after, one write for all the lines gathered meanwhile. Chosen over a
 * worker-thread transport, which costs the event loop about the same (a little less for a line logged
 * alone, the same when lines come together, as under load) but adds a second V8 isolate, and whose
 * flush on a crash depends on that other thread draining a shared buffer. Here `flushSync` writes what is buffered from the calling
 * thread, and pino calls it on process exit, however the process exits. A chunk already handed to
 * the thread pool at that moment is still written (Node drains the pool before the process ends),
 * possibly after the lines flushed beside it when the pool was busy hashing; chunks of at most
 * PIPE_BUF bytes cannot interleave with them, so every line arrives whole and `time` gives the order.
 */
function stdout() {
  return pino.destination({ dest: 1, sync: false, maxWrite: PIPE_BUF, minLength: BATCH, periodicFlush: FLUSH_EVERY_MS });
}
