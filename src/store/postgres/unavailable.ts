import { StoreUnavailableError } from '../port.ts';

/**
 * SQLSTATE codes and classes for "not now": the connection lost or refused, the server shutting down
 * or starting (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), a read-only
 * transaction (25006: a failover left this connection on a standby), insufficient resources (class
 * 53: 53100 disk full, 53200 out of memory, 53300 too many connections), a statement cancelled by
 * statement_timeout (57014) or a lock not granted in time (55P03), an idle transaction ended by the
 * server (25P03), a system or I/O error (class 58), and serialization failures and deadlocks (40001,
 * 40P01), which the store retries a few times before giving up.
 */
const PASSING_CODES: ReadonlySet<string> = new Set(['25006', '25P03', '40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '57P05']);
const PASSING_CLASSES: ReadonlySet<string> = new Set(['08', '53', '58']);

/** Node's socket errors: nothing answers, the connection was cut, the name does not resolve yet. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH',
  'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT',
]);

/** node-postgres's own errors without a code: the server went away, or no connection came in time. */
const DRIVER_MESSAGES = /^(Connection terminated|Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Query read timeout)$/;

/** A transaction that failed this way had no effect, and the same work may simply run again. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['40001', '40P01']);

/** How long a client should wait: about a restart or a managed failover. */
const RETRY_AFTER_SECONDS = 10;

/** True when a PostgreSQL or driver error means the statement may succeed later. */
export function isPassingPostgresError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(code)) return PASSING_CODES.has(code) || PASSING_CLASSES.has(code.slice(0, 2));
    if (NETWORK_CODES.has(code)) return true;
  }
  return DRIVER_MESSAGES.test(error.message);
}

/** True when the failed work was rolled back whole and may run again at once (a deadlock, a serialization failure). */
export function isRetryable(error: unknown): boolean {
  return RETRYABLE_CODES.has(String((error as { code?: unknown } | undefined)?.code));
}

/**
 * True when the server refused to run a prepared statement because a schema change altered the type
 * of what it returns (0A000, "cached plan must not change result type"): nothing ran, and the
 * statement prepared anew succeeds.
 */
export function isStalePlan(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

/** The error a store caller sees for an error from node-postgres: StoreUnavailableError where it may pass. */
export function storeError(error: unknown): unknown {
  if (!isPassingPostgresError(error)) return error;
  return new StoreUnavailableError(`PostgreSQL cannot take this now: ${(error as Error).message}`, { cause: error, retryAfter: RETRY_AFTER_SECONDS });
}
