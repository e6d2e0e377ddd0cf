import test from 'ava';
import { createLogger } from '../../src/log.ts';
import { startPruning } from '../../src/store/pruning.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createManualClock } from '../contract/store-contract.ts';

const day = 24 * 3600 * 1000;

async function subject(t: import('ava').ExecutionContext, auditRetentionDays: number) {
  const clock = createManualClock();
  const store = openSqliteStore(':memory:', clock);
  const lines: string[] = [];
  const pruning = startPruning({ store, clock, logger: createLogger('info', (line) => lines.push(line)) }, { everyMs: 3_600_000, auditRetentionDays });
  t.teardown(async () => {
    pruning.stop();
    await store.close();
  });
  await store.documents.upsert('AccessToken', 'old', {}, new Date(clock() + 60_000));
  await store.documents.upsert('Session', 'live', {}, new Date(clock() + day));
  await store.counters.increment('window', 60);
  for (const days of [401, 2]) await store.audit.append({ memberId: 'm1', at: new Date(clock() - days * day), type: 'login', outcome: 'success' });
  clock.advance(120_000);
  return { store, pruning, lines };
}

test('a round prunes documents, counters and audit events past the retention, and logs what it removed', async (t) => {
  const { store, pruning, lines } = await subject(t, 400);
  const first = pruning.runNow();
  t.is(pruning.runNow(), first, 'a round asked for while one runs joins it');
  const report = await first;
  t.like(report, { documents: 1, counters: 1, audit: 1 });
  t.truthy(await store.documents.find('Session', 'live'));
  t.is((await store.audit.listForMember('m1', 10)).length, 1);
  const logged = JSON.parse(lines.at(-1)!);
  t.like(logged, { msg: 'pruned', documents: 1, counters: 1, audit: 1 });
});

test('a retention of 0 keeps every audit event', async (t) => {
  const { store, pruning } = await subject(t, 0);
  t.like(await pruning.runNow(), { documents: 1, audit: 0 });
  t.is((await store.audit.listForMember('m1', 10)).length, 2);
});

test('instances sharing a store prune about once per interval between them, not once each', async (t) => {
  const clock = createManualClock();
  const store = openSqliteStore(':memory:', clock);
  const lines: string[] = [];
  const logger = createLogger('debug', (line) => lines.push(line));
  // Two instances' timers on one store, ticking often; the store's clock stands still, so every
  // tick after the first falls in the same round.
  const instances = [0, 1].map(() => startPruning({ store, clock, logger }, { everyMs: 20, auditRetentionDays: 0, shared: true }));
  t.teardown(async () => {
    for (const pruning of instances) pruning.stop();
    await store.close();
  });
  const count = (msg: string) => lines.filter((line) => JSON.parse(line).msg === msg).length;
  await until(() => count('pruning round left to another instance') >= 6);
  t.is(count('pruned'), 1, 'one round in the interval');
  // Rounds are claimed in whole seconds.
  clock.advance(1000);
  await until(() => count('pruned') >= 2);
  t.pass('the next interval is pruned again');
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
