import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementResultingChanges } from 'node:sqlite';

/** A row as the store's sections read it. */
export type Row = Record<string, SQLInputValue>;

/** What the store's sections do with a prepared statement: run it with positional parameters. */
export type Statement = {
  run(...params: SQLInputValue[]): StatementResultingChanges;
  get(...params: SQLInputValue[]): Record<string, SQLOutputValue> | undefined;
  all(...params: SQLInputValue[]): Record<string, SQLOutputValue>[];
};

/** Prepares SQL on the store's connection. */
export type Prepare = (sql: string) => Statement;

/** How many statements the store's sections have run since it opened. */
export type StatementTally = { ran: number };

/**
 * `db.prepare`, with every execution of the statement counted in `tally`: the statements the IdP's
 * features cost (health checks, pruning and checkpoints prepare their own and are not counted). A
 * plain addition per statement, so the count can stay on in production.
 */
export function countingPrepare(db: DatabaseSync, tally: StatementTally): Prepare {
  return (sql) => {
    const statement = db.prepare(sql);
    return {
      run(...params) {
        tally.ran++;
        return statement.run(...params);
      },
      get(...params) {
        tally.ran++;
        return statement.get(...params);
      },
      all(...params) {
        tally.ran++;
        return statement.all(...params);
      },
    };
  };
}
