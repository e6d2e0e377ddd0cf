import test from 'ava';
import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { StoreUnavailableError, storeUnavailable } from '../../src/store/port.ts';
import { isPassingMongoError, storeError } from '../../src/store/mongo/unavailable.ts';

// No MongoDB server runs here: these are the driver's own error classes, as it raises them.
const serverError = (code: number, labels: string[] = []) => {
  const error = new MongoServerError({ code, errmsg: `code ${code}`, errorLabels: labels });
  return error;
};

test('a step-down, no writable primary, a network error or a full disk is a failure that passes: 503 for the request', (t) => {
  for (const error of [
    serverError(10107), // NotWritablePrimary
    serverError(189), // PrimarySteppedDown
    serverError(11602), // InterruptedDueToReplStateChange
    serverError(91), // ShutdownInProgress
    serverError(14031), // OutOfDiskSpace
    serverError(999, ['RetryableWriteError']),
    new MongoNetworkError('connection reset'),
    new MongoServerSelectionError('no primary available', { type: 'ReplicaSetNoPrimary' } as never),
  ]) {
    t.true(isPassingMongoError(error), String(error.message));
    const translated = storeError(error);
    t.true(translated instanceof StoreUnavailableError);
    t.is(storeUnavailable(translated)?.cause, error);
  }
});

test('a duplicate key or a bad query is not: it stays the error it is', (t) => {
  const duplicate = serverError(11000);
  t.false(isPassingMongoError(duplicate));
  t.is(storeError(duplicate), duplicate);
  const plain = new Error('bad');
  t.is(storeError(plain), plain);
});
