import test from 'ava';
import { createOwnerShares } from '../../src/store/owner-shares.ts';

test('between owners holding one each, the most recent arrival goes, not the member who came first', (t) => {
  const shares = createOwnerShares();
  shares.add('203.0.113.1', 'member');
  for (let i = 0; i < 150; i++) shares.add(`10.0.0.${i}`, `flood-${i}`);
  t.is(shares.toEvict(), 'flood-149');
  shares.remove('flood-149');
  t.is(shares.toEvict(), 'flood-148');
});

test('the owner holding the most loses its most recent arrival; between owners holding the same, the one that arrived last', (t) => {
  const shares = createOwnerShares();
  shares.add('member', 'm1');
  shares.add('flood', 'f1');
  shares.add('flood', 'f2');
  shares.add('other', 'o1');
  t.is(shares.toEvict(), 'f2', 'flood holds the most');
  shares.add('other', 'o2');
  t.is(shares.toEvict(), 'o2', 'flood and other hold two each; other arrived last');
  shares.remove('o2');
  t.is(shares.toEvict(), 'f2');
  shares.add('member', 'm2');
  shares.remove('f2');
  t.is(shares.toEvict(), 'm2', 'member now holds the most');
  t.is(shares.count('flood'), 1);
  t.is(shares.oldestOf('member'), 'm1');
});

test('a key already held keeps its owner and its place', (t) => {
  const shares = createOwnerShares();
  shares.add('a', 'k1');
  shares.add('a', 'k2');
  shares.add('b', 'k1');
  t.is(shares.count('a'), 2);
  t.is(shares.count('b'), 0);
  t.is(shares.oldestOf('a'), 'k1');
  t.is(shares.toEvict(), 'k2');
});

test('empty shares have nothing to evict; removing an unknown key does nothing', (t) => {
  const shares = createOwnerShares();
  t.is(shares.toEvict(), undefined);
  shares.remove('nothing');
  shares.add('a', 'k');
  shares.remove('k');
  t.is(shares.toEvict(), undefined);
  t.is(shares.count('a'), 0);
  t.is(shares.oldestOf('a'), undefined);
});

test('whatever the order of arrivals and removals, the answers are those of a plain scan', (t) => {
  // A small deterministic generator, so that a failure can be replayed.
  let seed = 20;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const shares = createOwnerShares();
  const model = new Map<string, { owner: string; arrival: number }>();
  let arrival = 0;
  let next = 0;
  for (let step = 0; step < 5000; step++) {
    const keys = [...model.keys()];
    if (keys.length > 0 && random(3) === 0) {
      const key = keys[random(keys.length)]!;
      shares.remove(key);
      model.delete(key);
    } else {
      const owner = `owner-${random(12)}`;
      const key = `key-${next++}`;
      shares.add(owner, key);
      model.set(key, { owner, arrival: ++arrival });
    }
    const byOwner = new Map<string, { key: string; arrival: number }[]>();
    for (const [key, { owner, arrival: at }] of model) byOwner.set(owner, [...(byOwner.get(owner) ?? []), { key, arrival: at }]);
    let expected: { count: number; newest: { key: string; arrival: number } } | undefined;
    for (const held of byOwner.values()) {
      const newest = held.reduce((a, b) => (b.arrival > a.arrival ? b : a));
      if (!expected || held.length > expected.count || (held.length === expected.count && newest.arrival > expected.newest.arrival)) expected = { count: held.length, newest };
    }
    if (shares.toEvict() !== expected?.newest.key) {
      t.fail(`step ${step}: ${shares.toEvict()} instead of ${expected?.newest.key}`);
      return;
    }
    const owner = `owner-${random(12)}`;
    const held = byOwner.get(owner) ?? [];
    if (shares.count(owner) !== held.length || shares.oldestOf(owner) !== held[0]?.key) {
      t.fail(`step ${step}: ${owner} holds ${shares.count(owner)} from ${shares.oldestOf(owner)}, not ${held.length} from ${held[0]?.key}`);
      return;
    }
  }
  t.pass();
});
