import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { GroupCommit, type GroupCommitOptions } from '../../src/store/sqlite/group-commit.ts';
import { createWriteGate, enterAsBulk, leaveAsBulk } from '../../src/store/sqlite/write-gate.ts';
import { StoreUnavailableError } from '../../src/store/port.ts';

/**
 * A database file with two connections: `db`, whose statements go through a GroupCommit, and
 * `other`, which sees only what is committed (as another process would). In `rows`, a row whose
 * value is 'poison' makes SQLite give up the whole transaction, and a row whose `parent` names no
 * row fails only at commit (a deferred foreign key).
 */
function open(t: import('ava').ExecutionContext, options: GroupCommitOptions = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-group-commit-'));
  const file = path.join(dir, 'db.sqlite');
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA foreign_keys = ON;
    CREATE TABLE rows (id TEXT PRIMARY KEY, value TEXT NOT NULL, parent TEXT REFERENCES rows (id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TRIGGER poison BEFORE INSERT ON rows WHEN NEW.value = 'poison' BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END;`);
  const other = new DatabaseSync(file, { readOnly: true });
  t.teardown(() => {
    other.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const insert = db.prepare('INSERT INTO rows (id, value, parent) VALUES (?, ?, ?)');
  const select = db.prepare('SELECT value FROM rows WHERE id = ?');
  const committed = (id: string) => other.prepare('SELECT value FROM rows WHERE id = ?').get(id)?.value;
  const commits = new GroupCommit(db, options);
  return {
    db,
    commits,
    committed,
    write: (id: string, value = id, parent: string | null = null) => commits.write(() => insert.run(id, value, parent).changes),
    read: (id: string) => commits.read(() => select.get(id)?.value),
  };
}

/** Settles every promise and reports each as its value or 'rejected'. */
const outcomes = (promises: Promise<unknown>[]) =>
  Promise.allSettled(promises).then((results) => results.map((result) => (result.status === 'fulfilled' ? result.value : 'rejected')));

test('a write resolves only once another connection can see it, and the writes of one turn commit together', async (t) => {
  const { write, committed } = open(t);
  const seenOnResolve: (string | undefined)[] = [];
  const writes = ['a', 'b', 'c'].map((id) => write(id).then(() => seenOnResolve.push(committed(id) as string | undefined)));
  t.is(committed('a'), undefined, 'nothing is committed before the turn ends');
  await Promise.all(writes);
  t.deepEqual(seenOnResolve, ['a', 'b', 'c']);
});

test('a read made while writes are pending sees them, and resolves only once they are committed', async (t) => {
  const { write, read, committed } = open(t);
  const pending = write('a', 'written');
  let committedWhenRead: unknown = 'not resolved';
  const value = await read('a').then((result) => {
    committedWhenRead = committed('a');
    return result;
  });
  t.is(value, 'written');
  t.is(committedWhenRead, 'written');
  await pending;
  t.is(await read('missing'), undefined, 'with nothing pending a read answers at once');
});

test('a statement refused on its own (a duplicate key) fails alone; the others of its turn are committed', async (t) => {
  const { write, committed } = open(t);
  await write('taken');
  t.deepEqual(await outcomes([write('a'), write('taken'), write('b')]), [1, 'rejected', 1]);
  t.is(committed('a'), 'a');
  t.is(committed('b'), 'b');
});

test('when the commit fails, every statement of the transaction rejects, reads included, and none of it is kept', async (t) => {
  const { write, read, committed } = open(t);
  await write('kept');
  // The row naming a missing parent is accepted by its statement and refused by COMMIT.
  const results = await outcomes([write('a'), read('kept'), write('orphan', 'orphan', 'nobody'), write('b')]);
  t.deepEqual(results, ['rejected', 'rejected', 'rejected', 'rejected']);
  for (const id of ['a', 'orphan', 'b']) t.is(committed(id), undefined, id);
  t.is(await write('after'), 1, 'the next turn starts a fresh transaction');
  t.is(committed('after'), 'after');
  t.is(committed('kept'), 'kept');
});

test('when SQLite gives up the transaction part-way, the statements before it reject too and none of them is kept', async (t) => {
  const { write, committed } = open(t);
  const results = await outcomes([write('a'), write('p', 'poison'), write('b')]);
  t.is(results[0], 'rejected', 'the write before the failure was undone with it');
  t.is(results[1], 'rejected');
  t.is(results[2], 1, 'a write after the failure is in a new transaction');
  t.is(committed('a'), undefined);
  t.is(committed('b'), 'b');
});

test('idle tasks wait for the open transaction to be committed; flush commits it at once', async (t) => {
  const { commits, write, committed } = open(t);
  const ran: unknown[] = [];
  commits.idle(() => ran.push('at once'));
  const pending = write('a');
  commits.idle(() => ran.push(committed('a')));
  t.deepEqual(ran, ['at once']);
  commits.flush();
  t.deepEqual(ran, ['at once', 'a']);
  t.is(await pending, 1);
});

/** A flush the test finishes by hand, as the disk would. */
function manualFlushes() {
  const pending: { resolve(): void; reject(error: unknown): void }[] = [];
  const durable = () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  return { durable, pending };
}

test('with a flush: a write is answered only once its commit is flushed; so is a read that may have seen it', async (t) => {
  const flushes = manualFlushes();
  const { write, read, committed } = open(t, { durable: flushes.durable });
  const answered: string[] = [];
  const written = write('a', 'written').then(() => answered.push('write'));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(committed('a'), 'written', 'committed at the end of the turn');
  t.is(flushes.pending.length, 1, 'one flush for the commit');
  const readBack = read('a').then((value) => answered.push(`read ${value}`));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.deepEqual(answered, [], 'nothing is answered before the flush');
  flushes.pending[0]!.resolve();
  await Promise.all([written, readBack]);
  t.deepEqual(answered, ['write', 'read written']);
});

test('with a flush that fails: every statement of the commit rejects as unavailable; the next turn goes on', async (t) => {
  const flushes = manualFlushes();
  const { write } = open(t, { durable: flushes.durable });
  const results = outcomes([write('a'), write('b')]);
  await new Promise((resolve) => setImmediate(resolve));
  flushes.pending[0]!.reject(new StoreUnavailableError('the disk failed'));
  t.deepEqual(await results, ['rejected', 'rejected']);
  const next = write('c');
  await new Promise((resolve) => setImmediate(resolve));
  flushes.pending[1]!.resolve();
  t.is(await next, 1);
});

test('alone: its statements commit in a transaction of their own, after the open one, and fail as a whole', async (t) => {
  const { db, commits, write, committed } = open(t);
  const pending = write('shared');
  const alone = commits.alone(() => committed('shared'));
  t.is(await alone, 'shared', 'it ran after the open transaction was committed');
  await pending;
  const insert = (id: string) => () => commits.alone(() => {
    db.prepare('INSERT INTO rows (id, value) VALUES (?, ?)').run(id, id);
    throw new Error('changed its mind');
  });
  await t.throwsAsync(insert('x'));
  t.is(committed('x'), undefined, 'nothing of a failed one is kept');
});

test('pause: new writes wait, in order, while reads go on; resume lets them commit', async (t) => {
  const { commits, write, read, committed } = open(t);
  const open1 = write('before');
  const paused = commits.pause();
  const held = [write('a'), write('b')];
  await paused;
  t.is(committed('before'), 'before', 'the open transaction was committed first');
  await open1;
  t.is(await read('before'), 'before', 'reads go on');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(committed('a'), undefined, 'held back');
  commits.resume();
  t.deepEqual(await Promise.all(held), [1, 1]);
  t.is(committed('a'), 'a');
  t.is(committed('b'), 'b');
});

test('pauses may overlap: the writes they hold back go once each has been resumed', async (t) => {
  const { commits, write, committed } = open(t);
  const first = commits.pause();
  const second = commits.pause();
  const held = write('a');
  await Promise.all([first, second]);
  commits.resume();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(committed('a'), undefined, 'still held by the other pause');
  commits.resume();
  t.is(await held, 1);
  t.is(committed('a'), 'a');
  commits.resume();
  t.is(await write('after'), 1, 'a resume too many changes nothing');
});

test('with a write gate: while the other thread holds it, writes wait and reads go on; they commit once it is given back', async (t) => {
  const gate = createWriteGate();
  const { write, read, committed } = open(t, { gate });
  await write('before');
  t.true(enterAsBulk(gate.buffer, 0), 'the bulk worker takes the open gate');
  const held = [write('a'), write('b')];
  t.is(await read('before'), 'before', 'reads go on');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(committed('a'), undefined, 'held back while the worker holds the gate');
  leaveAsBulk(gate.buffer);
  gate.workerReported();
  t.deepEqual(await Promise.all(held), [1, 1]);
  t.is(committed('b'), 'b');
});

test('with a write gate: the worker cannot take it while a transaction of the serving connection is open', async (t) => {
  const gate = createWriteGate();
  const { commits, write } = open(t, { gate });
  const pending = write('a');
  t.false(enterAsBulk(gate.buffer, 0), 'refused while the transaction is open');
  await pending;
  t.true(enterAsBulk(gate.buffer, 0), 'taken once it is committed');
  const alone = commits.alone(() => 'checked');
  gate.workerGone(); // a worker that stopped while holding the gate
  t.is(await alone, 'checked', 'the gate of a stopped worker is open again');
});

test('an observer hears how long each shared commit took and how many statements it carried, and of failures', async (t) => {
  const heard: string[] = [];
  const { db, write, read } = open(t, {
    observe: {
      committed: (seconds, statements) => heard.push(`committed ${statements} in ${seconds >= 0 && seconds < 60 ? 'time' : seconds}`),
      failed: (stage) => heard.push(`failed ${stage}`),
    },
  });
  await Promise.all([write('a'), write('b'), read('a')]);
  t.deepEqual(heard, ['committed 3 in time']);
  await outcomes([write('c'), write('orphan', 'orphan', 'nobody')]);
  t.deepEqual(heard.slice(1), ['failed commit']);
  await write('taken').then(() => outcomes([write('taken')]));
  t.false(heard.slice(2).some((entry) => entry.startsWith('failed')), 'a duplicate key is no store failure');
  db.exec('PRAGMA query_only = 1');
  t.deepEqual(await outcomes([write('d')]), ['rejected']);
  t.is(heard.at(-1), 'failed statement', 'a store that cannot write is');
});
