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

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Writes lines at or above `level` to `write` (stdout by default). Errors keep their stack only at error level. */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const at = (name: Exclude<LogLevel, 'silent'>) => (message: string, fields: LogFields = {}) => {
    if (rank[name] < rank[level]) return;
    const redacted = redactFields(fields, { stacks: name === 'error' });
    write(`${JSON.stringify({ time: new Date().toISOString(), level: name, msg: scrubText(message), ...redacted })}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
