import { DuplicateError, type Member, type Passkey } from '../../src/store/port.ts';
import type { Contract } from './store-contract.ts';

const minute = 60_000;

/** A COSE public key's worth of bytes, every value from 0 to 255 among them. */
const keyBytes = (seed: number) => Uint8Array.from({ length: 77 + seed }, (_, i) => (i * 37 + seed) % 256);

const passkey = (id: string, memberId: string, at: number, overrides: Partial<Passkey> = {}): Passkey => ({
  id,
  memberId,
  userHandle: `handle-${memberId}`,
  publicKey: keyBytes(id.length),
  counter: 0,
  transports: ['internal', 'hybrid'],
  synced: true,
  backedUp: true,
  aaguid: 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd',
  name: 'iCloud Keychain',
  createdAt: new Date(at),
  lastUsedAt: undefined,
  lastUsedFrom: undefined,
  ...overrides,
});

/** The passkey part of the store contract, registered by registerStoreContract. */
export const passkeyContract: Record<string, Contract> = {
  'create, then findById returns every field as stored': async (t, { store, clock }) => {
    const synced = passkey('cred-synced_-AbC', 'm1', clock());
    const deviceBound = passkey('cred-device', 'm1', clock() + minute, {
      publicKey: Uint8Array.from([0, 255, 0, 128, 1, 0]),
      counter: 42,
      transports: [],
      synced: false,
      backedUp: false,
      aaguid: '00000000-0000-0000-0000-000000000000',
      name: 'Security key 鍵 🔑',
      lastUsedAt: new Date(clock() + 2 * minute),
      lastUsedFrom: 'Chrome on Windows',
    });
    await store.passkeys.create(synced);
    await store.passkeys.create(deviceBound);
    for (const created of [synced, deviceBound]) {
      const found = await store.passkeys.findById(created.id);
      t.deepEqual(found, created);
      t.is(found?.publicKey.constructor, Uint8Array);
      t.deepEqual([...found!.publicKey], [...created.publicKey]);
    }
    t.is(await store.passkeys.findById('cred-missing'), undefined);
  },
  'a registered credential id throws DuplicateError': async (t, { store, clock }) => {
    const first = passkey('cred-1', 'm1', clock());
    await store.passkeys.create(first);
    const error = await t.throwsAsync(store.passkeys.create(passkey('cred-1', 'm2', clock(), { name: 'Other' })),
      { instanceOf: DuplicateError });
    t.is(error?.field, 'id');
    t.deepEqual(await store.passkeys.findById('cred-1'), first);
    t.deepEqual(await store.passkeys.listForMember('m2'), []);
  },
  "listForMember is oldest first and only that member's": async (t, { store, clock }) => {
    const at = (minutes: number) => clock() + minutes * minute;
    await store.passkeys.create(passkey('cred-c', 'm1', at(2)));
    await store.passkeys.create(passkey('cred-a', 'm1', at(0)));
    await store.passkeys.create(passkey('cred-other', 'm2', at(1)));
    await store.passkeys.create(passkey('cred-b', 'm1', at(1)));
    const listed = await store.passkeys.listForMember('m1');
    t.deepEqual(listed.map((p) => p.id), ['cred-a', 'cred-b', 'cred-c']);
    t.deepEqual(listed[0], passkey('cred-a', 'm1', at(0)));
    t.deepEqual(await store.passkeys.listForMember('m2'), [passkey('cred-other', 'm2', at(1))]);
    t.deepEqual(await store.passkeys.listForMember('m3'), []);
  },
  'recordUse sets counter, time and place only while the counter is as expected': async (t, { store, clock }) => {
    const created = passkey('cred-1', 'm1', clock(), { counter: 5 });
    await store.passkeys.create(created);
    const at = new Date(clock() + minute);
    t.true(await store.passkeys.recordUse('cred-1', { expectedCounter: 5, counter: 6, at, from: 'Safari on iPhone' }));
    const used = { ...created, counter: 6, lastUsedAt: at, lastUsedFrom: 'Safari on iPhone' };
    t.deepEqual(await store.passkeys.findById('cred-1'), used);

    // A stale counter: another use got there first, nothing changes.
    t.false(await store.passkeys.recordUse('cred-1', { expectedCounter: 5, counter: 7, at: new Date(clock() + 2 * minute), from: 'Firefox' }));
    t.deepEqual(await store.passkeys.findById('cred-1'), used);
    t.false(await store.passkeys.recordUse('cred-missing', { expectedCounter: 0, counter: 1, at, from: undefined }));

    // A use from an unknown place replaces the last place with none.
    const later = new Date(clock() + 3 * minute);
    t.true(await store.passkeys.recordUse('cred-1', { expectedCounter: 6, counter: 9, at: later, from: undefined }));
    t.deepEqual(await store.passkeys.findById('cred-1'), { ...created, counter: 9, lastUsedAt: later, lastUsedFrom: undefined });
  },
  'of simultaneous uses with the same expected counter exactly one is recorded': async (t, { store, clock }) => {
    await store.passkeys.create(passkey('cred-1', 'm1', clock(), { counter: 10 }));
    const at = new Date(clock() + minute);
    const counters = [11, 12, 13, 14, 15];
    const results = await Promise.all(counters.map((counter) =>
      store.passkeys.recordUse('cred-1', { expectedCounter: 10, counter, at, from: `device ${counter}` })));
    t.is(results.filter(Boolean).length, 1);
    const winner = counters[results.indexOf(true)];
    const found = await store.passkeys.findById('cred-1');
    t.is(found?.counter, winner);
    t.is(found?.lastUsedFrom, `device ${winner}`);
  },
  'rename changes the name only for the member who owns the passkey': async (t, { store, clock }) => {
    const created = passkey('cred-1', 'm1', clock());
    await store.passkeys.create(created);
    t.false(await store.passkeys.rename('m2', 'cred-1', 'Stolen'));
    t.deepEqual(await store.passkeys.findById('cred-1'), created);
    t.false(await store.passkeys.rename('m1', 'cred-missing', 'Nothing'));

    t.true(await store.passkeys.rename('m1', 'cred-1', 'My iPhone 📱'));
    t.deepEqual(await store.passkeys.findById('cred-1'), { ...created, name: 'My iPhone 📱' });
    // The same name again is still the member's passkey.
    t.true(await store.passkeys.rename('m1', 'cred-1', 'My iPhone 📱'));
  },
  'remove deletes only for the member who owns the passkey, once': async (t, { store, clock }) => {
    const created = passkey('cred-1', 'm1', clock());
    const kept = passkey('cred-2', 'm1', clock() + minute);
    await store.passkeys.create(created);
    await store.passkeys.create(kept);
    t.false(await store.passkeys.remove('m2', 'cred-1'));
    t.deepEqual(await store.passkeys.findById('cred-1'), created);

    t.true(await store.passkeys.remove('m1', 'cred-1'));
    t.is(await store.passkeys.findById('cred-1'), undefined);
    t.deepEqual(await store.passkeys.listForMember('m1'), [kept]);
    t.false(await store.passkeys.remove('m1', 'cred-1'));
  },
  "forLogIn reads the passkey, its member as stored and every passkey of the member, oldest first": async (t, { store, clock }) => {
    const at = (minutes: number) => clock() + minutes * minute;
    const member: Member = {
      id: 'm1', number: '1000000009', name: 'Taro Suzuki 鈴木太郎 \u0000', phone: '+819012345678', country: 'JP', status: 'active',
      passwordHash: 'argon2id$v=19$m=19456,t=2,p=1$salt$hash', deviceGeneration: 3, createdAt: new Date(at(-60)), updatedAt: new Date(at(-30)),
    };
    await store.members.create(member);
    const phone = passkey('cred-phone', 'm1', at(2), { counter: 7, synced: false, lastUsedAt: new Date(at(3)), lastUsedFrom: 'Safari on iPhone' });
    const laptop = passkey('cred-laptop', 'm1', at(1));
    const other = passkey('cred-other', 'm2', at(0));
    for (const created of [phone, laptop, other]) await store.passkeys.create(created);

    t.deepEqual(await store.passkeys.forLogIn('cred-phone'), { passkey: phone, member, memberPasskeys: [laptop, phone] });
    t.deepEqual(await store.passkeys.forLogIn('cred-laptop'), { passkey: laptop, member, memberPasskeys: [laptop, phone] });
    t.is(await store.passkeys.forLogIn('cred-missing'), undefined);
    // A passkey whose member is gone still reads, without a member: the log-in refuses it.
    t.deepEqual(await store.passkeys.forLogIn('cred-other'), { passkey: other, member: undefined, memberPasskeys: [other] });
  },
  'countMembers counts members with at least one passkey, once each': async (t, { store, clock }) => {
    t.is(await store.passkeys.countMembers(), 0);
    await store.passkeys.create(passkey('cred-1', 'm1', clock()));
    await store.passkeys.create(passkey('cred-2', 'm1', clock() + minute));
    await store.passkeys.create(passkey('cred-3', 'm2', clock()));
    t.is(await store.passkeys.countMembers(), 2);
    await store.passkeys.remove('m2', 'cred-3');
    await store.passkeys.remove('m1', 'cred-1');
    t.is(await store.passkeys.countMembers(), 1);
  },
};
