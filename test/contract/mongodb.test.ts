import test from 'ava';
import { randomBytes } from 'node:crypto';
import { dropMongoDatabase } from '../../src/store/mongo/mongo-store.ts';
import { openStore } from '../../src/store/open.ts';
import { SIGN_IN_KINDS, createManualClock, registerStoreContract } from './store-contract.ts';

const serverUrl = process.env.TEST_MONGODB_URI;

/** `serverUrl` with its database name replaced, keeping hosts and options. */
const withDatabase = (url: string, name: string) => url.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*/, `$1/${name}`);

if (serverUrl) {
  registerStoreContract('mongodb', async () => {
    const url = withDatabase(serverUrl, `jmb_idp_contract_${randomBytes(6).toString('hex')}`);
    const clock = createManualClock();
    return { store: await openStore(url, { clock, ensureIndexes: true, signInKinds: SIGN_IN_KINDS }), clock, dispose: () => dropMongoDatabase(url), bounded: 'SignInInProgress' };
  });
} else {
  test.skip('MongoDB contract suite skipped: TEST_MONGODB_URI is not set (no MongoDB server on this machine; see docs/storage.md, "MongoDB is not tested here")', () => {});
}

test('an unreachable MongoDB fails to open with a clear reason, promptly', async (t) => {
  const started = Date.now();
  const error = await t.throwsAsync(openStore('mongodb://jmb:secret@127.0.0.1:1/jmb-idp?serverSelectionTimeoutMS=1000'));
  t.regex(error!.message, /^cannot connect to MongoDB at mongodb:\/\/127\.0\.0\.1:1\/jmb-idp/);
  t.notRegex(error!.message, /secret/);
  t.true(Date.now() - started < 5_000);
});

test('the database name is swapped without losing hosts or options', (t) => {
  t.is(withDatabase('mongodb://mongo:27017/?replicaSet=rs0', 'db1'), 'mongodb://mongo:27017/db1?replicaSet=rs0');
  t.is(withDatabase('mongodb://a:1,b:2/old?w=majority', 'db1'), 'mongodb://a:1,b:2/db1?w=majority');
  t.is(withDatabase('mongodb://localhost:27017', 'db1'), 'mongodb://localhost:27017/db1');
});
