import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StoreUnavailableError, type Store } from '../../src/store/port.ts';
import { openStore } from '../../src/store/open.ts';
import { DatabaseInUseError } from '../../src/store/sqlite/owner-lock.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createManualClock } from './store-contract.ts';

const tempFile = (t: import('ava').ExecutionContext) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-store-upkeep-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'store.db');
};
const minute = 60_000;
// Tiny slices, so that a few hundred rows take many of them.
const slices = { budgetMs: 8, firstBatch: 10, maxBatch: 10, restRatio: 0 };

test('a second serving store on the same file refuses, naming the file and the pid; tools may still open it', async (t) => {
  const file = tempFile(t);
  const clock = createManualClock();
  const serving = openSqliteStore(file, clock, { owner: true });
  t.teardown(() => serving.close());
  const error = t.throws(() => openSqliteStore(file, clock, { owner: true }), { instanceOf: DatabaseInUseError });
  t.is(error!.message.split('\n').length, 1, 'one line');
  t.true(error!.message.includes(file));
  t.true(error!.message.includes(`pid ${process.pid}`));
  t.regex(error!.message, /PostgreSQL/);

  const tool = await openStore(`sqlite:${file}`, { clock });
  await tool.members.create({ id: 'm1', number: '300000001', name: 'Tool', phone: '+819012345678', country: 'JP', status: 'active', passwordHash: 'x', createdAt: new Date(), updatedAt: new Date() });
  await tool.close();
  t.is((await serving.members.findById('m1'))?.name, 'Tool', 'the serving store sees what the tool wrote');

  await serving.close();
  const next = openSqliteStore(file, clock, { owner: true });
  t.teardown(() => next.close());
  t.pass('once the first has closed, the file can be served again');
});

test('a serving process killed with SIGKILL leaves nothing that blocks the next start', async (t) => {
  const file = tempFile(t);
  const script = `import { openSqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite/sqlite-store.ts', import.meta.url).href)};
    const store = openSqliteStore(${JSON.stringify(file)}, Date.now, { owner: true }); console.log('serving');
    setInterval(() => store.kind, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the serving process exited with ${code}`)));
  });
  const refused = t.throws(() => openSqliteStore(file, Date.now, { owner: true }), { instanceOf: DatabaseInUseError });
  t.is(refused!.pid, child.pid, 'the refusal names the serving process');

  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const next = openSqliteStore(file, Date.now, { owner: true });
  t.teardown(() => next.close());
  t.pass();
});

async function fill(store: Store, clock: ReturnType<typeof createManualClock>) {
  const payload = { data: 'x'.repeat(600) };
  for (let i = 0; i < 400; i++) await store.documents.upsert('Session', `old${i}`, payload, new Date(clock() + minute));
  for (let i = 0; i < 30; i++) await store.documents.upsert('Session', `live${i}`, payload, new Date(clock() + 60 * minute));
  await store.documents.upsert('Client', 'forever', payload, undefined);
  for (let i = 0; i < 120; i++) await store.counters.increment(`short${i}`, 60);
  await store.counters.increment('long', 3600);
  for (let i = 0; i < 150; i++) await store.audit.append({ memberId: 'm1', at: new Date(clock() - 500 * 24 * 60 * minute + i), type: 'login', outcome: 'success' });
  await store.audit.append({ memberId: 'm1', at: new Date(clock()), type: 'login', outcome: 'success' });
}

test('pruning in slices deletes everything expired across many short transactions, leaves the rest, and requests are answered between slices', async (t) => {
  const file = tempFile(t);
  const clock = createManualClock();
  const store = openSqliteStore(file, clock, { owner: true, slices });
  t.teardown(() => store.close());
  await fill(store, clock);
  clock.advance(2 * minute);

  let pruned = false;
  const pruning = store.documents.prune().then((count) => {
    pruned = true;
    return count;
  });
  // A request arriving while pruning runs: served between two slices, long before the last.
  await store.documents.upsert('Session', 'during', { a: 1 }, new Date(clock() + minute));
  t.deepEqual(await store.documents.find('Session', 'during'), { a: 1 });
  t.false(pruned, 'the request was answered while pruning was still going');
  t.is(await pruning, 400);

  t.is(await store.counters.prune(), 120);
  t.is(await store.audit.prune(new Date(clock() - 400 * 24 * 60 * minute)), 150);
  for (let i = 0; i < 30; i++) t.truthy(await store.documents.find('Session', `live${i}`));
  t.truthy(await store.documents.find('Client', 'forever'));
  t.is((await store.counters.get('long'))?.count, 1);
  t.is((await store.audit.listForMember('m1', 10)).length, 1, 'the recent audit event stays');
  t.is(await store.documents.prune(), 0);
});

test('pruning that finds the file held by another process (the members tool) waits, tries again and finishes', async (t) => {
  const file = tempFile(t);
  const clock = createManualClock();
  const store = openSqliteStore(file, clock, { owner: true, slices });
  t.teardown(() => store.close());
  await fill(store, clock);
  clock.advance(2 * minute);

  const tool = new DatabaseSync(file);
  t.teardown(() => tool.isOpen && tool.close());
  tool.exec('BEGIN IMMEDIATE');
  tool.exec("INSERT INTO counters (key, count, reset_at) VALUES ('tool', 1, 0)");
  const pruning = store.documents.prune();
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is((tool.prepare("SELECT count(*) AS n FROM documents WHERE id LIKE 'old%'").get() as { n: number }).n, 400, 'nothing pruned while the lock was held');
  tool.exec('COMMIT');
  tool.close();
  t.is(await pruning, 400);
  t.is(await store.documents.prune(), 0);
});

test('closing the store while pruning stops the prune after its current slice, and nothing is lost or half-done', async (t) => {
  const file = tempFile(t);
  const clock = createManualClock();
  const store = openSqliteStore(file, clock, { owner: true, slices: { ...slices, restRatio: 2 } });
  await fill(store, clock);
  clock.advance(2 * minute);
  const pruning = store.documents.prune();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await store.close();
  const pruned = await pruning;
  t.true(pruned < 400, `${pruned} pruned before the close`);

  const db = new DatabaseSync(file, { readOnly: true });
  t.teardown(() => db.close());
  t.is((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  t.is((db.prepare("SELECT count(*) AS n FROM documents WHERE id LIKE 'old%'").get() as { n: number }).n, 400 - pruned, 'every row is either gone or whole');
  t.is((db.prepare("SELECT count(*) AS n FROM documents WHERE id LIKE 'live%'").get() as { n: number }).n, 30);
});

test('space freed by pruning goes back to the file system, a slice at a time', async (t) => {
  const file = tempFile(t);
  const clock = createManualClock();
  const store = openSqliteStore(file, clock, { owner: true, slices });
  await fill(store, clock);
  await store.close();
  const reopened = openSqliteStore(file, clock, { owner: true, slices });
  t.teardown(() => reopened.close());
  const pages = () => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    } finally {
      db.close();
    }
  };
  const before = pages();
  clock.advance(2 * minute);
  await reopened.documents.prune();
  const released = await reopened.reclaimSpace();
  t.true(released > 20, `${released} pages released`);
  t.true(pages() <= before - released, `${pages()} pages after, ${before} before`);
  await reopened.close();
  t.true(statSync(file).size <= (before - released) * 4096, 'the file itself shrank');
});

test('an older file without incremental vacuum is converted once by the serving store', async (t) => {
  const file = tempFile(t);
  const old = new DatabaseSync(file);
  old.exec('PRAGMA auto_vacuum = NONE; CREATE TABLE filler (x); INSERT INTO filler VALUES (1);');
  old.close();
  const tool = await openStore(`sqlite:${file}`);
  await tool.close();
  const mode = () => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return (db.prepare('PRAGMA auto_vacuum').get() as { auto_vacuum: number }).auto_vacuum;
    } finally {
      db.close();
    }
  };
  t.is(mode(), 0, 'a tool leaves the file as it is');
  const serving = openSqliteStore(file, Date.now, { owner: true });
  await serving.close();
  t.is(mode(), 2, 'incremental');
});

test('a full database (size limit reached) refuses writes as StoreUnavailableError, keeps nothing of the failed transaction, and writes again once there is room', async (t) => {
  const file = tempFile(t);
  const clock = createManualClock();
  let connection: DatabaseSync | undefined;
  const store = openSqliteStore(file, clock, { owner: true, connected: (db) => { connection = db; } });
  t.teardown(() => store.close());
  await store.documents.upsert('Session', 'before', { a: 1 }, undefined);
  const { page_count: pages } = connection!.prepare('PRAGMA page_count').get() as { page_count: number };
  connection!.exec(`PRAGMA max_page_count = ${pages}`);

  const big = { data: 'x'.repeat(20_000) };
  // Three requests' writes in one shared transaction; the last one needs room there is not.
  const results = await Promise.allSettled([
    store.members.update('nobody', { name: 'x' }),
    store.counters.increment('k', 60),
    store.documents.upsert('Session', 'big', big, undefined),
  ]);
  t.true(results.every((result) => result.status === 'rejected'), 'every statement of the transaction was refused');
  t.true(results.every((result) => result.status === 'rejected' && result.reason instanceof StoreUnavailableError));
  await t.throwsAsync(store.checkWrites(), { instanceOf: StoreUnavailableError }, 'the write check fails as well');
  t.is(await store.documents.find('Session', 'big'), undefined);
  t.is(await store.counters.get('k'), undefined, 'nothing half-written');
  t.deepEqual(await store.documents.find('Session', 'before'), { a: 1 });

  connection!.exec('PRAGMA max_page_count = 1000000');
  await t.notThrowsAsync(store.checkWrites());
  await store.documents.upsert('Session', 'big', big, undefined);
  t.deepEqual(await store.documents.find('Session', 'big'), big);
  t.deepEqual(connection!.prepare('PRAGMA integrity_check').all().map((row) => row.integrity_check), ['ok']);
});
