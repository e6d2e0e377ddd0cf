import test from 'ava';
import pg from 'pg';
import { StoreUnavailableError, storeUnavailable } from '../../src/store/port.ts';
import { isPassingPostgresError, isRetryable, storeError } from '../../src/store/postgres/unavailable.ts';

// The server's errors as node-postgres raises them (DatabaseError with a SQLSTATE code), and the
// driver's and the network's own; the faults that can be made on a private cluster are in
// test/contract/postgres-faults.test.ts.
const serverError = (code: string, message = `sqlstate ${code}`) => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.5:5432`), { code });

test('a shutdown, a read-only standby, a full disk, no memory, too many connections, a time limit or a lost connection may pass: 503 for the request', (t) => {
  for (const error of [
    serverError('57P01', 'terminating connection due to administrator command'),
    serverError('57P02'), serverError('57P03', 'the database system is starting up'),
    serverError('25006', 'cannot execute INSERT in a read-only transaction'),
    serverError('53100', 'could not extend file: No space left on device'),
    serverError('53200', 'out of memory'),
    serverError('53300', 'sorry, too many clients already'),
    serverError('57014', 'canceling statement due to statement timeout'),
    serverError('55P03'), serverError('25P03'), serverError('08006'), serverError('58030'),
    serverError('40001'), serverError('40P01', 'deadlock detected'),
    socketError('ECONNREFUSED'), socketError('ECONNRESET'), socketError('ETIMEDOUT'), socketError('EAI_AGAIN'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
  ]) {
    t.true(isPassingPostgresError(error), error.message);
    const translated = storeError(error);
    t.true(translated instanceof StoreUnavailableError, error.message);
    t.is(storeUnavailable(translated)?.cause, error);
  }
});

test('a unique violation, a syntax error, a missing table or a refused log-in stays the error it is', (t) => {
  for (const error of [serverError('23505'), serverError('42601'), serverError('42P01'), serverError('28P01'), serverError('3D000'), new Error('bad')]) {
    t.false(isPassingPostgresError(error), error.message);
    t.is(storeError(error), error);
  }
});

test('only a deadlock or a serialization failure, which roll the work back whole, is tried again at once', (t) => {
  t.true(isRetryable(serverError('40P01')));
  t.true(isRetryable(serverError('40001')));
  for (const code of ['25006', '57P01', '23505']) t.false(isRetryable(serverError(code)), code);
  t.false(isRetryable(socketError('ECONNRESET')), 'a cut connection may have committed: never run twice');
});
