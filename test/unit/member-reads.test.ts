import test from 'ava';
import { memoizeMemberReads, type MemberReads } from '../../src/members/member-reads.ts';
import { StoreUnavailableError } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createMember } from '../helpers/members.ts';

/** A store whose reads of members by id are counted, and the memoized members over it. */
async function setUp(t: { teardown(fn: () => unknown): void }) {
  const store = openSqliteStore(':memory:', Date.now);
  t.teardown(() => store.close());
  let reads = 0;
  const findById = store.members.findById.bind(store.members);
  store.members.findById = (id) => {
    reads++;
    return findById(id);
  };
  let current: MemberReads | undefined;
  const members = memoizeMemberReads(store.members, () => current);
  return {
    store, members, reads: () => reads,
    /** A new request begins. */
    request: () => (current = new Map()),
    /** Work outside any request. */
    outside: () => (current = undefined),
  };
}

test('within one request a member is read from the store once, whoever asks', async (t) => {
  const { store, members, reads, request } = await setUp(t);
  const member = await createMember(store);
  request();
  const [first, second] = await Promise.all([members.findById(member.id), members.findById(member.id)]);
  const third = await members.findById(member.id);
  t.is(reads(), 1);
  t.is(first?.number, member.number);
  t.is(second, first);
  t.is(third, first);
});

test('each request reads afresh, and outside a request every read goes to the store', async (t) => {
  const { store, members, reads, request, outside } = await setUp(t);
  const member = await createMember(store);
  request();
  await members.findById(member.id);
  await store.members.update(member.id, { name: 'Hanako Suzuki' });
  request();
  t.is((await members.findById(member.id))?.name, 'Hanako Suzuki', 'a change made between requests is seen');
  outside();
  await members.findById(member.id);
  await members.findById(member.id);
  t.is(reads(), 4);
});

test('a change made through the memoized members is seen by the rest of the request', async (t) => {
  const { store, members, request } = await setUp(t);
  const member = await createMember(store);
  request();
  t.is((await members.findById(member.id))?.status, 'active');
  await members.update(member.id, { status: 'disabled' });
  t.is((await members.findById(member.id))?.status, 'disabled');
});

test('a read that failed is tried again by the next reader of the request', async (t) => {
  const { store, members, request } = await setUp(t);
  const member = await createMember(store);
  const findById = store.members.findById;
  let fail = true;
  store.members.findById = (id) => (fail ? Promise.reject(new StoreUnavailableError('disk full')) : findById(id));
  request();
  await t.throwsAsync(members.findById(member.id), { instanceOf: StoreUnavailableError });
  fail = false;
  t.is((await members.findById(member.id))?.id, member.id);
});
