import test from 'ava';
import { Browser } from '../helpers/browser.ts';
import { submitPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// Strangers who know a member number try to keep the member out of a new browser. One load balancer in
// front (TRUST_PROXY=1): each browser's client address is the X-Forwarded-For entry it sends.

/** One password log-in from a new browser at `address`: the status the member sees. */
async function attempt(app: TestApp, address: string, number: string, password: string): Promise<number> {
  const browser = new Browser(app.url);
  browser.extraHeaders = { 'x-forwarded-for': address };
  const rp = await RelyingParty.website(app);
  return (await submitPassword(browser, rp, { number, password })).posted.status;
}

test('four addresses polling wrong passwords pause themselves, not the member: after the wait the member gets in from a new browser', async (t) => {
  let now = Date.now();
  const app = await startTestApp({
    clock: () => now,
    env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_MEMBER: '2', LOGIN_MAX_FAILURES_PER_IP: '6', LOGIN_WAIT_BASE_SECONDS: '30', LOGIN_WAIT_MAX_SECONDS: '240' },
  });
  t.teardown(() => app.stop());
  const member = await createMember(app.store);
  const attackers = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
  const home = '203.0.113.7';

  // The attackers poll much more often than the member tries.
  const seen: { attackers: number[]; member: number[] } = { attackers: [], member: [] };
  for (let round = 0; round < 8; round++) {
    for (const address of attackers) seen.attackers.push(await attempt(app, address, member.number, `guess ${round}`));
    if (round % 4 === 0) seen.member.push(await attempt(app, home, member.number, member.password));
  }
  t.deepEqual(seen.attackers.slice(0, 4), [401, 401, 401, 429], 'two free failures, then one that starts a 30 s wait');
  t.true(seen.attackers.slice(4).every((status) => status === 429), 'the polling is refused…');
  t.deepEqual(seen.member, [429, 429], 'and so is the member, while the wait runs');

  now += 31_000;
  for (const address of attackers) t.is(await attempt(app, address, member.number, 'guess after the wait'), 429, `${address} paused itself by polling`);
  t.is(await attempt(app, home, member.number, member.password), 303, 'the member gets in as soon as the wait is over');

  const other = await createMember(app.store);
  t.is(await attempt(app, attackers[0]!, other.number, other.password), 429, 'a polling address stays paused, whatever it tries');
  t.is(await attempt(app, '203.0.113.8', other.number, other.password), 303, 'a new address is not');
});

test('failures from addresses that already failed never lengthen the wait a clean address faces', async (t) => {
  let now = Date.now();
  const app = await startTestApp({
    clock: () => now,
    env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_MEMBER: '2', LOGIN_WAIT_BASE_SECONDS: '30', LOGIN_WAIT_MAX_SECONDS: '240' },
  });
  t.teardown(() => app.stop());
  const member = await createMember(app.store);
  const attackers = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
  for (const address of attackers) t.is(await attempt(app, address, member.number, 'guess'), 401);
  t.is(await attempt(app, '203.0.113.20', member.number, member.password), 429, 'the third failure started a wait');

  // The attackers time their next guesses for the end of the wait instead of polling.
  now += 31_000;
  t.is(await attempt(app, attackers[0]!, member.number, 'timed guess'), 401, 'an address that failed before still has turns…');
  t.is(await attempt(app, attackers[1]!, member.number, 'timed guess'), 429, '…one at a time, with waits of their own');
  t.is(await attempt(app, '203.0.113.21', member.number, member.password), 303, 'the member, from an address without failures, is not kept waiting');
});

test('a spraying wave slows only attempts from addresses with failures: a member\'s typo from a clean address and another member\'s number hit by an attacker stay open', async (t) => {
  let now = Date.now();
  const app = await startTestApp({
    clock: () => now,
    env: { TRUST_PROXY: '1', LOGIN_SURGE_FAILURES_PER_MINUTE: '6', LOGIN_MAX_FAILURES_PER_MEMBER: '5', LOGIN_WAIT_BASE_SECONDS: '30' },
  });
  t.teardown(() => app.stop());
  const [typist, target, third] = await Promise.all([createMember(app.store), createMember(app.store), createMember(app.store)]);

  const sprayers = Array.from({ length: 6 }, (_, i) => `192.0.2.${i + 101}`);
  for (const [i, address] of sprayers.entries()) t.is(await attempt(app, address, String(500_000_000 + i), 'Password1'), 401);

  t.is(await attempt(app, '203.0.113.30', typist.number, 'typo'), 401);
  t.is(await attempt(app, '203.0.113.30', typist.number, typist.password), 303, 'the member\'s typo during the wave did not keep them out');

  t.is(await attempt(app, sprayers[0]!, target.number, 'Password1'), 401, 'an attacker fails on another member\'s number');
  t.is(await attempt(app, '203.0.113.31', target.number, target.password), 303, 'that member, from a clean address, is not locked');

  t.is(await attempt(app, sprayers[1]!, third.number, 'Password1'), 401);
  t.is(await attempt(app, sprayers[2]!, third.number, 'Password2'), 429, 'during the wave, one failure makes the next address with failures wait');
  t.is(await attempt(app, '203.0.113.32', third.number, third.password), 303, 'but not a clean one');
});
