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
  /** The line every request ends with, at info: the same line as `info('request', line)`, written without the general walk. */
  request(line: RequestLine): void;
};

/** What the log says of each request (http/error-boundary.ts): never the query, never a header. */
export type RequestLine = { method: string; path: string; status: number; ms: number; ip: string };

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
 * `base` fields (a worker's number) are on every line. Errors keep their stack only at error level.
 * At `silent` nothing is built and a call costs nothing.
 */
export function createLogger(level: LogLevel, write?: (line: string) => void, base?: LogFields): OwnLogger {
  if (level === 'silent') return { debug: noop, info: noop, warn: noop, error: noop, request: noop, flushSync: noop };
  const destination = write ? { write } : stdout();
  const baseFields = base && redactFields(base, { stacks: false });
  const output = pino({
    level,
    base: baseFields,
    timestamp: () => `,"time":"${isoNow()}"`,
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
    request: output.isLevelEnabled('info') ? requestLines(destination, baseFields) : noop,
    flushSync: () => (destination as DestinationStream & { flushSync?: () => void }).flushSync?.(),
  };
}

/**
 * The request line, the one written for every request, formatted directly: byte for byte what pino
 * writes for `info('request', line)` after redaction, at a fraction of the cost. Of its fields only
 * the path comes from the client, and it goes through the same scrubbing as any text.
 */
function requestLines(destination: { write(line: string): unknown }, base: LogFields | undefined): (line: RequestLine) => void {
  const head = '{"level":"info","time":"';
  const tail = `"${base ? `,${JSON.stringify(base).slice(1, -1)}` : ''},"msg":"request","method":`;
  return ({ method, path, status, ms, ip }) => {
    destination.write(`${head}${isoNow()}${tail}${JSON.stringify(method)},"path":${JSON.stringify(scrubText(path))},` +
      `"status":${JSON.stringify(status)},"ms":${JSON.stringify(ms)},"ip":${JSON.stringify(ip)}}\n`);
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

// The time of a line as toISOString writes it, which cost a sixth of the log's time under load: the
// date, hour and minute are formatted once a minute, the seconds and milliseconds every line.
let minuteStart = 0;
let minutePrefix = '';
/** `new Date().toISOString()`, for the years 0 to 9999. */
export function isoNow(now = Date.now()): string {
  const intoMinute = now - minuteStart;
  if (intoMinute < 0 || intoMinute >= 60_000) {
    minuteStart = now - (((now % 60_000) + 60_000) % 60_000);
    minutePrefix = new Date(minuteStart).toISOString().slice(0, 17);
    return isoNow(now);
  }
  const seconds = Math.floor(intoMinute / 1000);
  const millis = intoMinute % 1000;
  return `${minutePrefix}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
