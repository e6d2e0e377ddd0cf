import test from 'ava';
import { createMemberSessions } from '../../src/oidc/member-sessions.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

// The registry of where a member is logged in is what "Log out everywhere" and the account page's
// list work from: a session missing from it cannot be ended there.
test('sessions of one member saved at the same moment are all listed', async (t) => {
  const clock = () => Date.now();
  const store = openSqliteStore(':memory:', clock);
  t.teardown(() => store.close());
  const sessions = createMemberSessions({ documents: store.documents, audit: store.audit, clock });
  const expiresAt = new Date(Date.now() + 3_600_000);
  const uids = Array.from({ length: 8 }, (_, i) => `session-${i}`);
  await Promise.all(uids.map((uid, i) => sessions.touch('member-1', uid, expiresAt, { userAgent: `Browser ${i}`, ip: '192.0.2.1' })));
  const listed = (await store.documents.listByIdPrefix('MemberSession', 'member-1/', 100)).map(({ id }) => id.slice('member-1/'.length));
  t.deepEqual(listed.sort(), uids);
});

test('a session active again within the minute is not written again; a minute later its activity and address are', async (t) => {
  let now = Date.parse('2026-12-02T10:00:00Z');
  const clock = () => now;
  const store = openSqliteStore(':memory:', clock);
  t.teardown(() => store.close());
  const sessions = createMemberSessions({ documents: store.documents, audit: store.audit, clock });
  const expiresAt = new Date(now + 3_600_000);
  await sessions.touch('member-1', 'first', expiresAt, { ip: '192.0.2.1' });
  await sessions.touch('member-1', 'second', expiresAt, { ip: '192.0.2.2' });
  now += 30_000;
  await sessions.touch('member-1', 'first', expiresAt, { ip: '192.0.2.9' });
  const entries = async () => (await store.documents.listByIdPrefix('MemberSession', 'member-1/', 100)).map(({ id, payload }) => ({ uid: id.slice('member-1/'.length), ...payload }) as { uid: string; ip: string; startedAt: number; lastActiveAt: number });
  const started = now - 30_000;
  t.deepEqual((await entries()).map((entry) => [entry.uid, entry.ip, entry.lastActiveAt]), [['first', '192.0.2.1', started], ['second', '192.0.2.2', started]]);
  now += 60_000;
  await sessions.touch('member-1', 'first', expiresAt, { ip: '192.0.2.9' });
  t.deepEqual((await entries()).map((entry) => [entry.uid, entry.ip, entry.startedAt, entry.lastActiveAt]), [['first', '192.0.2.9', started, now], ['second', '192.0.2.2', started, started]]);
});

test('a session made by this request is recorded without reading its record first, and is then kept up like any other', async (t) => {
  let now = Date.parse('2026-12-02T10:00:00Z');
  const clock = () => now;
  const store = openSqliteStore(':memory:', clock);
  t.teardown(() => store.close());
  const sessions = createMemberSessions({ documents: store.documents, audit: store.audit, clock });
  const expiresAt = new Date(now + 3_600_000);
  const before = store.statementsRun!();
  await sessions.touch('member-1', 'fresh', expiresAt, { userAgent: 'Browser', ip: '192.0.2.1' }, true);
  t.is(store.statementsRun!() - before, 1, 'one write, no read');
  const started = now;
  now += 90_000;
  await sessions.touch('member-1', 'fresh', expiresAt, { ip: '192.0.2.9' });
  const [entry] = await store.documents.listByIdPrefix('MemberSession', 'member-1/', 100);
  t.deepEqual(entry?.payload, { startedAt: started, lastActiveAt: now, userAgent: 'Browser', ip: '192.0.2.9' });
});
