import test from 'ava';
import { errors } from 'oidc-provider';
import { createChallenges } from '../../src/auth/passkey/challenges.ts';
import { addressBudgets } from '../../src/http/address-budgets.ts';
import { createOidcAdapter } from '../../src/oidc/adapter.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/port.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';
import { createManualClock } from './store-contract.ts';

const minute = 60_000;
const TRIALS = 20;

// Two IdP instances on one database: two stores, each with its own pool of connections. Every
// single-use step raced from both at the same moment has exactly one winner, trial after trial.
withPostgres('PostgreSQL shared by several instances', () => {
  const cluster = sharedCluster();
  const signInKinds = { Interaction: { max: 100_000, perOwner: 5 } };

  async function twoInstances(t: import('ava').ExecutionContext) {
    const url = await cluster().createDatabase();
    const clock = createManualClock();
    const open = () => openStore(url, { clock, ensureIndexes: true, poolSize: 4, signInKinds });
    const a = await open();
    const b = await open();
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    // Each pool holds connections already, so that neither instance starts later for connecting.
    await Promise.all([a, b].flatMap((store) => [store.ping(), store.ping(), store.ping()]));
    return { a, b, clock, url };
  }

  const race = <T>(a: Store, b: Store, step: (store: Store) => Promise<T>) => Promise.all([step(a), step(b)]);

  test('one authorization code consumed on two instances at once: exactly one consumes it, 20 times over', async (t) => {
    const { a, b, clock } = await twoInstances(t);
    for (let i = 0; i < TRIALS; i++) {
      await a.documents.upsert('AuthorizationCode', `code-${i}`, { grantId: `g${i}` }, new Date(clock() + minute));
      const results = await race(a, b, (store) => store.documents.consume('AuthorizationCode', `code-${i}`));
      t.is(results.filter(Boolean).length, 1, `trial ${i}`);
    }
  });

  test('one refresh token redeemed on two instances at once: one redemption, the other revokes the grant, 20 times over', async (t) => {
    const { a, b, clock } = await twoInstances(t);
    const adapters = [a, b].map((store) => createOidcAdapter(store.documents, clock)('RefreshToken'));
    for (let i = 0; i < TRIALS; i++) {
      await a.documents.upsert('RefreshToken', `rt-${i}`, { grantId: `grant-${i}` }, new Date(clock() + minute));
      await a.documents.upsert('AccessToken', `at-${i}`, { grantId: `grant-${i}` }, new Date(clock() + minute));
      const results = await Promise.allSettled(adapters.map((adapter) => adapter.consume(`rt-${i}`)));
      t.is(results.filter((result) => result.status === 'fulfilled').length, 1, `trial ${i}`);
      const refused = results.find((result) => result.status === 'rejected');
      t.true(refused?.status === 'rejected' && refused.reason instanceof errors.InvalidGrant, `trial ${i}`);
      t.is(await b.documents.find('AccessToken', `at-${i}`), undefined, 'the reuse revoked what the grant issued');
    }
  });

  test('one passkey challenge answered on two instances at once: exactly one takes it, 20 times over', async (t) => {
    const { a, b, clock } = await twoInstances(t);
    const [onA, onB] = [a, b].map((store) => createChallenges(store.documents, { perBinding: 3 }));
    for (let i = 0; i < TRIALS; i++) {
      await onA!.save(`challenge${i}`, { purpose: 'login', boundTo: `sign-in-${i}` }, new Date(clock() + minute), '203.0.113.5');
      const results = await Promise.all([onA!.take(`challenge${i}`), onB!.take(`challenge${i}`)]);
      t.deepEqual(results.filter(Boolean), [{ purpose: 'login', boundTo: `sign-in-${i}` }], `trial ${i}`);
    }
  });

  test('one sign-in asking for passkey options on two instances at once never holds more than its challenges per sign-in, 20 times over', async (t) => {
    const { a, b, clock } = await twoInstances(t);
    const perBinding = 3;
    const [onA, onB] = [a, b].map((store) => createChallenges(store.documents, { perBinding }));
    for (let i = 0; i < TRIALS; i++) {
      const binding = { purpose: 'login' as const, boundTo: `sign-in-${i}` };
      const asked = Array.from({ length: 8 }, (_, n) => `c${i}x${n}`);
      await Promise.all(asked.map((challenge, n) => (n % 2 ? onA! : onB!).save(challenge, binding, new Date(clock() + minute), '203.0.113.5')));
      const answerable = (await Promise.all(asked.map((challenge) => onA!.take(challenge)))).filter(Boolean);
      t.true(answerable.length <= perBinding, `trial ${i}: ${answerable.length} challenges could still be answered`);
    }
  });

  test('a counter incremented on two instances at once gives each increment its own count: a limit of one lets exactly one through, 20 times over', async (t) => {
    const { a, b } = await twoInstances(t);
    for (let i = 0; i < TRIALS; i++) {
      const counts = await race(a, b, (store) => store.counters.increment(`sms:member-${i}`, 60));
      t.deepEqual(counts.map((count) => count.count).sort(), [1, 2], `trial ${i}`);
      t.is(counts[0]!.resetAt.getTime(), counts[1]!.resetAt.getTime(), 'one window');
    }
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).counters.increment('ip:198.51.100.7', 900)));
    t.deepEqual(many.map((count) => count.count).sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1));
  });

  test('a per-address budget spread over two instances allows what one instance would, and no more', async (t) => {
    const { a, b, clock } = await twoInstances(t);
    const [onA, onB] = [a, b].map((store) => addressBudgets(store, clock)('signin_starts', 10));
    const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? onA! : onB!).take('198.51.100.7')));
    t.is(decisions.filter((decision) => decision.allowed).length, 10);
    const refused = decisions.find((decision) => !decision.allowed);
    t.true(refused !== undefined && !refused.allowed && refused.retryAfter > 0 && refused.retryAfter <= 60);
    t.true((await onA!.take('203.0.113.9')).allowed, 'another address has a budget of its own');
    clock.advance(minute);
    t.true((await onB!.take('198.51.100.7')).allowed, 'a new window starts a minute after the first request');
  });

  test('one passkey used on two instances at once with the same counter: exactly one use is recorded, 20 times over', async (t) => {
    const { a, b, clock } = await twoInstances(t);
    await a.passkeys.create({
      id: 'cred-1', memberId: 'm1', userHandle: 'h', publicKey: new Uint8Array([1, 2, 3]), counter: 0, transports: [], synced: false,
      backedUp: false, aaguid: '00000000-0000-0000-0000-000000000000', name: 'Key', createdAt: new Date(clock()), lastUsedAt: undefined, lastUsedFrom: undefined,
    });
    for (let i = 0; i < TRIALS; i++) {
      const expectedCounter = i * 10;
      const results = await Promise.all([a, b].map((store, n) => store.passkeys.recordUse('cred-1', {
        expectedCounter, counter: expectedCounter + 10, at: new Date(clock()), from: `instance ${n}`,
      })));
      t.is(results.filter(Boolean).length, 1, `trial ${i}`);
      t.is((await a.passkeys.findById('cred-1'))?.counter, expectedCounter + 10);
    }
  });

  test('updates of one document from two instances at once all count, also when it does not exist yet; no lock outlives its transaction', async (t) => {
    const { a, b, clock, url } = await twoInstances(t);
    for (let i = 0; i < 5; i++) {
      await Promise.all(Array.from({ length: 16 }, (_, n) => (n % 2 ? a : b).documents.update('MemberSession', `m${i}/list`, (current) => ({
        payload: { items: [...((current?.items as number[] | undefined) ?? []), n] },
        expiresAt: new Date(clock() + minute),
      }))));
      const items = (await a.documents.find('MemberSession', `m${i}/list`))?.items as number[];
      t.deepEqual([...items].sort((x, y) => x - y), Array.from({ length: 16 }, (_, n) => n), `round ${i}`);
    }
    // Behind a pooler in transaction mode a lock held by a session would stay with a server
    // connection that other clients then use: the pooled connections, idle now, hold none.
    const held = await cluster().sql("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND a.datname = $1",
      [new URL(url).pathname.slice(1)]);
    t.deepEqual(held, [{ n: 0 }]);
  });

  test("an address flooding sign-ins through both instances keeps only its share, and nobody else's sign-in goes", async (t) => {
    const { a, b, clock } = await twoInstances(t);
    const expires = new Date(clock() + minute);
    await a.documents.upsert('Interaction', 'member', { n: 0 }, expires, '203.0.113.1');
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).documents.upsert('Interaction', `flood-${i}`, { n: i }, expires, '192.0.2.66')));
    // Racing writes may each have trimmed before the others were committed; the next write trims again.
    await b.documents.upsert('Interaction', 'flood-last', { n: 60 }, expires, '192.0.2.66');
    const flood = (await a.documents.listByIdPrefix('Interaction', 'flood-', 100)).map((found) => found.id);
    t.is(flood.length, signInKinds.Interaction.perOwner);
    t.true(flood.includes('flood-last'), 'the newest stays');
    t.deepEqual(await b.documents.find('Interaction', 'member'), { n: 0 });
  });
});
