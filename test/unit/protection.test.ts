import test from 'ava';
import { createHashQueue, HashQueueFullError } from '../../src/auth/password/hash-queue.ts';
import { createRateLimit } from '../../src/http/rate-limit.ts';
import { createMemoryDocuments } from '../../src/store/memory-documents.ts';
import { createChallenges } from '../../src/auth/passkey/challenges.ts';
import { limitKeyOf } from '../../src/http/client-address.ts';

test('rate limit: a full bucket allows a burst, then one request per refill, and says when', (t) => {
  let now = 0;
  const limit = createRateLimit({ perMinute: 60, maxKeys: 10 }, () => now);
  for (let i = 0; i < 60; i++) t.true(limit.take('a').allowed);
  const refused = limit.take('a');
  t.false(refused.allowed);
  t.is(refused.allowed ? 0 : refused.retryAfter, 1);
  t.true(limit.take('b').allowed, 'each key has its own bucket');
  now += 1000;
  t.true(limit.take('a').allowed, 'one token a second comes back');
  t.false(limit.take('a').allowed);
});

test('rate limit: at most maxKeys are tracked, the least recently seen forgotten first', (t) => {
  const limit = createRateLimit({ perMinute: 1, maxKeys: 2 }, () => 0);
  limit.take('a');
  limit.take('b');
  limit.take('c');
  t.true(limit.take('a').allowed, '"a" was forgotten and starts again');
  t.false(limit.take('c').allowed, '"c" is remembered');
});

test('hash queue: runs a few at a time in order, and refuses at once what would wait too long', async (t) => {
  const queue = createHashQueue({ concurrency: 2, maxQueue: 10, maxWaitMs: 1000 });
  const release: (() => void)[] = [];
  const started: number[] = [];
  const slow = (id: number) => queue.run(() => new Promise<number>((resolve) => { started.push(id); release.push(() => resolve(id)); }));
  const runs = [slow(1), slow(2), slow(3), slow(4)];
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(started, [1, 2], 'two at once');
  t.deepEqual(queue.load(), { running: 2, waiting: 2 });
  release.shift()!();
  await runs[0];
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(started, [1, 2, 3], 'the first in line goes next');
  for (let round = 0; round < 3; round++) {
    while (release.length) release.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.deepEqual(await Promise.all(runs), [1, 2, 3, 4]);

  const full = createHashQueue({ concurrency: 1, maxQueue: 0, maxWaitMs: 1000 });
  let finish!: () => void;
  const busy = full.run(() => new Promise<void>((resolve) => { finish = resolve; }));
  const error = await t.throwsAsync(full.run(async () => 'never'), { instanceOf: HashQueueFullError });
  t.true(error!.retryAfter >= 1);
  finish();
  await busy;
  t.is(await full.run(async () => 'now'), 'now', 'with room again it runs');
});

test('hash queue: refuses by expected wait, learned from how long hashes take', async (t) => {
  let now = 0;
  const queue = createHashQueue({ concurrency: 1, maxQueue: 100, maxWaitMs: 250 }, () => now);
  // Teach it that a hash takes 100 ms.
  for (let i = 0; i < 30; i++) await queue.run(async () => { now += 100; });
  let finish!: () => void;
  const running = queue.run(() => new Promise<void>((resolve) => { finish = resolve; }));
  const waiting = [queue.run(async () => {}), queue.run(async () => {})];
  await t.throwsAsync(queue.run(async () => {}), { instanceOf: HashQueueFullError }, 'a third in line would wait about 300 ms');
  finish();
  await Promise.all([running, ...waiting]);
});

test('in-memory documents: past the bound the owner holding the most loses its newest; past its share an owner loses its own oldest', async (t) => {
  const documents = createMemoryDocuments(Date.now, { max: 6, perOwner: 4 });
  const expires = new Date(Date.now() + 60_000);
  await documents.upsert('Interaction', 'member-1', {}, expires, '203.0.113.1');
  await documents.upsert('Interaction', 'member-2', {}, expires, '203.0.113.2');
  for (let i = 0; i < 10; i++) await documents.upsert('Interaction', `bot-${i}`, {}, expires, '192.0.2.66');
  t.is(documents.size(), 6);
  t.truthy(await documents.find('Interaction', 'member-1'));
  t.truthy(await documents.find('Interaction', 'member-2'));
  t.is(await documents.find('Interaction', 'bot-5'), undefined, 'past its share the flooding owner loses its oldest');
  t.truthy(await documents.find('Interaction', 'bot-6'));

  await documents.upsert('Interaction', 'nat-0', {}, expires, '198.51.100.1');
  t.truthy(await documents.find('Interaction', 'nat-0'), 'a newcomer holding less stays');
  t.is(await documents.find('Interaction', 'bot-9'), undefined, 'the owner holding the most loses its most recent arrival');
  await documents.upsert('Interaction', 'nat-1', {}, expires, '198.51.100.1');
  t.is(await documents.find('Interaction', 'bot-8'), undefined);
  t.truthy(await documents.find('Interaction', 'nat-1'));
  await documents.upsert('Interaction', 'nat-2', {}, expires, '198.51.100.1');
  t.is(await documents.find('Interaction', 'nat-2'), undefined, 'now the shared address holds the most, and its newest goes');
  t.truthy(await documents.find('Interaction', 'nat-0'));
  t.truthy(await documents.find('Interaction', 'bot-7'));
  t.truthy(await documents.find('Interaction', 'member-1'));

  // Written again from the shared address, a sign-in stays its first owner's and keeps its age: the
  // next newcomer pushes out the shared address's newest (it ties with the flood and arrived later).
  await documents.upsert('Interaction', 'member-2', { step: 2 }, expires, '198.51.100.1');
  await documents.upsert('Interaction', 'newcomer', {}, expires, '203.0.113.9');
  t.deepEqual(await documents.find('Interaction', 'member-2'), { step: 2 });
  t.is(await documents.find('Interaction', 'nat-1'), undefined);
  t.truthy(await documents.find('Interaction', 'newcomer'));

  await documents.destroy('Interaction', 'member-1');
  await documents.upsert('Interaction', 'member-1b', {}, expires, '203.0.113.1');
  t.truthy(await documents.find('Interaction', 'member-1b'), 'counts go down as documents go');
});

test('passkey challenges asked for from many addresses of one IPv6 /64 count in one network\'s share', async (t) => {
  const documents = createMemoryDocuments(Date.now, { max: 100, perOwner: 4 });
  const challenges = createChallenges(documents, { perBinding: 3, ownerOf: limitKeyOf });
  const expires = new Date(Date.now() + 60_000);
  await challenges.save('member-challenge', { purpose: 'login', boundTo: 'member-sign-in' }, expires, '203.0.113.5');
  for (let i = 1; i <= 20; i++) await challenges.save(`flood-${i}`, { purpose: 'login', boundTo: `sign-in-${i}` }, expires, `2001:db8:9:9::${i.toString(16)}`);
  t.is(documents.size(), 2 + 4, 'the member\'s challenge and its record, and the /64\'s share');
  t.deepEqual(await challenges.take('member-challenge'), { purpose: 'login', boundTo: 'member-sign-in' });
  t.truthy(await challenges.take('flood-20'));
  t.is(await challenges.take('flood-1'), undefined);
});

test('passkey challenges in memory: sign-ins that finished leave nothing behind, so the bound keeps room for new ones', async (t) => {
  // Every sign-in from one busy address (a carrier's NAT): past the bound, the owner holding the most
  // loses its newest arrival, so anything a finished sign-in left behind would cost a new one its challenge.
  const documents = createMemoryDocuments(Date.now, { max: 10, perOwner: 1_000 });
  const challenges = createChallenges(documents, { perBinding: 3, ownerOf: limitKeyOf, releaseOnTake: true });
  const expires = new Date(Date.now() + 60_000);
  for (let i = 1; i <= 30; i++) {
    await challenges.save(`challenge-${i}`, { purpose: 'login', boundTo: `sign-in-${i}` }, expires, '198.51.100.7');
    t.deepEqual(await challenges.take(`challenge-${i}`), { purpose: 'login', boundTo: `sign-in-${i}` }, `sign-in ${i} finds its challenge`);
  }
  t.is(documents.size(), 0, 'no record outlives its sign-in\'s last challenge');

  await challenges.save('member-at-the-nat', { purpose: 'login', boundTo: 'nat-member' }, expires, '198.51.100.7');
  await challenges.save('member-elsewhere', { purpose: 'login', boundTo: 'other-member' }, expires, '203.0.113.9');
  t.deepEqual(await challenges.take('member-at-the-nat'), { purpose: 'login', boundTo: 'nat-member' }, 'a member behind the busy address still logs in');
  t.deepEqual(await challenges.take('member-elsewhere'), { purpose: 'login', boundTo: 'other-member' });
  t.is(documents.evicted(), 0);

  // A sign-in holding two challenges (the autofill request and the button): taking one keeps the other.
  await challenges.save('autofill', { purpose: 'login', boundTo: 'two-tabs' }, expires, '198.51.100.7');
  await challenges.save('button', { purpose: 'login', boundTo: 'two-tabs' }, expires, '198.51.100.7');
  t.truthy(await challenges.take('button'));
  t.deepEqual(await challenges.take('autofill'), { purpose: 'login', boundTo: 'two-tabs' });
  t.is(documents.size(), 0);
});

test('in-memory documents: a document written already expired is gone, and frees its place at once', async (t) => {
  const documents = createMemoryDocuments(Date.now, { max: 10, perOwner: 10 });
  await documents.upsert('WebAuthnChallenge', 'record', { challenges: ['a'] }, new Date(Date.now() + 60_000), 'owner');
  await documents.update('WebAuthnChallenge', 'record', () => ({ payload: { challenges: [] }, expiresAt: new Date(0) }));
  t.is(await documents.find('WebAuthnChallenge', 'record'), undefined);
  t.is(documents.size(), 0);
});

test('rate limit: a clock set back neither refills nor empties a bucket', (t) => {
  let now = 1_000_000;
  const limit = createRateLimit({ perMinute: 2, maxKeys: 10 }, () => now);
  t.true(limit.take('a').allowed);
  now -= 3_600_000;
  t.true(limit.take('a').allowed, 'the second of two is still there');
  t.false(limit.take('a').allowed);
  now += 30_000;
  t.true(limit.take('a').allowed, 'and refilling goes on from the new time');
});
