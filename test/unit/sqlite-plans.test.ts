import { DatabaseSync } from 'node:sqlite';
import test from 'ava';
import { migrate } from '../../src/store/sqlite/schema.ts';
import { INDEXED_LOOKUPS, PREFIX_LISTING } from '../../src/store/sqlite/sqlite-documents.ts';

// With millions of sessions, a lookup by uid that scanned every session would stall every sign-in.
test('lookups by uid, user code and grant id search their indexes instead of scanning', (t) => {
  const db = new DatabaseSync(':memory:');
  migrate(db);
  for (const [name, sql] of Object.entries(INDEXED_LOOKUPS)) {
    const parameters = (sql.match(/\?/g) ?? []).map(() => 'x');
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((row) => row.detail).join(' | ');
    t.regex(plan, /USING INDEX documents_\w+ \(kind=\? AND \w+=\?\)/, `${name}: ${plan}`);
  }
  db.close();
});

test('documents listed by id prefix are a range of the key index', (t) => {
  const db = new DatabaseSync(':memory:');
  migrate(db);
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${PREFIX_LISTING}`).all('x', 'm1/', 'm1/\uffff', 0, 10) as { detail: string }[]).map((row) => row.detail).join(' | ');
  t.regex(plan, /USING INDEX documents_key \(kind=\? AND id>\? AND id<\?\)/, plan);
  db.close();
});

test('a document is found by kind and id through the key index', (t) => {
  const db = new DatabaseSync(':memory:');
  migrate(db);
  const plan = (db.prepare('EXPLAIN QUERY PLAN SELECT payload FROM documents WHERE kind = ? AND id = ?').all('x', 'y') as { detail: string }[])
    .map((row) => row.detail).join(' | ');
  t.regex(plan, /USING INDEX documents_key \(kind=\? AND id=\?\)/, plan);
  db.close();
});
