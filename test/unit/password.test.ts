import test from 'ava';
import { OWASP_ARGON2ID } from '../../src/config/passwords.ts';
import { createPasswordHasher, defaultPasswordHasher, hashPassword, verifyPassword } from '../../src/members/password.ts';
import { scryptHash } from '../helpers/legacy-password.ts';

const PASSWORD = 'correct horse battery staple';
// Cheaper than OWASP's but as strong by its own table (7 MiB × 5 passes): for the parameter tests.
const WEAKER = { memoryKib: 7168, passes: 5, parallelism: 1 };

test('an argon2id hash at OWASP\'s parameters is a PHC string that verifies its password and no other', async (t) => {
  const hash = await hashPassword(PASSWORD);
  t.regex(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/, '16 bytes of salt, 32 of hash, unpadded base64');
  t.true(await verifyPassword(PASSWORD, hash));
  t.false(await verifyPassword('correct horse battery stapler', hash));
  t.false(await verifyPassword('', hash));
  t.not(await hashPassword(PASSWORD), hash, 'a fresh salt each time');
});

test('the parameters a hasher is built with are the ones stored with each hash', async (t) => {
  const hasher = createPasswordHasher({ memoryKib: 12288, passes: 3, parallelism: 2 });
  const hash = await hasher.hash(PASSWORD);
  t.true(hash.startsWith('$argon2id$v=19$m=12288,t=3,p=2$'));
  t.true(await hasher.verify(PASSWORD, hash));
  t.true(await defaultPasswordHasher.verify(PASSWORD, hash), 'any hasher verifies any stored parameters');
});

test('passwords match in NFKC: the same characters typed full-width still log in', async (t) => {
  const hash = await hashPassword('Fuji 3776');
  t.true(await verifyPassword('Ｆｕｊｉ　３７７６', hash));
});

test('scrypt hashes made before argon2id still verify', async (t) => {
  const hash = scryptHash(PASSWORD);
  t.true(await verifyPassword(PASSWORD, hash));
  t.false(await verifyPassword('not the password', hash));
});

test('malformed or out-of-bounds hashes never match, and never throw', async (t) => {
  const good = await createPasswordHasher(WEAKER).hash(PASSWORD);
  const [, , , , salt, key] = good.split('$');
  const legacy = scryptHash(PASSWORD).split('$');
  const malformed = [
    '',
    PASSWORD,
    '$argon2id$v=19$m=7168,t=5,p=1$$',
    `$argon2id$v=16$m=7168,t=5,p=1$${salt}$${key}`,
    `$argon2i$v=19$m=7168,t=5,p=1$${salt}$${key}`,
    `$argon2id$v=19$t=5,m=7168,p=1$${salt}$${key}`,
    `$argon2id$v=19$m=7168,t=0,p=1$${salt}$${key}`,
    `$argon2id$v=19$m=7168,t=5,p=0$${salt}$${key}`,
    `$argon2id$v=19$m=8,t=5,p=2$${salt}$${key}`,
    `$argon2id$v=19$m=99999999999,t=5,p=1$${salt}$${key}`,
    `$argon2id$v=19$m=7168,t=1000,p=1$${salt}$${key}`,
    `$argon2id$v=19$m=7168,t=5,p=1$${salt}==$${key}`,
    `$argon2id$v=19$m=7168,t=5,p=1$${salt}$${key}$`,
    `$argon2id$v=19$m=7168,t=5,p=1$c2FsdA$${key}`,
    `$argon2id$v=19$m=7168,t=5,p=1$${salt}$aGFzaA`,
    ['scrypt', 'x', ...legacy.slice(2)].join('$'),
    ['scrypt', 30000, ...legacy.slice(2)].join('$'),
    ['scrypt', 2 ** 30, ...legacy.slice(2)].join('$'),
    [...legacy.slice(0, 5), 'aGFzaA'].join('$'),
    legacy.slice(0, 5).join('$'),
  ];
  for (const hash of malformed) t.false(await verifyPassword(PASSWORD, hash), hash);
});

test('needsRehash: scrypt and any other argon2id cost are re-hashed, the current parameters are not', async (t) => {
  const current = defaultPasswordHasher;
  t.true(current.needsRehash(scryptHash(PASSWORD)), 'scrypt');
  t.true(current.needsRehash(await createPasswordHasher(WEAKER).hash(PASSWORD)), 'weaker argon2id');
  t.true(current.needsRehash(await createPasswordHasher({ ...OWASP_ARGON2ID, passes: 3 }).hash(PASSWORD)), 'another cost: a log-in costs what the settings say');
  t.true(current.needsRehash('not a hash'));
  t.false(current.needsRehash(await current.hash(PASSWORD)), 'current');
  const weaker = createPasswordHasher(WEAKER);
  t.false(weaker.needsRehash(await weaker.hash(PASSWORD)), 'current for a hasher with other settings');
});
