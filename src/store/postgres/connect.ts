import { createHash } from 'node:crypto';
import pg from 'pg';
import { isPassingPostgresError, isRetryable, isStalePlan, storeError } from './unavailable.ts';

/**
 * Waiting longer than this for a connection (the database unreachable, or every pooled connection
 * busy under load) fails the request with 503 and Retry-After instead of letting requests pile up.
 */
const CONNECT_TIMEOUT_MS = 5_000;
/** A pooled connection unused this long is closed; the pool opens new ones as load comes back. */
const IDLE_TIMEOUT_MS = 30_000;
/**
 * The server cancels a statement running this long. Every statement of the store touches a handful
 * of rows through an index (pruning works in short batches): one this slow means the database is in
 * trouble, and a prompt 503 beats a request held until the member gives up.
 */
const STATEMENT_TIMEOUT_MS = 10_000;
/**
 * A transaction left open this long (an instance stalled between the read and the write of an
 * `update`) is ended by the server, so its row lock cannot hold up other instances.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
/** Attempts at work that a deadlock or serialization failure rolled back whole. */
const ATTEMPTS = 3;
/**
 * Statement texts prepared by name at most; past it a statement goes unnamed. The store's statements
 * are a fixed set (a member's update has a few dozen combinations of columns): this only guards the
 * server's memory against a text that would carry a value.
 */
const NAMED_MAX = 500;

/** One statement with its parameters, on whatever connection the caller holds. */
export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * What the store has sent the server since the pool opened. `statements`: the SQL statements of its
 * work, BEGIN, COMMIT and ROLLBACK left out (what the embedded store's count counts). `roundTrips`:
 * every exchange with the server a request waits for, BEGIN, COMMIT and ROLLBACK included; a
 * statement sent again after a retryable failure counts again. Connecting is not counted: the pool
 * keeps its connections open.
 */
export type Traffic = { statements: number; roundTrips: number };

/** How the store connects. */
export type DatabaseOptions = {
  /** Connections kept at most (DATABASE_POOL_SIZE). */
  poolSize: number;
  /**
   * Statements with parameters are prepared by name, once per connection (DATABASE_PREPARED_STATEMENTS):
   * the server parses and plans each once instead of at every execution. Behind a pooler in
   * transaction mode this needs one that carries prepared statements across its connections
   * (PgBouncer 1.21 or later with `max_prepared_statements`). Off when not given.
   */
  preparedStatements?: boolean;
};

/** The store's way into PostgreSQL: single statements, and transactions on one connection. */
export type Database = {
  /** Runs one statement on a pooled connection; failures that may pass reject with StoreUnavailableError. */
  query: Query;
  /** The same as `query`, for upkeep (health checks, pruning): left out of the traffic counted. */
  upkeep: Query;
  /**
   * Runs `work` in one transaction (committed when it resolves, rolled back when it throws). `begin`
   * opens it: BEGIN, and any statements that must run first, separated by semicolons and sent as one
   * simple query (no parameters): one round trip, each statement after BEGIN counted.
   */
  transaction<T>(work: (query: Query) => Promise<T>, begin?: string): Promise<T>;
  /** The traffic counted so far (a copy). */
  traffic(): Traffic;
  end(): Promise<void>;
};

/**
 * A pool of at most `poolSize` connections to the database `url` names. The store keeps no session
 * state on a connection between transactions but its prepared statements (no session-level locks or
 * settings), so it runs behind a pooler in transaction mode too. A connection that failed in a
 * way that may pass (cut, or left on a read-only standby by a failover) is closed rather than
 * pooled again, so the next statement gets a fresh one: the pool recovers by itself.
 */
export function openDatabase(url: string, options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'jmb-idp',
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
  });
  // An idle connection the server ends (a restart) is dropped by the pool; the error must not
  // reach the process as an unhandled 'error' event. The same for a connection in use, whose
  // statement rejects on its own.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));

  const checkout = async () => {
    try {
      return await pool.connect();
    } catch (error) {
      throw storeError(error);
    }
  };
  // Given an error, the pool closes the connection instead of keeping it.
  const release = (client: pg.PoolClient, error?: unknown) => client.release(isPassingPostgresError(error) ? (error as Error) : undefined);
  const discard = (client: pg.PoolClient, error: unknown) => client.release(error instanceof Error ? error : new Error(String(error)));

  // A statement's name is a digest of its text, with a generation that a schema change moves on.
  const names = new Map<string, string>();
  let generation = 0;
  const nameOf = (text: string, values: unknown[] | undefined): string | undefined => {
    if (!options.preparedStatements || values === undefined) return undefined;
    let name = names.get(text);
    if (name === undefined && names.size < NAMED_MAX) {
      name = `jmb_${generation}_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
      names.set(text, name);
    }
    return name;
  };
  // Without parameters, the simple protocol (BEGIN with its statements, migrations); unnamed otherwise.
  const on = (client: pg.ClientBase): Query => (text, values) => {
    const name = nameOf(text, values);
    return name === undefined ? client.query(text, values) : client.query({ name, text, values });
  };

  const retried = async <T>(work: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (isStalePlan(error)) {
          // A migration changed what a prepared statement returns (its columns' types): the server
          // refused it before running it. Every connection prepares every statement anew, under new
          // names; the old ones go with their connections.
          names.clear();
          generation++;
        }
        if (attempt < ATTEMPTS && (isRetryable(error) || isStalePlan(error))) continue;
        throw storeError(error);
      }
    }
  };

  const traffic: Traffic = { statements: 0, roundTrips: 0 };
  // Counted as sent, whether or not the server then fails the statement: it was a round trip.
  const sent = (statements: number) => {
    traffic.roundTrips++;
    traffic.statements += statements;
  };

  const single = (counted: boolean): Query => <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => retried(async () => {
    const client = await checkout();
    try {
      if (counted) sent(1);
      const result = await on(client)<R>(text, values);
      release(client);
      return result;
    } catch (error) {
      release(client, error);
      throw error;
    }
  });

  return {
    query: single(true),
    upkeep: single(false),
    transaction: (work, begin = 'BEGIN') => retried(async () => {
      const client = await checkout();
      const send = on(client);
      const inTransaction: Query = (text, values) => {
        sent(1);
        return send(text, values);
      };
      try {
        sent(begin.split(';').filter((part) => part.trim()).length - 1);
        await client.query(begin);
        const result = await work(inTransaction);
        sent(0);
        await client.query('COMMIT');
        release(client);
        return result;
      } catch (error) {
        // A broken connection is closed without a ROLLBACK (the server rolls back on its own).
        if (isPassingPostgresError(error)) {
          discard(client, error);
        } else {
          try {
            sent(0);
            await client.query('ROLLBACK');
            release(client);
          } catch (rollbackError) {
            discard(client, rollbackError);
          }
        }
        throw error;
      }
    }),
    traffic: () => ({ ...traffic }),
    end: () => pool.end(),
  };
}

/** The URL without its user name and password, for messages and logs. */
export function redactUrl(url: string): string {
  const parsed = URL.parse(url);
  if (!parsed) return url.replace(/^(postgres(?:ql)?:\/\/)[^@/]*@/, '$1');
  parsed.username = '';
  parsed.password = '';
  parsed.searchParams.delete('password');
  return parsed.toString();
}
