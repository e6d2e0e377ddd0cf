import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/store/open.ts';
import { StoreUnavailableError, storeUnavailable, type Store } from '../../src/store/port.ts';
import { freePort } from '../helpers/ports.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';
import { createManualClock } from './store-contract.ts';

const minute = 60_000;

/** Tries `step` until it succeeds (the database is back), within a generous deadline. */
async function eventually<T>(step: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Every kind of store call a request makes, each expected to fail the way a request turns into 503. */
function callsOf(store: Store, clock: () => number) {
  return {
    read: () => store.documents.find('Session', 's1'),
    write: () => store.documents.upsert('Session', 's2', { uid: 'u2' }, new Date(clock() + minute)),
    consume: () => store.documents.consume('AuthorizationCode', 'c1'),
    update: () => store.documents.update('MemberSession', 'm1/list', (current) => ({ payload: { n: ((current?.n as number) ?? 0) + 1 }, expiresAt: undefined })),
    increment: () => store.counters.increment('k', 60),
    checkWrites: () => store.checkWrites(),
  };
}

// Each test stops, restarts or changes the whole cluster, so they run one at a time.
withPostgres('PostgreSQL faults', () => {
  const cluster = sharedCluster();

  test.serial('while the database is down every store call fails as unavailable; once it is back the same store works again, without a restart', async (t) => {
    const url = await cluster().createDatabase();
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: true, poolSize: 3 });
    t.teardown(() => store.close());
    await store.documents.upsert('Session', 's1', { uid: 'u1' }, new Date(clock() + minute));
    await store.documents.upsert('AuthorizationCode', 'c1', { grantId: 'g1' }, new Date(clock() + minute));
    await Promise.all([store.ping(), store.ping(), store.ping()]);

    await cluster().halt();
    for (const [name, call] of Object.entries(callsOf(store, clock))) {
      const error = await t.throwsAsync(call(), undefined, name);
      t.true(storeUnavailable(error) instanceof StoreUnavailableError, `${name}: ${error?.message}`);
      t.true(storeUnavailable(error)!.retryAfter > 0);
    }

    await cluster().resume();
    await eventually(() => store.checkWrites());
    t.deepEqual(await store.documents.find('Session', 's1'), { uid: 'u1' }, 'what was written before is there');
    t.true(await store.documents.consume('AuthorizationCode', 'c1'), 'the code was never consumed by a failed call');
    for (const [name, call] of Object.entries(callsOf(store, clock))) await t.notThrowsAsync(call(), name);
  });

  test.serial('the server ending every connection (a restart, a failover) costs at most the statements in flight; the pool reconnects by itself', async (t) => {
    const url = await cluster().createDatabase();
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: true, poolSize: 3 });
    t.teardown(() => store.close());
    await Promise.all([store.ping(), store.ping(), store.ping()]);
    await cluster().sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [new URL(url).pathname.slice(1)]);
    // A pooled connection ended while idle is dropped; one ended mid-way fails its statement as unavailable.
    for (let i = 0; i < 5; i++) {
      await store.counters.increment('after-restart', 60).catch((error: unknown) => {
        t.true(storeUnavailable(error) instanceof StoreUnavailableError, String(error));
      });
    }
    t.true((await store.counters.increment('after-restart', 60)).count >= 1);
  });

  test.serial('a pool left on a read-only standby answers reads, refuses writes as unavailable, and writes again once the database is writable', async (t) => {
    const url = await cluster().createDatabase();
    const name = new URL(url).pathname.slice(1);
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: true, poolSize: 3 });
    t.teardown(() => store.close());
    await store.documents.upsert('Session', 's1', { uid: 'u1' }, new Date(clock() + minute));

    // As after a failover that left the pool on a standby: every new connection is read-only.
    await cluster().sql(`ALTER DATABASE ${name} SET default_transaction_read_only = on`);
    await cluster().sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    const readOnly = await eventually(async () => {
      const error = await store.checkWrites().then(() => undefined, (failure: unknown) => failure);
      if ((error as { cause?: { code?: string } } | undefined)?.cause?.code !== '25006') throw new Error(`not read-only yet: ${error}`);
      return error;
    });
    t.true(readOnly instanceof StoreUnavailableError);
    const calls = callsOf(store, clock);
    for (const write of ['write', 'consume', 'update', 'increment'] as const) {
      const error = await t.throwsAsync(calls[write]());
      t.true(error instanceof StoreUnavailableError, `${write}: ${error?.message}`);
    }
    t.deepEqual(await store.documents.find('Session', 's1'), { uid: 'u1' }, 'reads still work');

    await cluster().sql(`ALTER DATABASE ${name} RESET default_transaction_read_only`);
    await eventually(() => store.checkWrites());
    for (const [call, run] of Object.entries(calls)) await t.notThrowsAsync(run(), call);
  });

  test('a database nobody answers at fails to open with a clear reason, without the password', async (t) => {
    const port = await freePort();
    const error = await t.throwsAsync(openStore(`postgres://jmb:secret@127.0.0.1:${port}/jmb_idp`, { ensureIndexes: false }));
    t.regex(error!.message, new RegExp(`^cannot connect to PostgreSQL at postgres://127\\.0\\.0\\.1:${port}/jmb_idp: .*ECONNREFUSED`));
    t.notRegex(error!.message, /secret/);
  });
});
