import test from 'ava';
import { createPrometheusMetrics } from '../../src/metrics/prometheus.ts';
import { openStore } from '../../src/store/open.ts';
import { parseExposition } from '../helpers/metrics.ts';
import { createMember } from '../helpers/members.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';

test('members with passkeys: counted in the store on recount, adjusted by this instance in between, never a scan per scrape', async (t) => {
  const store = await openStore('sqlite::memory:');
  t.teardown(() => store.close());
  let counts = 0;
  const { metrics, registry, recountMembersWithPasskeys } = createPrometheusMetrics({
    ready: async () => true,
    countMembersWithPasskeys: () => {
      counts++;
      return store.passkeys.countMembers();
    },
  }, { smsPricePerSegment: 0.08 });
  const gauge = async () => parseExposition(await registry.metrics()).find((s) => s.name === 'jmb_members_with_passkeys')!.value;

  for (let i = 0; i < 3; i++) {
    const member = await createMember(store);
    await enrolSoftPasskey(store, member.id, 'localhost');
    if (i === 0) await enrolSoftPasskey(store, member.id, 'localhost');
  }
  t.is(await gauge(), 0, 'nothing counted before the first recount');
  await recountMembersWithPasskeys();
  t.is(await gauge(), 3, 'three members, one of them with two passkeys');

  metrics.passkeysOfMember(0, 1);
  t.is(await gauge(), 4, 'a first passkey adds a member');
  metrics.passkeysOfMember(1, 2);
  metrics.passkeysOfMember(2, 1);
  t.is(await gauge(), 4, 'a second passkey, or losing one of two, changes nothing');
  metrics.passkeysOfMember(1, 0);
  t.is(await gauge(), 3, 'the last passkey gone removes the member');
  t.is(counts, 1, 'scrapes never counted in the store');
});

test('the default process collectors and the store\'s readiness are in the registry', async (t) => {
  let ready = true;
  const { registry } = createPrometheusMetrics({ ready: async () => ready, countMembersWithPasskeys: async () => 0 }, { smsPricePerSegment: 0.08 });
  const up = async () => parseExposition(await registry.metrics()).find((s) => s.name === 'jmb_store_up')!.value;
  t.is(await up(), 1);
  ready = false;
  t.is(await up(), 0);
  const names = new Set(parseExposition(await registry.metrics()).map((s) => s.name));
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) t.true(names.has(name), name);
});
