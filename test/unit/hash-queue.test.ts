import test from 'ava';
import { createHashQueue, HashQueueFullError, type HashQueue } from '../../src/auth/password/hash-queue.ts';

/** Fake hashes that finish when the test says so, recording the order they started in. */
function fakeHashes(queue: HashQueue) {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  return {
    started,
    submit: (owner: string, id: string) => queue.run(() => new Promise<string>((resolve) => {
      started.push(id);
      finishers.set(id, () => resolve(id));
    }), owner),
    async finish(id: string) {
      finishers.get(id)!();
      // Let the slot pass to the next in turn.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

test('hash queue: waiting hashes are served one address after another, not in arrival order', async (t) => {
  const queue = createHashQueue({ concurrency: 1, maxQueue: 100, maxWaitMs: 60_000 });
  const hashes = fakeHashes(queue);
  const runs = ['a1', 'a2', 'a3', 'a4'].map((id) => hashes.submit('192.0.2.1', id));
  runs.push(hashes.submit('198.51.100.7', 'b1'), hashes.submit('203.0.113.9', 'c1'));
  for (const id of ['a1', 'a2', 'b1', 'c1', 'a3', 'a4']) await hashes.finish(id);
  t.deepEqual(hashes.started, ['a1', 'a2', 'b1', 'c1', 'a3', 'a4'], 'the busy address waits behind its own checks, the others get the next turns');
  t.deepEqual(await Promise.all(runs), ['a1', 'a2', 'a3', 'a4', 'b1', 'c1']);
  t.deepEqual(queue.load(), { running: 0, waiting: 0 });
});

test('hash queue: one address cannot fill the queue; past its share it is refused while another address still gets a place', async (t) => {
  const queue = createHashQueue({ concurrency: 1, maxQueue: 4, maxWaitMs: 60_000 });
  const hashes = fakeHashes(queue);
  const flood = ['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => hashes.submit('192.0.2.1', id));
  const refused = await t.throwsAsync(hashes.submit('192.0.2.1', 'a6'), { instanceOf: HashQueueFullError }, 'the flood has the whole queue to itself, and no more');
  t.true(refused!.retryAfter >= 1);
  t.deepEqual(queue.load(), { running: 1, waiting: 4 });

  t.is(queue.busyFor('198.51.100.7'), undefined, 'a member behind another address is not refused…');
  const members = [hashes.submit('198.51.100.7', 'm1')];
  t.deepEqual(queue.load(), { running: 1, waiting: 5 }, '…but waits, though the queue was full');
  members.push(hashes.submit('198.51.100.7', 'm2'));
  await t.throwsAsync(hashes.submit('198.51.100.7', 'm3'), { instanceOf: HashQueueFullError }, 'with two addresses waiting, each has half the queue');

  for (const id of ['a1', 'a2', 'm1', 'a3', 'm2', 'a4', 'a5']) await hashes.finish(id);
  t.deepEqual(await Promise.all(members), ['m1', 'm2']);
  t.deepEqual(hashes.started, ['a1', 'a2', 'm1', 'a3', 'm2', 'a4', 'a5']);
  await Promise.all(flood);
});

test('hash queue: the expected wait is judged by what an address has waiting, so a quiet address is admitted while a busy one is refused', async (t) => {
  let now = 0;
  const queue = createHashQueue({ concurrency: 1, maxQueue: 100, maxWaitMs: 250 }, () => now);
  // Teach it that a hash takes 100 ms.
  for (let i = 0; i < 30; i++) await queue.run(async () => { now += 100; }, 'teacher');
  const hashes = fakeHashes(queue);
  const busy = ['a1', 'a2', 'a3'].map((id) => hashes.submit('192.0.2.1', id));
  await t.throwsAsync(hashes.submit('192.0.2.1', 'a4'), { instanceOf: HashQueueFullError }, 'a third in line behind its own would wait about 300 ms');
  t.not(queue.busyFor('192.0.2.1'), undefined);
  t.is(queue.busyFor('198.51.100.7'), undefined, 'one from elsewhere would wait about 200 ms');
  const quiet = hashes.submit('198.51.100.7', 'b1');
  for (const id of ['a1', 'a2', 'b1', 'a3']) await hashes.finish(id);
  t.deepEqual(hashes.started, ['a1', 'a2', 'b1', 'a3']);
  await Promise.all([...busy, quiet]);
});

test('hash queue: a place taken and given up unused is counted only while held', async (t) => {
  const queue = createHashQueue({ concurrency: 1, maxQueue: 1, maxWaitMs: 60_000 });
  const running = queue.enter('192.0.2.1');
  t.deepEqual(queue.load(), { running: 0, waiting: 1 }, 'a place held counts as waiting…');
  t.throws(() => queue.enter('192.0.2.1'), { instanceOf: HashQueueFullError }, '…and against its address\'s share');
  running.leave();
  running.leave();
  t.deepEqual(queue.load(), { running: 0, waiting: 0 }, 'given up, it is gone (once)');
  const place = queue.enter('192.0.2.1');
  t.is(await place.run(async () => 'ran'), 'ran');
  place.leave();
  t.deepEqual(queue.load(), { running: 0, waiting: 0 });
});
