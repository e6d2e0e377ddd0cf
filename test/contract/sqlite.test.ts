import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openStore } from '../../src/store/open.ts';
import { createManualClock, registerStoreContract } from './store-contract.ts';

const tempFile = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-store-contract-'));
  return { file: path.join(dir, 'store.db'), remove: async () => rmSync(dir, { recursive: true, force: true }) };
};

registerStoreContract('sqlite file', async () => {
  const clock = createManualClock();
  const { file, remove } = tempFile();
  return { store: await openStore(`sqlite:${file}`, { clock }), clock, dispose: remove };
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
