import type { OwnLogger } from './log.ts';

/**
 * The last resort for an error nothing else caught (a throw in a timer, a promise nobody awaited):
 * one line at error level through the redacting logger, written out before `exit(1)` (main.ts's exit
 * also writes out what the request log still holds). Node's own report would print the error as it
 * is, with its cause: oidc-provider attaches the whole private key to a key error.
 */
export function exitOnUncaughtErrors(logger: OwnLogger, exit: (code: number) => void = (code) => process.exit(code)): void {
  // An unhandled rejection (and a rejected top-level await) reaches uncaughtException, its origin named.
  process.on('uncaughtException', (thrown: unknown, origin) => {
    const error = thrown instanceof Error ? thrown : Object.assign(new Error('a value that is not an Error was thrown'), { cause: thrown });
    try {
      logger.error('the IdP stopped on an error nothing caught', { origin, error });
      logger.flushSync();
    } finally {
      exit(1);
    }
  });
}
