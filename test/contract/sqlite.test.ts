import test from 'ava';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStore } from '../../src/store/open.ts';
import { createMemoryDocuments } from '../../src/store/memory-documents.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { migrate } from '../../src/store/sqlite/schema.ts';
import { SIGN_IN_KINDS, createManualClock, registerStoreContract } from './store-contract.ts';

const tempFile = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-store-contract-'));
  return { file: path.join(dir, 'store.db'), remove: async () => rmSync(dir, { recursive: true, force: true }) };
};

registerStoreContract('sqlite file', async () => {
  const clock = createManualClock();
  const { file, remove } = tempFile();
  return { store: await openStore(`sqlite:${file}`, { clock, signInKinds: SIGN_IN_KINDS }), clock, dispose: remove, bounded: 'SignInInProgress' };
});

// SQLITE_SYNCHRONOUS=full: every answer waits for the WAL flush; the contract holds the same.
registerStoreContract('sqlite file, synchronous full', async () => {
  const clock = createManualClock();
  const { file, remove } = tempFile();
  return { store: openSqliteStore(file, clock, { synchronous: 'full' }), clock, dispose: remove };
});

registerStoreContract('sqlite :memory:', async () => {
  const clock = createManualClock();
  return { store: await openStore('sqlite::memory:', { clock }), clock };
});

const schemaVersion = (file: string) => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  } finally {
    db.close();
  }
};

test('sqlite file: two stores on the same file see each other\'s writes', async (t) => {
  const { file, remove } = tempFile();
  const clock = createManualClock();
  const first = await openStore(`sqlite:${file}`, { clock });
  const second = await openStore(`sqlite:${file}`, { clock });
  t.teardown(async () => {
    await first.close();
    await second.close();
    await remove();
  });
  await first.documents.upsert('Session', 's1', { uid: 'u1' }, undefined);
  t.deepEqual(await second.documents.findByUid('Session', 'u1'), { uid: 'u1' });
  t.is((await second.counters.increment('k', 60)).count, 1);
  t.is((await first.counters.increment('k', 60)).count, 2);
});

test('sqlite file: the schema version and the data survive a reopen', async (t) => {
  const { file, remove } = tempFile();
  t.teardown(remove);
  const clock = createManualClock();
  const first = await openStore(`sqlite:${file}`, { clock });
  await first.documents.upsert('Client', 'c1', { client_id: 'c1' }, undefined);
  await first.close();
  const version = schemaVersion(file);
  t.true(version >= 1);

  const reopened = await openStore(`sqlite:${file}`, { clock });
  t.teardown(() => reopened.close());
  t.is(schemaVersion(file), version);
  t.deepEqual(await reopened.documents.find('Client', 'c1'), { client_id: 'c1' });
});

test('sqlite file: a database of schema version 2 keeps every document, with its state, when migrated', async (t) => {
  const { file, remove } = tempFile();
  t.teardown(remove);
  const clock = createManualClock();
  const old = new DatabaseSync(file);
  migrate(old, 2);
  const insert = old.prepare('INSERT INTO documents (kind, id, payload, grant_id, uid, user_code, consumed_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const later = clock() + 60_000;
  insert.run('Session', 's1', JSON.stringify({ uid: 'u1', accountId: 'm1' }), null, 'u1', null, null, later);
  insert.run('AuthorizationCode', 'c1', JSON.stringify({ grantId: 'g1' }), 'g1', null, null, 1_700_000_000, later);
  insert.run('AccessToken', 'a1', JSON.stringify({ grantId: 'g1' }), 'g1', null, null, null, later);
  insert.run('DeviceCode', 'd1', JSON.stringify({ userCode: 'ABCD' }), null, null, 'ABCD', null, later);
  insert.run('Grant', 'gone', JSON.stringify({}), null, null, null, null, clock() - 1);
  old.close();

  const store = await openStore(`sqlite:${file}`, { clock });
  t.teardown(() => store.close());
  t.true(schemaVersion(file) >= 3);
  t.deepEqual(await store.documents.findByUid('Session', 'u1'), { uid: 'u1', accountId: 'm1' });
  t.deepEqual(await store.documents.find('AuthorizationCode', 'c1'), { grantId: 'g1', consumed: 1_700_000_000 }, 'a consumed code stays consumed');
  t.false(await store.documents.consume('AuthorizationCode', 'c1'));
  t.deepEqual(await store.documents.findByUserCode('DeviceCode', 'ABCD'), { userCode: 'ABCD' });
  t.is(await store.documents.find('Grant', 'gone'), undefined);
  t.is(await store.documents.prune(), 1, 'the expiry index came along');
  await store.documents.revokeByGrantId('AccessToken', 'g1');
  t.is(await store.documents.find('AccessToken', 'a1'), undefined);
  await store.documents.upsert('Session', 's1', { uid: 'u2' }, new Date(later));
  t.deepEqual(await store.documents.find('Session', 's1'), { uid: 'u2' }, 'writing the same key replaces the document');
  t.is(await store.documents.findByUid('Session', 'u1'), undefined);
});

test('sqlite file: members stored before device generations existed are at generation 0 after the migration', async (t) => {
  const { file, remove } = tempFile();
  t.teardown(remove);
  const clock = createManualClock();
  const old = new DatabaseSync(file);
  migrate(old, 4);
  old.prepare(`INSERT INTO members (id, number, name, phone, country, status, password_hash, created_at, updated_at)
    VALUES ('m1', '300000001', 'Taro', '+819012345678', 'JP', 'active', 'scrypt$x', 1, 2)`).run();
  old.close();

  const store = await openStore(`sqlite:${file}`, { clock });
  t.teardown(() => store.close());
  t.is((await store.members.findById('m1'))?.deviceGeneration, 0);
  t.is((await store.members.update('m1', { nextDeviceGeneration: true }))?.deviceGeneration, 1);
});

test('sqlite file: closing commits the writes still waiting for their turn to end, and they resolve', async (t) => {
  const { file, remove } = tempFile();
  t.teardown(remove);
  const clock = createManualClock();
  const store = await openStore(`sqlite:${file}`, { clock });
  const pending = store.documents.upsert('Session', 's1', { uid: 'u1' }, undefined);
  await store.close();
  await t.notThrowsAsync(pending);
  await t.throwsAsync(store.documents.upsert('Session', 's2', {}, undefined), undefined, 'a closed store refuses writes');

  const reopened = await openStore(`sqlite:${file}`, { clock });
  t.teardown(() => reopened.close());
  t.deepEqual(await reopened.documents.find('Session', 's1'), { uid: 'u1' });
});

test('sqlite file: under steady writes the WAL keeps starting over instead of growing, and nothing is lost', async (t) => {
  const { file, remove } = tempFile();
  t.teardown(remove);
  const clock = createManualClock();
  // Checkpoints every 20 ms, the WAL starting over once it holds 256 pages (1 MiB) and cut back to
  // 4 MiB when it does. Without the restart, everything written below (over 30 MiB) would pile up in it.
  // Each time the WAL starts over, SQLite counts it in the WAL header (its checkpoint sequence
  // number): the test writes until it has seen three of them, however long a busy machine makes it.
  const store = openSqliteStore(file, clock, { checkpoints: { everyMs: 20, restartPages: 256 } });
  const payload = { data: 'x'.repeat(4000) };
  const started = Date.now();
  let written = 0;
  let restarts = 0;
  let sizeAfterRestart = 0;
  let sequence = walSequence(file);
  for (;;) {
    for (let i = 0; i < 25; i++) await store.documents.upsert('Session', `s${written++}`, payload, undefined);
    await new Promise((resolve) => setImmediate(resolve));
    const now = walSequence(file);
    // (-1: no WAL yet; its creation is not a restart)
    const restartedInBatch = sequence !== -1 && now !== sequence;
    if (restartedInBatch) {
      restarts += 1;
      sizeAfterRestart = statSync(`${file}-wal`).size;
    }
    sequence = now;
    if ((written >= 8000 && restarts >= 3 && restartedInBatch) || Date.now() - started > 60_000) break;
  }
  await store.close();
  t.true(restarts >= 3, `the WAL started over ${restarts} times in ${written} writes`);
  // Cut back to 4 MiB when it starts over, plus the batch written since.
  t.true(sizeAfterRestart < 6 * 2 ** 20, `the WAL is ${(sizeAfterRestart / 2 ** 20).toFixed(1)} MiB just after starting over`);

  const reopened = await openStore(`sqlite:${file}`, { clock });
  t.teardown(() => reopened.close());
  for (const id of [0, Math.floor(written / 2), written - 1]) t.deepEqual(await reopened.documents.find('Session', `s${id}`), payload);
  t.is(statSync(`${file}-wal`).size, 0, 'closing copies the WAL back and empties it');
});

/** The WAL header's checkpoint sequence number, which SQLite increments each time the WAL starts over. */
function walSequence(file: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(`${file}-wal`, 'r');
    const header = Buffer.alloc(16);
    return readSync(fd, header, 0, 16, 0) === 16 ? header.readUInt32BE(12) : -1;
  } catch {
    return -1;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// The embedded store keeps sign-ins in progress in memory: the same documents contract holds there.
registerStoreContract('sqlite with in-memory documents', async () => {
  const clock = createManualClock();
  const store = openSqliteStore(':memory:', clock);
  return { store: { ...store, documents: createMemoryDocuments(clock, { max: 1000, perOwner: 1000 }) }, clock };
});

test('in-memory documents: past an owner\'s share its oldest go first, and writing one again does not make it new', async (t) => {
  const clock = createManualClock();
  const documents = createMemoryDocuments(clock, { max: 3, perOwner: 3 });
  for (const id of ['a', 'b', 'c']) await documents.upsert('Interaction', id, { id }, new Date(clock() + 60_000));
  await documents.upsert('Interaction', 'a', { id: 'a', again: true }, new Date(clock() + 60_000));
  t.deepEqual(await documents.find('Interaction', 'a'), { id: 'a', again: true });
  await documents.upsert('Interaction', 'd', { id: 'd' }, new Date(clock() + 60_000));
  t.is(documents.size(), 3);
  t.is(await documents.find('Interaction', 'a'), undefined, 'the oldest arrival went, although written last but one');
  t.truthy(await documents.find('Interaction', 'b'));
  t.truthy(await documents.find('Interaction', 'c'));
  t.truthy(await documents.find('Interaction', 'd'));
});

test('in-memory documents: a payload changed after writing or after reading is not changed in the store', async (t) => {
  const documents = createMemoryDocuments(Date.now, { max: 10, perOwner: 10 });
  const payload = { result: { login: { accountId: 'm1' } } };
  await documents.upsert('Interaction', 'i1', payload, undefined);
  payload.result.login.accountId = 'someone else';
  const read = await documents.find('Interaction', 'i1');
  (read as typeof payload).result.login.accountId = 'changed again';
  t.deepEqual(await documents.find('Interaction', 'i1'), { result: { login: { accountId: 'm1' } } });
});

test('sqlite file: the kinds kept in memory never reach the file; the others do', async (t) => {
  const { file, remove } = tempFile();
  t.teardown(remove);
  const clock = createManualClock();
  const store = openSqliteStore(file, clock, { signInKinds: { Interaction: { max: 100, perOwner: 100 } } });
  await store.documents.upsert('Interaction', 'i1', { uid: 'in progress' }, new Date(clock() + 60_000));
  await store.documents.upsert('Session', 's1', { uid: 'signed in' }, new Date(clock() + 60_000));
  t.deepEqual(await store.documents.find('Interaction', 'i1'), { uid: 'in progress' });
  t.is(await store.documents.prune(), 0);
  clock.advance(60_000);
  t.is(await store.documents.prune(), 2, 'pruning covers both');
  await store.documents.upsert('Interaction', 'i2', { a: 1 }, undefined);
  await store.documents.upsert('Session', 's2', { a: 2 }, undefined);
  await store.close();

  const reopened = await openStore(`sqlite:${file}`, { clock });
  t.teardown(() => reopened.close());
  t.is(await reopened.documents.find('Interaction', 'i2'), undefined);
  t.deepEqual(await reopened.documents.find('Session', 's2'), { a: 2 });
});

test('in-memory documents: each kind has its own bound, so a flood of one kind pushes out no other', async (t) => {
  const clock = createManualClock();
  const store = openSqliteStore(':memory:', clock, { signInKinds: { Interaction: { max: 5, perOwner: 5 }, WebAuthnChallenge: { max: 3, perOwner: 3 } } });
  t.teardown(() => store.close());
  await store.documents.upsert('Interaction', 'mid-sign-in', { a: 1 }, new Date(clock() + 60_000));
  for (let i = 0; i < 100; i++) await store.documents.upsert('WebAuthnChallenge', `c${i}`, { boundTo: 'x' }, new Date(clock() + 60_000));
  t.deepEqual(await store.documents.find('Interaction', 'mid-sign-in'), { a: 1 });
  t.is(await store.documents.find('WebAuthnChallenge', 'c96'), undefined);
  t.truthy(await store.documents.find('WebAuthnChallenge', 'c97'));
});
