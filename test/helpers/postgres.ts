/**
 * PostgreSQL in the tests: a test file registers its tests only where a private cluster can run
 * (postgres-cluster.ts), and shares one cluster among them. Each test gets a database of its own.
 */
import test from 'ava';
import { postgresMissing, startPostgres, type PostgresCluster } from './postgres-cluster.ts';

export { postgresBin, postgresMissing, startPostgres, type PostgresCluster } from './postgres-cluster.ts';

/**
 * Calls `register` (which registers the tests that need PostgreSQL) when a private cluster can run
 * here; otherwise registers one test titled `title` that says why: skipped, or failed when
 * TEST_REQUIRE_POSTGRES is set (CI, where these tests must run).
 */
export function withPostgres(title: string, register: () => void): void {
  const missing = postgresMissing();
  if (!missing) {
    register();
  } else if (process.env.TEST_REQUIRE_POSTGRES) {
    test(title, (t) => t.fail(`TEST_REQUIRE_POSTGRES is set but ${missing}`));
  } else {
    test.skip(`${title}: skipped, ${missing}`, () => {});
  }
}

/**
 * One private cluster for the test file, started before its first test and stopped after its last
 * (whether or not they passed). Call at the top level of a test file, inside `withPostgres`, before
 * registering any `test.serial.before` hook that uses it.
 */
export function sharedCluster(): () => PostgresCluster {
  let cluster: PostgresCluster | undefined;
  // Serial, so that it runs before the file's own `test.serial.before` hooks, which use it.
  test.serial.before(async () => {
    cluster = await startPostgres();
  });
  test.after.always(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster did not start');
    return cluster;
  };
}

