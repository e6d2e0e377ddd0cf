import type { LogLevel } from './config/load.ts';

export type LogFields = Record<string, unknown>;

/** A structured logger: one JSON object per line on stdout. Callers pass fields, never secrets. */
export type Logger = {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
};

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Writes lines at or above `level` to `write` (stdout by default). */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const at = (name: Exclude<LogLevel, 'silent'>) => (message: string, fields: LogFields = {}) => {
    if (rank[name] < rank[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: name, msg: message, ...fields }, errorFields)}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

// Errors serialise to their name, message and stack instead of `{}`.
function errorFields(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
