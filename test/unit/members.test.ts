import test from 'ava';
import { openStore } from '../../src/store/open.ts';
import type { Member, Store } from '../../src/store/port.ts';
import { verifyPassword } from '../../src/members/password.ts';
import {
  createMember, findMemberByNumber, maskMemberNumber, maskPhone, MemberInputError, memberClaims, publicView,
  setPassword, setPhone, setStatus, type NewMember,
} from '../../src/members/members.ts';
import {
  COUNTRY_CODES, validateCountry, validateDisplayName, validateMemberNumber, validatePassword, validatePhone, validateStatus,
} from '../../src/members/validate.ts';

const fixedClock = () => Date.parse('2026-03-01T09:00:00.000Z');
const taro: NewMember = { number: '300000001', name: 'Taro Yamada', phone: '+819012345678', country: 'JP', password: 'correct horse battery' };

async function withStore(run: (store: Store) => Promise<void>): Promise<void> {
  const store = await openStore('sqlite::memory:', { clock: fixedClock });
  try {
    await run(store);
  } finally {
    await store.close();
  }
}

async function refusal(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof MemberInputError)) throw new Error(`expected MemberInputError, got ${String(error)}`);
  return error.problems;
}

test('member numbers are 7 to 10 digits', (t) => {
  t.deepEqual(validateMemberNumber(' 300000001 '), { ok: true, value: '300000001' });
  t.true(validateMemberNumber('1234567').ok);
  t.true(validateMemberNumber('1234567890').ok);
  for (const bad of ['123456', '12345678901', '30000000a', '+300000001', '３００００００01', '', 42]) {
    t.false(validateMemberNumber(bad).ok, String(bad));
  }
});

test('display names are trimmed, 1 to 100 characters, without control characters', (t) => {
  t.deepEqual(validateDisplayName('  山田 太郎 '), { ok: true, value: '山田 太郎' });
  t.true(validateDisplayName('𝒜'.repeat(100)).ok, 'counted in characters, not UTF-16 units');
  t.false(validateDisplayName('a'.repeat(101)).ok);
  t.false(validateDisplayName('   ').ok);
  t.false(validateDisplayName('Taro\nYamada').ok);
  t.false(validateDisplayName('Taro\u0000').ok);
});

test('phones are E.164', (t) => {
  t.deepEqual(validatePhone(' +819012345678 '), { ok: true, value: '+819012345678' });
  t.true(validatePhone('+12025550123').ok);
  t.true(validatePhone('+12345678').ok);
  t.true(validatePhone('+123456789012345').ok);
  for (const bad of ['819012345678', '+0819012345678', '+1234567', '+1234567890123456', '+81 90 1234 5678', '+81-90-1234-5678', '']) {
    t.false(validatePhone(bad).ok, bad);
  }
});

test('countries are officially assigned ISO 3166-1 alpha-2 codes, normalised to upper case', (t) => {
  t.is(COUNTRY_CODES.size, 249);
  t.deepEqual(validateCountry('jp'), { ok: true, value: 'JP' });
  t.deepEqual(validateCountry('Gb'), { ok: true, value: 'GB' });
  for (const assigned of ['AX', 'BQ', 'CW', 'SS', 'SX', 'AQ', 'UM']) t.true(validateCountry(assigned).ok, assigned);
  // Reserved, user-assigned or withdrawn codes are not countries a member can live in.
  for (const bad of ['UK', 'EU', 'XK', 'SU', 'YU', 'AN', 'ZZ', 'JPN', 'J', '', 'Japan']) t.false(validateCountry(bad).ok, bad);
});

test('passwords are 8 to 128 characters and not only whitespace, and are never echoed', (t) => {
  t.deepEqual(validatePassword(' spaces kept '), { ok: true, value: ' spaces kept ' });
  t.true(validatePassword('x'.repeat(128)).ok);
  const refusals = ['', '        ', 'short', 'x'.repeat(129)].map(validatePassword);
  t.deepEqual(refusals.map((r) => r.ok), [false, false, false, false]);
  for (const r of refusals) if (!r.ok) t.notRegex(r.reason, /xxxx|short/);
});

test('statuses are active, locked or disabled', (t) => {
  for (const status of ['active', 'locked', 'disabled']) t.true(validateStatus(status).ok);
  t.false(validateStatus('deleted').ok);
  t.false(validateStatus('ACTIVE').ok);
});

test('createMember stores a normalised, active member with a random sub and a hashed password', async (t) => {
  await withStore(async (store) => {
    const member = await createMember(store.members, { ...taro, country: 'jp', name: ' Taro Yamada ' }, fixedClock);
    t.regex(member.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    t.not(member.id, member.number);
    t.like(member, { number: '300000001', name: 'Taro Yamada', country: 'JP', status: 'active' });
    t.deepEqual(member.createdAt, new Date(fixedClock()));
    t.false(member.passwordHash.includes('correct horse'));
    t.true(await verifyPassword('correct horse battery', member.passwordHash));

    const stored = await findMemberByNumber(store.members, '300000001');
    t.is(stored?.id, member.id);
    const second = await createMember(store.members, { ...taro, number: '300000002' }, fixedClock);
    t.not(second.id, member.id);
  });
});

test('createMember reports every problem at once and stores nothing', async (t) => {
  await withStore(async (store) => {
    const problems = await refusal(createMember(store.members, { number: '12', name: '', phone: '0901', country: 'XX', password: '' }, fixedClock));
    t.is(problems.length, 5);
    t.deepEqual(problems.map((p) => p.split(' ')[0]), ['member', 'name', 'phone', 'country', 'password']);
    t.deepEqual(await store.members.list({ limit: 10 }), []);
  });
});

test('createMember refuses a member number that is taken', async (t) => {
  await withStore(async (store) => {
    const first = await createMember(store.members, taro, fixedClock);
    const problems = await refusal(createMember(store.members, { ...taro, name: 'Someone Else' }, fixedClock));
    t.deepEqual(problems, ['member number 300000001 is already taken']);
    const members = await store.members.list({ limit: 10 });
    t.deepEqual(members.map((m) => [m.id, m.name]), [[first.id, 'Taro Yamada']]);
  });
});

test('setPhone, setPassword and setStatus validate and change one member', async (t) => {
  await withStore(async (store) => {
    const member = await createMember(store.members, taro, fixedClock);
    t.is((await setPhone(store.members, member.id, '+447700900123'))?.phone, '+447700900123');
    t.regex((await refusal(setPhone(store.members, member.id, '07700900123'))).join(), /^phone must be E\.164.*"07700900123"$/);
    t.is((await findMemberByNumber(store.members, '300000001'))?.phone, '+447700900123');

    const changed = await setPassword(store.members, member.id, 'a new passphrase');
    t.true(await verifyPassword('a new passphrase', changed!.passwordHash));
    t.false(await verifyPassword('correct horse battery', changed!.passwordHash));
    await refusal(setPassword(store.members, member.id, 'short'));

    t.is((await setStatus(store.members, member.id, 'disabled'))?.status, 'disabled');
    await refusal(setStatus(store.members, member.id, 'gone'));
    t.is(await setPhone(store.members, 'no-such-id', '+447700900123'), undefined);
  });
});

test('findMemberByNumber finds nobody for an unknown or malformed number', async (t) => {
  await withStore(async (store) => {
    await createMember(store.members, taro, fixedClock);
    t.is(await findMemberByNumber(store.members, '300000009'), undefined);
    t.is(await findMemberByNumber(store.members, 'not a number'), undefined);
  });
});

test('publicView is JSON-safe and holds no password hash', (t) => {
  const member = sampleMember();
  const view = publicView(member);
  t.deepEqual(view, {
    id: member.id, number: '300000001', name: 'Taro Yamada', phone: '+819012345678', country: 'JP', status: 'active',
    createdAt: '2026-03-01T09:00:00.000Z', updatedAt: '2026-03-02T10:00:00.000Z',
  });
  t.false(JSON.stringify(view).includes('scrypt'));
});

test('masks show only the last four digits', (t) => {
  t.is(maskMemberNumber('300000001'), '•••••0001');
  t.is(maskMemberNumber('1234567'), '•••4567');
  t.is(maskPhone('+819012345678'), '090-••••-5678', 'a Japanese mobile number as members write it');
  t.is(maskPhone('+817011112222'), '070-••••-2222');
  t.is(maskPhone('+81312345678'), '+•••••••5678', 'other numbers in E.164');
  t.is(maskPhone('+447700900123'), '+••••••••0123');
  t.is(maskPhone('+12345678'), '+••••5678');
  t.is(maskPhone('1234'), '••••', 'too short to reveal any digit');
});

test('memberClaims gives every claim the IdP knows for a member, with the opaque id as sub', (t) => {
  const member = sampleMember();
  t.deepEqual(memberClaims(member), {
    sub: member.id, name: 'Taro Yamada', phone_number: '+819012345678', jmb_member_number: '300000001',
  });
});

function sampleMember(): Member {
  return {
    id: '6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b', number: '300000001', name: 'Taro Yamada', phone: '+819012345678',
    country: 'JP', status: 'active', passwordHash: 'scrypt$32768$8$1$c2FsdA$aGFzaA', deviceGeneration: 0,
    createdAt: new Date('2026-03-01T09:00:00.000Z'), updatedAt: new Date('2026-03-02T10:00:00.000Z'),
  };
}
