import test, { type ExecutionContext } from 'ava';
import { DuplicateError, type AuditEvent, type Member, type Store } from '../../src/store/port.ts';
import { passkeyContract } from './passkey-contract.ts';

/** A clock the tests move by hand. */
export type ManualClock = (() => number) & { advance(ms: number): void };

/**
 * Starts at the real time: MongoDB's TTL monitor deletes by the server's clock, so documents made
 * here expire in the real future and only "expire" when a test advances this clock.
 */
export function createManualClock(start = Date.now()): ManualClock {
  let now = start;
  return Object.assign(() => now, { advance: (ms: number) => { now += ms; } });
}

/**
 * A fresh, empty store, the clock it reads, and what to do after closing it. `bounded` names a kind
 * the store was opened with bounds for (SIGN_IN_KINDS), where it was.
 */
export type StoreSubject = { store: Store; clock: ManualClock; dispose?: () => Promise<void>; bounded?: string };

/** The bounds a contract store is opened with, small enough to reach in a test. */
export const SIGN_IN_KINDS = { SignInInProgress: { max: 1000, perOwner: 3 } } as const;

/** One contract test, run against a fresh store. */
export type Contract = (t: ExecutionContext, subject: StoreSubject) => Promise<void>;

const minute = 60_000;
const year = 365 * 24 * 60 * minute;

/** Registers the whole store contract, each test on a fresh store from `open`, titles prefixed with `prefix`. */
export function registerStoreContract(prefix: string, open: () => Promise<StoreSubject>): void {
  const contract = (title: string, run: Contract) => test(`${prefix}: ${title}`, async (t) => {
    const subject = await open();
    t.teardown(async () => {
      await subject.store.close();
      await subject.dispose?.();
    });
    await run(t, subject);
  });
  for (const [title, run] of Object.entries(documentContract)) contract(`documents: ${title}`, run);
  for (const [title, run] of Object.entries(memberContract)) contract(`members: ${title}`, run);
  for (const [title, run] of Object.entries(passkeyContract)) contract(`passkeys: ${title}`, run);
  for (const [title, run] of Object.entries(counterContract)) contract(`counters: ${title}`, run);
  for (const [title, run] of Object.entries(auditContract)) contract(`audit: ${title}`, run);
  contract('bounded kinds: past its share an owner loses its oldest, and no other owner loses anything', async (t, { store, clock, bounded }) => {
    if (!bounded) {
      t.pass('this store was opened without bounds');
      return;
    }
    const expires = new Date(clock() + minute);
    await store.documents.upsert(bounded, 'member', { n: 0 }, expires, '203.0.113.1');
    for (let i = 1; i <= 5; i++) await store.documents.upsert(bounded, `flood-${i}`, { n: i }, expires, '192.0.2.66');
    await store.documents.upsert(bounded, 'unbounded', { n: 9 }, expires);
    t.deepEqual(await store.documents.find(bounded, 'member'), { n: 0 });
    t.is(await store.documents.find(bounded, 'flood-1'), undefined);
    t.is(await store.documents.find(bounded, 'flood-2'), undefined);
    for (const id of ['flood-3', 'flood-4', 'flood-5', 'unbounded']) t.truthy(await store.documents.find(bounded, id), id);
    await store.documents.upsert('Session', 's1', {}, expires, '192.0.2.66');
    t.truthy(await store.documents.find('Session', 's1'), 'other kinds are not bounded');
  });
  contract('bounded kinds: a document written again keeps its first owner and its place among what that owner holds', async (t, { store, clock, bounded }) => {
    if (!bounded) {
      t.pass('this store was opened without bounds');
      return;
    }
    const expires = new Date(clock() + minute);
    for (const id of ['a1', 'a2', 'a3']) await store.documents.upsert(bounded, id, { id }, expires, '2001:db8:1:2::/64');
    // The sign-in's next step, from another network: it stays the first network's.
    await store.documents.upsert(bounded, 'a1', { id: 'a1', step: 2 }, expires, '203.0.113.1');
    for (const id of ['b1', 'b2', 'b3']) await store.documents.upsert(bounded, id, { id }, expires, '203.0.113.1');
    t.deepEqual(await store.documents.find(bounded, 'a1'), { id: 'a1', step: 2 }, 'not counted in the other network\'s share');
    // And it is still the first network's oldest, however recently written.
    await store.documents.upsert(bounded, 'a4', { id: 'a4' }, expires, '2001:db8:1:2::/64');
    t.is(await store.documents.find(bounded, 'a1'), undefined);
    for (const id of ['a2', 'a3', 'a4', 'b1', 'b2', 'b3']) t.truthy(await store.documents.find(bounded, id), id);
    // An expired one written again arrives anew.
    await store.documents.upsert(bounded, 'old', { id: 'old' }, new Date(clock() + 1000), '198.51.100.7');
    clock.advance(1000);
    await store.documents.upsert(bounded, 'old', { id: 'old', again: true }, expires, '198.51.100.7');
    t.deepEqual(await store.documents.find(bounded, 'old'), { id: 'old', again: true });
  });
  contract('bounded kinds: a document update makes counts against the owner it names, and one it changes keeps its first owner', async (t, { store, clock, bounded }) => {
    if (!bounded) {
      t.pass('this store was opened without bounds');
      return;
    }
    const expires = new Date(clock() + minute);
    const append = (id: string, item: string, owner: string) => store.documents.update(bounded, id, (current) => ({
      payload: { items: [...((current?.items as string[] | undefined) ?? []), item] },
      expiresAt: expires,
    }), owner);
    // Made by update, each in the share of the network that asked: a network past its share loses
    // its own oldest, never another network's.
    await append('mine', 'm1', '203.0.113.1');
    for (const id of ['f1', 'f2', 'f3']) await append(id, id, '192.0.2.66');
    t.truthy(await store.documents.find(bounded, 'mine'), 'not in the other network\'s share');
    await append('f4', 'f4', '192.0.2.66');
    t.is(await store.documents.find(bounded, 'f1'), undefined, 'the flooding network lost its oldest');
    // Changed again from the flooding network: still the first network's, not counted in the flood.
    await append('mine', 'm2', '192.0.2.66');
    await append('f5', 'f5', '192.0.2.66');
    t.deepEqual(await store.documents.find(bounded, 'mine'), { items: ['m1', 'm2'] });
  });
  contract('bounded kinds: an update over an expired document makes it arrive anew, in the share of the owner it names', async (t, { store, clock, bounded }) => {
    if (!bounded) {
      t.pass('this store was opened without bounds');
      return;
    }
    await store.documents.upsert(bounded, 'stale', { n: 0 }, new Date(clock() + minute), '203.0.113.1');
    clock.advance(2 * minute);
    const expires = new Date(clock() + minute);
    for (const id of ['f1', 'f2', 'f3']) await store.documents.upsert(bounded, id, { id }, expires, '192.0.2.66');
    const seen: unknown[] = [];
    await store.documents.update(bounded, 'stale', (current) => {
      seen.push(current);
      return { payload: { n: 1 }, expiresAt: expires };
    }, '192.0.2.66');
    t.is(seen.at(-1), undefined, 'the change saw no live document');
    t.deepEqual(await store.documents.find(bounded, 'stale'), { n: 1 });
    t.is(await store.documents.find(bounded, 'f1'), undefined, 'it counts in the share of the network that asked, whose oldest went');
    t.deepEqual([await store.documents.find(bounded, 'f2'), await store.documents.find(bounded, 'f3')], [{ id: 'f2' }, { id: 'f3' }]);
  });
  contract('ping resolves', async (t, { store }) => {
    await t.notThrowsAsync(store.ping());
  });
  contract('the write check resolves on a store that can write, again and again', async (t, { store }) => {
    await t.notThrowsAsync(store.checkWrites());
    await t.notThrowsAsync(store.checkWrites());
  });
}

const inAMinute = (clock: ManualClock) => new Date(clock() + minute);

const documentContract: Record<string, Contract> = {
  'upsert then find returns the payload; kinds are separate': async (t, { store, clock }) => {
    const payload = { jti: 'a1', kind: 'AccessToken', grantId: 'g1', scope: 'openid', exp: 123 };
    await store.documents.upsert('AccessToken', 'a1', payload, inAMinute(clock));
    t.deepEqual(await store.documents.find('AccessToken', 'a1'), payload);
    t.is(await store.documents.find('RefreshToken', 'a1'), undefined);
    t.is(await store.documents.find('AccessToken', 'missing'), undefined);
  },
  'an expired document is neither found, nor found by uid or user code, nor taken, nor consumed': async (t, { store, clock }) => {
    await store.documents.upsert('Session', 's1', { uid: 'u1' }, inAMinute(clock));
    await store.documents.upsert('DeviceCode', 'd1', { userCode: 'ABCD-EFGH' }, inAMinute(clock));
    t.truthy(await store.documents.findByUid('Session', 'u1'));
    // Expiry is inclusive: at expiresAt the document is gone.
    clock.advance(minute);
    t.is(await store.documents.find('Session', 's1'), undefined);
    t.is(await store.documents.findByUid('Session', 'u1'), undefined);
    t.is(await store.documents.findByUserCode('DeviceCode', 'ABCD-EFGH'), undefined);
    t.false(await store.documents.consume('DeviceCode', 'd1'));
    t.is(await store.documents.take('Session', 's1'), undefined);
  },
  'a document upserted without expiry never expires': async (t, { store, clock }) => {
    await store.documents.upsert('Client', 'c1', { client_id: 'c1' }, undefined);
    clock.advance(10 * year);
    t.deepEqual(await store.documents.find('Client', 'c1'), { client_id: 'c1' });
    t.is(await store.documents.prune(), 0);
  },
  'an upsert replaces the document, its consumed mark and its expiry': async (t, { store, clock }) => {
    await store.documents.upsert('AuthorizationCode', 'c1', { v: 1 }, inAMinute(clock));
    t.true(await store.documents.consume('AuthorizationCode', 'c1'));
    await store.documents.upsert('AuthorizationCode', 'c1', { v: 2 }, undefined);
    clock.advance(year);
    t.deepEqual(await store.documents.find('AuthorizationCode', 'c1'), { v: 2 });
    t.true(await store.documents.consume('AuthorizationCode', 'c1'));
  },
  'consume marks payload.consumed in epoch seconds, once': async (t, { store, clock }) => {
    await store.documents.upsert('AuthorizationCode', 'c1', { jti: 'c1' }, inAMinute(clock));
    clock.advance(1_500);
    t.true(await store.documents.consume('AuthorizationCode', 'c1'));
    const found = await store.documents.find('AuthorizationCode', 'c1');
    t.deepEqual(found, { jti: 'c1', consumed: Math.floor(clock() / 1000) });
    t.false(await store.documents.consume('AuthorizationCode', 'c1'));
    t.false(await store.documents.consume('AuthorizationCode', 'missing'));
  },
  'of simultaneous consumers exactly one wins': async (t, { store, clock }) => {
    await store.documents.upsert('RefreshToken', 'r1', { jti: 'r1' }, inAMinute(clock));
    const results = await Promise.all(Array.from({ length: 5 }, () => store.documents.consume('RefreshToken', 'r1')));
    t.is(results.filter(Boolean).length, 1);
  },
  'take returns the payload to exactly one of simultaneous callers and removes it': async (t, { store, clock }) => {
    await store.documents.upsert('Challenge', 'x1', { challenge: 'abc' }, inAMinute(clock));
    const results = await Promise.all([store.documents.take('Challenge', 'x1'), store.documents.take('Challenge', 'x1')]);
    t.deepEqual(results.filter(Boolean), [{ challenge: 'abc' }]);
    t.is(await store.documents.find('Challenge', 'x1'), undefined);
    t.is(await store.documents.take('Challenge', 'missing'), undefined);
  },
  'update reads and writes in one step: of simultaneous changes none is lost': async (t, { store, clock }) => {
    const add = (item: number) => store.documents.update('Tally', 'm1', (current) => ({
      payload: { items: [...((current?.items as number[] | undefined) ?? []), item] },
      expiresAt: inAMinute(clock),
    }));
    await Promise.all(Array.from({ length: 12 }, (_, i) => add(i)));
    const items = (await store.documents.find('Tally', 'm1'))?.items as number[];
    t.deepEqual([...items].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
  },
  'update sees the live payload or nothing, writes the expiry it is given, and may leave the document alone': async (t, { store, clock }) => {
    await store.documents.upsert('Tally', 'old', { v: 1 }, inAMinute(clock));
    clock.advance(2 * minute);
    const seen: unknown[] = [];
    await store.documents.update('Tally', 'old', (current) => {
      seen.push(current);
      return { payload: { v: 2 }, expiresAt: inAMinute(clock) };
    });
    t.deepEqual(seen.at(-1), undefined, 'an expired document is not shown to the change');
    t.deepEqual(await store.documents.find('Tally', 'old'), { v: 2 });
    await store.documents.update('Tally', 'old', () => undefined);
    t.deepEqual(await store.documents.find('Tally', 'old'), { v: 2 }, 'nothing written');
    clock.advance(minute);
    t.is(await store.documents.find('Tally', 'old'), undefined, 'the new expiry holds');
  },
  'listByIdPrefix gives the live documents of one kind whose id starts with the prefix, in id order, up to the limit': async (t, { store, clock }) => {
    await store.documents.upsert('MemberSession', 'm1/b', { n: 2 }, inAMinute(clock));
    await store.documents.upsert('MemberSession', 'm1/a', { n: 1 }, inAMinute(clock));
    await store.documents.upsert('MemberSession', 'm1/c', { n: 3 }, undefined);
    await store.documents.upsert('MemberSession', 'm10/a', { n: 10 }, inAMinute(clock));
    await store.documents.upsert('MemberSession', 'm2/a', { n: 20 }, inAMinute(clock));
    await store.documents.upsert('Session', 'm1/z', { n: 99 }, inAMinute(clock));
    const list = (limit: number) => store.documents.listByIdPrefix('MemberSession', 'm1/', limit);
    t.deepEqual(await list(10), [{ id: 'm1/a', payload: { n: 1 } }, { id: 'm1/b', payload: { n: 2 } }, { id: 'm1/c', payload: { n: 3 } }]);
    t.deepEqual((await list(2)).map((found) => found.id), ['m1/a', 'm1/b']);
    clock.advance(2 * minute);
    t.deepEqual(await list(10), [{ id: 'm1/c', payload: { n: 3 } }], 'expired ones are left out');
    t.deepEqual(await store.documents.listByIdPrefix('MemberSession', 'nobody/', 10), []);
  },
  'take of an expired document gives undefined': async (t, { store, clock }) => {
    await store.documents.upsert('Challenge', 'x1', { challenge: 'abc' }, inAMinute(clock));
    clock.advance(2 * minute);
    t.is(await store.documents.take('Challenge', 'x1'), undefined);
    t.is(await store.documents.take('Challenge', 'x1'), undefined);
  },
  'destroy removes one document': async (t, { store, clock }) => {
    await store.documents.upsert('Interaction', 'i1', { a: 1 }, inAMinute(clock));
    await store.documents.upsert('Interaction', 'i2', { a: 2 }, inAMinute(clock));
    await store.documents.destroy('Interaction', 'i1');
    await t.notThrowsAsync(store.documents.destroy('Interaction', 'missing'));
    t.is(await store.documents.find('Interaction', 'i1'), undefined);
    t.deepEqual(await store.documents.find('Interaction', 'i2'), { a: 2 });
  },
  "revokeByGrantId removes only that grant's documents of that kind": async (t, { store, clock }) => {
    const put = (kind: string, id: string, grantId?: string) =>
      store.documents.upsert(kind, id, grantId ? { grantId } : {}, inAMinute(clock));
    await put('AccessToken', 'a1', 'g1');
    await put('AccessToken', 'a2', 'g1');
    await put('AccessToken', 'a3', 'g2');
    await put('AccessToken', 'a4');
    await put('RefreshToken', 'r1', 'g1');
    await store.documents.revokeByGrantId('AccessToken', 'g1');
    t.is(await store.documents.find('AccessToken', 'a1'), undefined);
    t.is(await store.documents.find('AccessToken', 'a2'), undefined);
    t.deepEqual(await store.documents.find('AccessToken', 'a3'), { grantId: 'g2' });
    t.deepEqual(await store.documents.find('AccessToken', 'a4'), {});
    t.deepEqual(await store.documents.find('RefreshToken', 'r1'), { grantId: 'g1' });
  },
  'findByUid finds a session by payload.uid within its kind': async (t, { store, clock }) => {
    await store.documents.upsert('Session', 's1', { uid: 'u1', accountId: 'm1' }, inAMinute(clock));
    await store.documents.upsert('Session', 's2', { uid: 'u2', accountId: 'm2' }, inAMinute(clock));
    t.deepEqual(await store.documents.findByUid('Session', 'u2'), { uid: 'u2', accountId: 'm2' });
    t.is(await store.documents.findByUid('Session', 'u3'), undefined);
    t.is(await store.documents.findByUid('Interaction', 'u1'), undefined);
  },
  'findByUserCode finds a device code by payload.userCode within its kind': async (t, { store, clock }) => {
    await store.documents.upsert('DeviceCode', 'd1', { userCode: 'WXYZ-1234', clientId: 'app' }, inAMinute(clock));
    t.deepEqual(await store.documents.findByUserCode('DeviceCode', 'WXYZ-1234'), { userCode: 'WXYZ-1234', clientId: 'app' });
    t.is(await store.documents.findByUserCode('DeviceCode', 'WXYZ-0000'), undefined);
    t.is(await store.documents.findByUserCode('Session', 'WXYZ-1234'), undefined);
  },
  'payload keys with dots and $, nested values and unicode survive exactly': async (t, { store, clock }) => {
    const payload = {
      uid: 'u-dots',
      authorizations: { 'client.with.dots': { sid: 'x', grantId: 'g' }, 'jmb-website': { sid: 'y' } },
      $where: 'not an operator',
      $set: { 'a.b': 1 },
      nested: { deeper: [1, 'two', { $in: ['ü', '日本語'] }, [null, true, false, 1.5]] },
      'emoji 🛫': '名前',
      empty: {},
      list: [],
      '': 'empty key',
    };
    await store.documents.upsert('Session', 's1', payload, inAMinute(clock));
    t.deepEqual(await store.documents.find('Session', 's1'), payload);
    t.deepEqual(await store.documents.findByUid('Session', 'u-dots'), payload);
  },
  'prune deletes expired documents and says how many': async (t, { store, clock }) => {
    for (const id of ['e1', 'e2', 'e3']) await store.documents.upsert('Interaction', id, {}, inAMinute(clock));
    await store.documents.upsert('Interaction', 'later', {}, new Date(clock() + 60 * minute));
    await store.documents.upsert('Client', 'forever', {}, undefined);
    clock.advance(2 * minute);
    t.is(await store.documents.prune(), 3);
    t.is(await store.documents.prune(), 0);
    t.deepEqual(await store.documents.find('Interaction', 'later'), {});
    t.deepEqual(await store.documents.find('Client', 'forever'), {});
  },
};

const member = (number: string, at: number, overrides: Partial<Member> = {}): Member => ({
  id: `id-${number}`,
  number,
  name: 'Hanako Yamada 山田花子',
  phone: '+819012345678',
  country: 'JP',
  status: 'active',
  passwordHash: 'scrypt$N=16384,r=8,p=1$salt$hash',
  deviceGeneration: 0,
  createdAt: new Date(at),
  updatedAt: new Date(at),
  ...overrides,
});

const memberContract: Record<string, Contract> = {
  'create, then find by id and by number': async (t, { store, clock }) => {
    const created = member('1000000001', clock());
    t.deepEqual(await store.members.create(created), created);
    t.deepEqual(await store.members.findById(created.id), created);
    t.deepEqual(await store.members.findByNumber('1000000001'), created);
    t.is(await store.members.findById('id-missing'), undefined);
    t.is(await store.members.findByNumber('1999999999'), undefined);
  },
  'list is in member-number order, paged by afterNumber': async (t, { store, clock }) => {
    for (const number of ['300', '100', '400', '200']) await store.members.create(member(number, clock()));
    const numbers = async (options: { limit: number; afterNumber?: string }) =>
      (await store.members.list(options)).map((m) => m.number);
    t.deepEqual(await numbers({ limit: 10 }), ['100', '200', '300', '400']);
    t.deepEqual(await numbers({ limit: 2 }), ['100', '200']);
    t.deepEqual(await numbers({ limit: 2, afterNumber: '200' }), ['300', '400']);
    t.deepEqual(await numbers({ limit: 10, afterNumber: '400' }), []);
  },
  'update applies the changes, stamps updatedAt and returns the member': async (t, { store, clock }) => {
    const created = await store.members.create(member('500', clock()));
    clock.advance(5 * minute);
    const updated = await store.members.update(created.id, { phone: '+818011112222', status: 'locked', name: undefined });
    const expected = { ...created, phone: '+818011112222', status: 'locked' as const, updatedAt: new Date(clock()) };
    t.deepEqual(updated, expected);
    t.deepEqual(await store.members.findById(created.id), expected);
    t.is(await store.members.update('id-missing', { name: 'x' }), undefined);
  },
  'the device generation starts at 0, survives other changes, and each bump adds one, none lost to another at the same time': async (t, { store, clock }) => {
    const { deviceGeneration: _, ...draft } = member('700', clock());
    const created = await store.members.create(draft);
    t.is(created.deviceGeneration, 0, 'a new member starts at 0');
    t.is((await store.members.findById(created.id))?.deviceGeneration, 0);
    t.is((await store.members.update(created.id, { name: 'Renamed', passwordHash: 'scrypt$rehashed' }))?.deviceGeneration, 0, 'other changes leave it alone');
    clock.advance(minute);
    const bumped = await store.members.update(created.id, { passwordHash: 'scrypt$new', nextDeviceGeneration: true });
    t.deepEqual(bumped, { ...created, name: 'Renamed', passwordHash: 'scrypt$new', deviceGeneration: 1, updatedAt: new Date(clock()) }, 'in the same write as the change');
    await Promise.all(Array.from({ length: 6 }, () => store.members.update(created.id, { nextDeviceGeneration: true })));
    t.is((await store.members.findByNumber('700'))?.deviceGeneration, 7, 'simultaneous bumps all count');
    t.is((await store.members.list({ limit: 10 }))[0]?.deviceGeneration, 7);
    t.is(await store.members.update('id-missing', { nextDeviceGeneration: true }), undefined);
    const given = await store.members.create(member('701', clock(), { id: 'id-given', deviceGeneration: 4 }));
    t.is(given.deviceGeneration, 4);
    t.is((await store.members.findById('id-given'))?.deviceGeneration, 4, 'a generation given at creation is kept');
  },
  'a taken member number throws DuplicateError': async (t, { store, clock }) => {
    const first = await store.members.create(member('600', clock()));
    const error = await t.throwsAsync(store.members.create(member('600', clock(), { id: 'another-id', name: 'Other' })),
      { instanceOf: DuplicateError });
    t.is(error?.field, 'number');
    t.deepEqual(await store.members.findByNumber('600'), first);
  },
};

const counterContract: Record<string, Contract> = {
  'increment counts within a window and restarts after it': async (t, { store, clock }) => {
    const resetAt = new Date(clock() + minute);
    t.deepEqual(await store.counters.increment('login:m1', 60), { count: 1, resetAt });
    clock.advance(10_000);
    t.deepEqual(await store.counters.increment('login:m1', 60), { count: 2, resetAt });
    t.deepEqual(await store.counters.increment('login:m1', 60), { count: 3, resetAt });
    t.deepEqual(await store.counters.get('login:m1'), { count: 3, resetAt });
    t.is(await store.counters.get('login:other'), undefined);
    clock.advance(50_000);
    t.is(await store.counters.get('login:m1'), undefined);
    t.deepEqual(await store.counters.increment('login:m1', 60), { count: 1, resetAt: new Date(clock() + minute) });
  },
  'reset forgets the window': async (t, { store }) => {
    await store.counters.increment('k', 60);
    await store.counters.increment('k', 60);
    await store.counters.reset('k');
    t.is(await store.counters.get('k'), undefined);
    t.is((await store.counters.increment('k', 60)).count, 1);
    await t.notThrowsAsync(store.counters.reset('missing'));
  },
  'prune removes only counters whose window has ended': async (t, { store, clock }) => {
    await store.counters.increment('short', 60);
    await store.counters.increment('long', 3600);
    clock.advance(61_000);
    t.is(await store.counters.prune(), 1);
    t.is((await store.counters.get('long'))?.count, 1);
    t.is((await store.counters.increment('short', 60)).count, 1);
  },
  'simultaneous increments each get their own count': async (t, { store }) => {
    const counts = await Promise.all(Array.from({ length: 10 }, () => store.counters.increment('ip:203.0.113.9', 60)));
    t.deepEqual(counts.map((c) => c.count).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    t.is((await store.counters.get('ip:203.0.113.9'))?.count, 10);
  },
};

const auditContract: Record<string, Contract> = {
  'listForMember is newest first, limited, and only that member': async (t, { store, clock }) => {
    const at = (minutes: number) => new Date(clock() + minutes * minute);
    const full: AuditEvent = {
      memberId: 'm1', at: at(3), type: 'login', outcome: 'success', ip: '203.0.113.9', userAgent: 'Mozilla/5.0',
      clientId: 'jmb-website', detail: { method: 'passkey', synced: true, attempts: 1, 'key.with.dot': 'ok' },
    };
    await store.audit.append({ memberId: 'm1', at: at(1), type: 'login', outcome: 'failure' });
    await store.audit.append(full);
    await store.audit.append({ memberId: 'm1', at: at(2), type: 'sms.sent', outcome: 'info' });
    await store.audit.append({ memberId: 'm2', at: at(4), type: 'login', outcome: 'success' });
    await store.audit.append({ memberId: undefined, at: at(5), type: 'login', outcome: 'failure', ip: '198.51.100.1' });
    t.deepEqual(await store.audit.listForMember('m1', 2), [full, { memberId: 'm1', at: at(2), type: 'sms.sent', outcome: 'info' }]);
    t.deepEqual((await store.audit.listForMember('m1', 10)).map((e) => e.at), [at(3), at(2), at(1)]);
    t.deepEqual(await store.audit.listForMember('m2', 10), [{ memberId: 'm2', at: at(4), type: 'login', outcome: 'success' }]);
    t.deepEqual(await store.audit.listForMember('m3', 10), []);
  },
  'prune deletes the events from before the retention, and only those': async (t, { store, clock }) => {
    const day = 24 * 60 * minute;
    for (const days of [500, 401, 399, 1]) await store.audit.append({ memberId: 'm1', at: new Date(clock() - days * day), type: 'login', outcome: 'success' });
    t.is(await store.audit.prune(new Date(clock() - 400 * day)), 2);
    t.deepEqual((await store.audit.listForMember('m1', 10)).map((event) => event.at), [new Date(clock() - day), new Date(clock() - 399 * day)]);
    t.is(await store.audit.prune(new Date(clock() - 400 * day)), 0);
  },
};
