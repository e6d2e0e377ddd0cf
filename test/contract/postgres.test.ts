import test from 'ava';
import pg from 'pg';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/port.ts';
import { PRUNE_AUDIT } from '../../src/store/postgres/postgres-audit.ts';
import { PRUNE_COUNTERS } from '../../src/store/postgres/postgres-counters.ts';
import { openDatabase } from '../../src/store/postgres/connect.ts';
import { BOUNDED_WRITE, DOCUMENT_QUERIES, endOfPrefix } from '../../src/store/postgres/postgres-documents.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';
import { SIGN_IN_KINDS, createManualClock, registerStoreContract } from './store-contract.ts';

const minute = 60_000;

// The whole store contract on a real PostgreSQL: a private cluster for this file, a fresh database
// for each test, migrated as the IdP migrates it outside production, its statements prepared by name
// as the IdP prepares them (DATABASE_PREPARED_STATEMENTS=on, the default).
withPostgres('PostgreSQL contract suite', () => {
  const cluster = sharedCluster();
  registerStoreContract('postgres', async () => {
    const url = await cluster().createDatabase();
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: true, signInKinds: SIGN_IN_KINDS, poolSize: 4, preparedStatements: true });
    return { store, clock, bounded: 'SignInInProgress' };
  });

  const open = async (t: import('ava').ExecutionContext, options: { icuLocale?: string } = {}) => {
    const url = await cluster().createDatabase(options);
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: true, poolSize: 2, preparedStatements: true });
    t.teardown(() => store.close());
    return { store, clock, url };
  };

  test('postgres: strings with U+0000 and U+E000 survive in ids, payloads, keys and member fields, and prefixes still match', async (t) => {
    const { store, clock } = await open(t);
    const odd = 'a\u0000b\uE000c\uE0000\\u0000"';
    const payload = { state: odd, [odd]: [odd, { nested: `\\${odd}` }], plain: 'x' };
    const expires = new Date(clock() + minute);
    await store.documents.upsert('Interaction', `i/${odd}`, payload, expires);
    await store.documents.upsert('Interaction', 'i/\uE000', { n: 1 }, expires);
    await store.documents.upsert('Interaction', 'i/\uE001', { n: 2 }, expires);
    await store.documents.upsert('Session', 's1', { uid: odd }, expires);
    t.deepEqual(await store.documents.find('Interaction', `i/${odd}`), payload);
    t.deepEqual(await store.documents.findByUid('Session', odd), { uid: odd });
    t.deepEqual((await store.documents.listByIdPrefix('Interaction', 'i/a\u0000', 10)).map((found) => found.id), [`i/${odd}`]);
    t.deepEqual((await store.documents.listByIdPrefix('Interaction', 'i/\uE000', 10)).map((found) => found.id), ['i/\uE000']);
    t.deepEqual((await store.documents.listByIdPrefix('Interaction', 'i/', 10)).map((found) => found.id), [`i/${odd}`, 'i/\uE000', 'i/\uE001']);
    t.is((await store.counters.increment(`number:1\u0000`, 60)).count, 1);
    t.is((await store.counters.increment(`number:1\u0000`, 60)).count, 2);
    t.is((await store.counters.get('number:1')), undefined, 'a key with U+0000 is its own key');
    const member = { id: 'm\u0000', number: '1\u0000', name: odd, phone: '+81', country: 'JP', status: 'active' as const, passwordHash: 'h', createdAt: new Date(clock()), updatedAt: new Date(clock()) };
    await store.members.create(member);
    t.deepEqual(await store.members.findByNumber('1\u0000'), { ...member, deviceGeneration: 0 });
    await store.audit.append({ memberId: 'm\u0000', at: new Date(clock()), type: 'login', outcome: 'failure', userAgent: odd, detail: { reason: odd } });
    t.deepEqual((await store.audit.listForMember('m\u0000', 1))[0]?.detail, { reason: odd });
  });

  test('postgres: ids are listed in code point order whatever collation the database has', async (t) => {
    const { store, clock } = await open(t, { icuLocale: 'en-US' });
    const ids = ['m1/B', 'm1/a', 'm1/_', 'm1/Z', 'm1/é', 'm1/😀', 'm1/\uFFFF', 'm1', 'm10/a', 'm1.x'];
    for (const id of ids) await store.documents.upsert('MemberSession', id, { id }, new Date(clock() + minute));
    const expected = ids.filter((id) => id.startsWith('m1/')).sort((a, b) => (codePoints(a) < codePoints(b) ? -1 : 1));
    t.deepEqual((await store.documents.listByIdPrefix('MemberSession', 'm1/', 20)).map((found) => found.id), expected);
  });

  test('postgres: every look-up, listing and prune batch is served by an index, never a table scan', async (t) => {
    const { url } = await open(t);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    t.teardown(() => client.end());
    // With sequential scans priced out, a plan still shows one only where no index can serve the query.
    await client.query('SET enable_seqscan = off');
    const now = new Date().toISOString();
    const plans: [string, string, unknown[], RegExp][] = [
      ['find', DOCUMENT_QUERIES.find, ['Session', 's1', now], /documents_pkey/],
      ['findByUid', DOCUMENT_QUERIES.findByUid, ['Session', 'u1', now], /documents_uid/],
      ['findByUserCode', DOCUMENT_QUERIES.findByUserCode, ['DeviceCode', 'ABCD', now], /documents_user_code/],
      ['revokeByGrantId', DOCUMENT_QUERIES.revokeByGrantId, ['AccessToken', 'g1'], /documents_grant/],
      ['listByIdPrefix', DOCUMENT_QUERIES.listByIdPrefix, ['MemberSession', 'm1/', now, endOfPrefix('m1/'), 10], /Index Cond: \(\(kind = .*\) AND \(id >= .*\) AND \(id < .*\)\)/],
      ['pruneBatch', DOCUMENT_QUERIES.pruneBatch, [now, 500], /documents_expiry/],
      ['prune counters', PRUNE_COUNTERS, [now, 500], /counters_reset/],
      ['prune audit', PRUNE_AUDIT, [now, 500], /audit_time/],
    ];
    for (const [name, sql, values, index] of plans) {
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, values)).rows.map((row) => row['QUERY PLAN']).join('\n');
      t.notRegex(plan, /Seq Scan/, `${name}:\n${plan}`);
      t.regex(plan, index, `${name}:\n${plan}`);
    }
  });

  test('postgres: a document of a bounded kind written again walks no share; one that arrives walks its owner\'s', async (t) => {
    const { url } = await open(t);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    t.teardown(() => client.end());
    const later = new Date(Date.now() + minute).toISOString();
    const write = async (id: string, owner: string) => {
      // EXPLAIN ANALYZE runs the statement: in a transaction rolled back, it changes nothing.
      await client.query('BEGIN');
      try {
        const { rows } = await client.query<{ 'QUERY PLAN': unknown }>('EXPLAIN (ANALYZE, FORMAT JSON) ' + BOUNDED_WRITE,
          ['Interaction', id, '{}', null, null, null, later, owner, 999, new Date().toISOString()]);
        return rowsWalked(rows[0]!['QUERY PLAN']);
      } finally {
        await client.query('ROLLBACK');
      }
    };
    // One network holding 200 sign-ins among a thousand networks holding one each.
    await client.query(`INSERT INTO documents (kind, id, payload, expires_at, owner, written)
      SELECT 'Interaction', 'i' || g, '{}', $1, CASE WHEN g <= 200 THEN '192.0.2.66' ELSE 'n' || g END, nextval('documents_written')
      FROM generate_series(1, 1200) g`, [later]);
    await client.query('ANALYZE documents');
    t.true(await write('i7', '192.0.2.66') < 10, 'a sign-in\'s next step counts no share again');
    t.true(await write('new', '192.0.2.66') >= 200, 'an arrival counts its owner\'s share');
    t.true(await write('other', '203.0.113.1') < 10, 'and no other owner\'s');
  });

  test('postgres: the statements and round trips of the IdP\'s work are counted, health checks and pruning are not', async (t) => {
    const { store, clock } = await open(t);
    t.deepEqual([store.statementsRun?.(), store.roundTripsRun?.()], [0, 0], 'opening and migrating are not counted');
    const counted = async (work: () => Promise<unknown>) => {
      const before = [store.statementsRun!(), store.roundTripsRun!()];
      await work();
      return [store.statementsRun!() - before[0]!, store.roundTripsRun!() - before[1]!];
    };
    const expires = new Date(clock() + minute);
    t.deepEqual(await counted(() => store.documents.upsert('Session', 's1', { n: 1 }, expires)), [1, 1]);
    t.deepEqual(await counted(() => store.documents.find('Session', 's1')), [1, 1]);
    // No transaction: the read (which would have made the document, had there been none), then the
    // write if the document is still as read.
    t.deepEqual(await counted(() => store.documents.update('Session', 's1', (current) => ({ payload: { n: Number(current?.n) + 1 }, expiresAt: expires }))), [2, 2]);
    t.deepEqual(await store.documents.find('Session', 's1'), { n: 2 });
    // A document new to the store is made by the first statement; a change that writes nothing only reads.
    t.deepEqual(await counted(() => store.documents.update('Session', 's2', (current) => ({ payload: { n: Number(current?.n ?? 0) + 1 }, expiresAt: expires }))), [1, 1]);
    t.deepEqual(await store.documents.find('Session', 's2'), { n: 1 });
    t.deepEqual(await counted(() => store.documents.update('Session', 's1', () => undefined)), [1, 1]);
    t.deepEqual(await counted(async () => {
      await store.ping();
      await store.checkWrites();
      clock.advance(2 * minute);
      await store.documents.prune();
      await store.counters.prune();
      await store.audit.prune(new Date(clock()));
    }), [0, 0], 'upkeep is not the IdP\'s work');
  });

  test('postgres: statements are prepared once per connection by name, or not at all with DATABASE_PREPARED_STATEMENTS=off', async (t) => {
    const url = await cluster().createDatabase();
    for (const preparedStatements of [true, false]) {
      const db = openDatabase(url, { poolSize: 1, preparedStatements });
      t.teardown(() => db.end());
      for (let i = 0; i < 3; i++) t.is((await db.query<{ n: number }>('SELECT $1::int AS n', [i])).rows[0]?.n, i);
      // Without parameters: the simple protocol, never prepared; on the pool's one connection.
      const { rows } = await db.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements');
      t.deepEqual(rows.map((row) => row.statement), preparedStatements ? ['SELECT $1::int AS n'] : [], `prepared statements ${preparedStatements ? 'on' : 'off'}`);
    }
  });

  test('postgres: a schema step that adds a column or changes a column\'s type leaves the statements prepared before it working', async (t) => {
    const { store, clock, url } = await open(t);
    const member = { id: 'm1', number: '100', name: 'Hana', phone: '+81', country: 'JP', status: 'active' as const, passwordHash: 'h', createdAt: new Date(clock()), updatedAt: new Date(clock()) };
    await store.members.create(member);
    // Each read prepared on both pooled connections.
    await Promise.all([store.members.findById('m1'), store.members.findById('m1'), store.passkeys.listForMember('m1')]);
    // What a release's schema step may do while the release before it still serves (add first).
    await cluster().sql('ALTER TABLE members ADD COLUMN nickname text', [], url);
    t.deepEqual(await store.members.findById('m1'), { ...member, deviceGeneration: 0 });
    await cluster().sql('ALTER TABLE passkeys ADD COLUMN label text', [], url);
    t.deepEqual(await store.passkeys.listForMember('m1'), []);
    // The server refuses a prepared statement whose result changed type ("cached plan must not change
    // result type"); nothing ran, and the store prepares it anew.
    await cluster().sql('ALTER TABLE members ALTER COLUMN name TYPE varchar(200)', [], url);
    const [first, second] = await Promise.all([store.members.findById('m1'), store.members.findById('m1')]);
    t.deepEqual([first?.name, second?.name], ['Hana', 'Hana']);
    t.is((await store.members.update('m1', { name: 'Hana K.' }))?.name, 'Hana K.');
  });

  test('postgres: the end of a prefix bounds exactly the strings that start with it', (t) => {
    t.is(endOfPrefix('m1/'), 'm10');
    t.is(endOfPrefix('a\uD7FF'), 'a\uE000');
    t.is(endOfPrefix('a\u{10FFFF}'), 'b');
    t.is(endOfPrefix('\u{10FFFF}\u{10FFFF}'), undefined);
    t.is(endOfPrefix(''), undefined);
  });

  test('postgres: pruning deletes in short batches, skips rows a request holds, and leaves the live ones', async (t) => {
    const url = await cluster().createDatabase();
    const clock = createManualClock();
    const store = await openStore(url, { clock, ensureIndexes: true, poolSize: 2 });
    t.teardown(() => store.close());
    // Every statement of the pruning store's connections is logged, to count its batches.
    await cluster().sql(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET log_statement = 'all'`);
    const batched: Store = await openPostgresStore(url, clock, { migrate: false, poolSize: 2, pruneBatch: { size: 50, pauseMs: 0 } });
    t.teardown(() => batched.close());
    for (let i = 0; i < 230; i++) await store.documents.upsert('Session', `old${i}`, { i }, new Date(clock() + minute));
    for (let i = 0; i < 20; i++) await store.documents.upsert('Session', `live${i}`, { i }, new Date(clock() + 60 * minute));
    await store.documents.upsert('Client', 'forever', {}, undefined);
    for (let i = 0; i < 120; i++) await store.counters.increment(`short${i}`, 60);
    await store.counters.increment('long', 3600);
    for (let i = 0; i < 130; i++) await store.audit.append({ memberId: 'm1', at: new Date(clock() - 500 * 24 * 60 * minute + i), type: 'login', outcome: 'success' });
    await store.audit.append({ memberId: 'm1', at: new Date(clock()), type: 'login', outcome: 'success' });
    clock.advance(2 * minute);

    // A request's transaction holds one expired row: pruning passes it by instead of waiting for it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    t.teardown(() => holder.end());
    await holder.query('BEGIN');
    await holder.query("SELECT 1 FROM documents WHERE kind = 'Session' AND id = 'old7' FOR UPDATE");
    const logBefore = cluster().log().length;
    t.is(await batched.documents.prune(), 229);
    const statements = cluster().log().slice(logBefore).match(/WITH expired AS/g)?.length ?? 0;
    t.is(statements, 5, 'batches of 50: four full ones and the last');
    await holder.query('ROLLBACK');
    t.is(await batched.documents.prune(), 1, 'the next round takes the row once it is free');

    t.is(await batched.counters.prune(), 120);
    t.is(await batched.audit.prune(new Date(clock() - 400 * 24 * 60 * minute)), 130);
    t.is((await store.documents.listByIdPrefix('Session', 'live', 100)).length, 20);
    t.deepEqual(await store.documents.find('Client', 'forever'), {});
    t.is((await store.counters.get('long'))?.count, 1);
    t.is((await store.audit.listForMember('m1', 10)).length, 1);
    t.is(await store.reclaimSpace(), 0, 'autovacuum manages the space');
  });
});

/** Rows the plan's scans of tables and indexes returned, summed over every scan. */
function rowsWalked(plan: unknown): number {
  let rows = 0;
  const visit = (node: Record<string, unknown>) => {
    if (/^(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan)$/.test(String(node['Node Type']))) rows += Number(node['Actual Rows']) * Number(node['Actual Loops']);
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  for (const entry of plan as { Plan: Record<string, unknown> }[]) visit(entry.Plan);
  return rows;
}

function codePoints(text: string): string {
  return [...text].map((character) => character.codePointAt(0)!.toString(16).padStart(6, '0')).join('');
}
