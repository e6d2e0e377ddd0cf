import test from 'ava';
import { AuthError } from '../../src/auth/auth-error.ts';
import { createDeviceTrust } from '../../src/auth/password/device-trust.ts';
import { createFailurePacing, type FailurePacing } from '../../src/auth/password/failure-pacing.ts';
import { createHashQueue } from '../../src/auth/password/hash-queue.ts';
import { createPasswordLogin } from '../../src/auth/password/password-login.ts';
import { loadLoginLimits } from '../../src/config/protection.ts';
import { costOf, createPasswordHasher, legacyScryptSample } from '../../src/members/password.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { scryptHash } from '../helpers/legacy-password.ts';
import { createMember } from '../helpers/members.ts';

const CURRENT = 'argon2id:19456:2:1';
const LEGACY = 'scrypt:32768:8:1';

/** Pacing whose slowest sample took `sampleMs`, noting every wait instead of waiting. */
function recordingPacing(sampleMs: number) {
  const waits: number[] = [];
  let samples = 0;
  const pacing = createFailurePacing({
    async sampleSlowest() {
      samples++;
      return { cost: LEGACY, ms: sampleMs };
    },
    async wait(ms) {
      waits.push(ms);
    },
  });
  return { pacing, waits, samples: () => samples };
}

test('a failure against a faster hash waits until a check against the slowest would have ended, under the same load', async (t) => {
  const { pacing, waits } = recordingPacing(300);
  pacing.observe(CURRENT, 100);
  await pacing.pad(CURRENT, 100);
  t.deepEqual(waits, [200], 'three times as slow: 100 ms checked, 200 ms waited');
  // Under load both take longer; the failure keeps the same proportion.
  await pacing.pad(CURRENT, 200);
  t.deepEqual(waits, [200, 400]);
});

test('a failure against the slowest hash waits for nothing, and successes are never paced', async (t) => {
  const { pacing, waits } = recordingPacing(300);
  pacing.observe(CURRENT, 100);
  pacing.observe(LEGACY, 300);
  await pacing.pad(LEGACY, 310);
  t.deepEqual(waits, []);
});

test('the slowest hash is sampled once, however many failures arrive at once', async (t) => {
  const { pacing, waits, samples } = recordingPacing(300);
  pacing.observe(CURRENT, 100);
  await Promise.all([pacing.pad(CURRENT, 100), pacing.pad(CURRENT, 100), pacing.pad(CURRENT, 100)]);
  t.is(samples(), 1);
  t.is(waits.length, 3);
});

test('when today\'s hashes are the slowest (stronger settings than scrypt), nothing waits', async (t) => {
  const { pacing, waits } = recordingPacing(50);
  pacing.observe(CURRENT, 100);
  await pacing.pad(CURRENT, 100);
  t.deepEqual(waits, []);
});

test('the sample is a scrypt hash at the parameters the IdP used before argon2id', async (t) => {
  t.is(costOf(await legacyScryptSample()), LEGACY);
  t.is(costOf(scryptHash('x')), LEGACY);
});

test('a password log-in paces every failure by the cost of the hash it checked (the decoy for an unknown number), and no success', async (t) => {
  const store = openSqliteStore(':memory:', Date.now);
  t.teardown(() => store.close());
  const padded: string[] = [];
  const observed: string[] = [];
  const pacing: FailurePacing = {
    observe: (cost) => void observed.push(cost),
    pad: async (cost) => void padded.push(cost),
  };
  const hasher = createPasswordHasher({ memoryKib: 7168, passes: 5, parallelism: 1 });
  const login = createPasswordLogin({
    members: store.members, counters: store.counters, audit: store.audit, clock: Date.now,
    limits: loadLoginLimits({}, []),
    devices: createDeviceTrust({ keys: [Buffer.alloc(32, 7)], days: 180 }),
    hashing: createHashQueue({ concurrency: 1, maxQueue: 64, maxWaitMs: 60_000 }),
    passwords: hasher,
    pacing,
  });
  const legacyMember = await createMember(store);
  await store.members.update(legacyMember.id, { passwordHash: scryptHash('the password') });
  const attempt = (number: string, password: string) => login.logIn({ number, password, ip: '192.0.2.1' });

  await t.throwsAsync(attempt('999999999', 'a guess'), { instanceOf: AuthError });
  await t.throwsAsync(attempt(legacyMember.number, 'a guess'), { instanceOf: AuthError });
  t.deepEqual(padded, ['argon2id:7168:5:1', LEGACY], 'the unknown number is paced from the decoy\'s cost, the member from scrypt\'s');
  await attempt(legacyMember.number, 'the password');
  t.is(padded.length, 2, 'a success is not paced');
  t.deepEqual(observed, ['argon2id:7168:5:1', LEGACY, LEGACY], 'every check is timed');
});
