import test from 'ava';
import { AuthError } from '../../src/auth/auth-error.ts';
import { createDeviceTrust } from '../../src/auth/password/device-trust.ts';
import { createHashQueue } from '../../src/auth/password/hash-queue.ts';
import { createPasswordLogin } from '../../src/auth/password/password-login.ts';
import { loadLoginLimits } from '../../src/config/protection.ts';
import { createPasswordHasher, type PasswordHasher } from '../../src/members/password.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { scryptHash } from '../helpers/legacy-password.ts';
import { createMember } from '../helpers/members.ts';

// Settings other than the defaults, to show they are the ones used: as strong as OWASP's by its table.
const SETTINGS = { memoryKib: 7168, passes: 5, parallelism: 1 };

/** A password log-in over a fresh store, whose hasher notes every hash it is asked to verify. */
function setUp(t: { teardown(fn: () => unknown): void }) {
  const store = openSqliteStore(':memory:', Date.now);
  t.teardown(() => store.close());
  const hasher = createPasswordHasher(SETTINGS);
  const verified: string[] = [];
  const passwords: PasswordHasher = {
    ...hasher,
    verify(password, encoded) {
      verified.push(encoded);
      return hasher.verify(password, encoded);
    },
  };
  const problems: string[] = [];
  const login = createPasswordLogin({
    members: store.members, counters: store.counters, audit: store.audit, clock: Date.now,
    limits: loadLoginLimits({}, problems),
    devices: createDeviceTrust({ keys: [Buffer.alloc(32, 7)], days: 180 }),
    hashing: createHashQueue({ concurrency: 1, maxQueue: 64, maxWaitMs: 60_000 }),
    passwords,
  });
  const attempt = (number: string, password: string) => login.logIn({ number, password, ip: '192.0.2.1' });
  return { store, hasher, verified, attempt };
}

test('an unknown number is checked against an argon2id decoy at the current settings, as a member\'s wrong password is', async (t) => {
  const { store, hasher, verified, attempt } = setUp(t);
  const member = await createMember(store);
  await store.members.update(member.id, { passwordHash: await hasher.hash('the password') });
  await t.throwsAsync(attempt('999999999', 'a guess'), { instanceOf: AuthError, message: /incorrect/ });
  await t.throwsAsync(attempt(member.number, 'a guess'), { instanceOf: AuthError, message: /incorrect/ });
  t.is(verified.length, 2, 'one hash checked for each');
  const [decoy, own] = verified as [string, string];
  t.true(decoy.startsWith('$argon2id$v=19$m=7168,t=5,p=1$'), 'the decoy is argon2id at the settings');
  t.false(hasher.needsRehash(decoy));
  t.is(decoy.replace(/\$[^$]*\$[^$]*$/, ''), own.replace(/\$[^$]*\$[^$]*$/, ''), 'the same algorithm and cost as the member\'s own hash');
});

test('a member with a scrypt hash logs in and is re-hashed with argon2id at the settings; the new hash works', async (t) => {
  const { store, hasher, attempt } = setUp(t);
  const member = await createMember(store);
  await store.members.update(member.id, { passwordHash: scryptHash('the password') });
  t.is((await attempt(member.number, 'the password')).id, member.id);
  const upgraded = (await store.members.findById(member.id))!.passwordHash;
  t.true(upgraded.startsWith('$argon2id$v=19$m=7168,t=5,p=1$'));
  t.false(hasher.needsRehash(upgraded));
  t.is((await attempt(member.number, 'the password')).id, member.id);
  t.is((await store.members.findById(member.id))!.passwordHash, upgraded, 'a current hash is left as it is');
});

test('a failed log-in re-hashes nothing', async (t) => {
  const { store, attempt } = setUp(t);
  const member = await createMember(store);
  const legacy = scryptHash('the password');
  await store.members.update(member.id, { passwordHash: legacy });
  await t.throwsAsync(attempt(member.number, 'a guess'), { instanceOf: AuthError });
  t.is((await store.members.findById(member.id))!.passwordHash, legacy);
});
