import test from 'ava';
import { createRestartDelay } from '../../src/cluster/restart-delay.ts';

test('workers dying soon after they start wait longer and longer, up to the most; one that served a while starts the waits over', (t) => {
  const delay = createRestartDelay({ firstMs: 500, maxMs: 4_000, stableMs: 60_000 });
  t.deepEqual([1, 2, 3, 4, 5].map(() => delay.after(1_000)), [500, 1_000, 2_000, 4_000, 4_000]);
  t.is(delay.after(60_000), 500, 'a worker that lived a minute was no crash loop');
  t.is(delay.after(100), 1_000);
});
