import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openStore } from '../../src/store/open.ts';
import type { Passkey, Store } from '../../src/store/port.ts';
import { assertOneLineReason, PASSWORD, tempDatabase, taroArgs } from '../helpers/members-cli.ts';

const desk = ['--by', 'Hanako Sato', '--reason', 'caller verified by date of birth'];

/** A member added with the tool, and what the store holds of them, read and written straight through the store. */
async function withMember(t: Parameters<typeof tempDatabase>[0], args: string[] = taroArgs) {
  const db = tempDatabase(t);
  const added = await db.run(['add', ...args, '--password', PASSWORD]);
  if (added.code !== 0) throw new Error(added.stderr);
  const id = (JSON.parse(added.stdout) as { id: string }).id;
  const inStore = async <T>(use: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openStore(db.env.DATABASE_URL);
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  };
  const trail = () => inStore((store) => store.audit.listForMember(id, 50));
  return { ...db, id, inStore, trail };
}

let created = Date.parse('2026-10-01T00:00:00Z');

function passkey(memberId: string, id: string, name: string, lastUsedAt?: Date): Passkey {
  created += 60_000;
  return {
    id, memberId, name, userHandle: 'dXNlcg', publicKey: new Uint8Array([1, 2, 3]), counter: 0, transports: ['internal'],
    synced: true, backedUp: true, aaguid: '00000000-0000-0000-0000-000000000000',
    createdAt: new Date(created), lastUsedAt, lastUsedFrom: lastUsedAt && 'Safari on iPhone',
  };
}

const outbox = (dir: string) => {
  const file = path.join(dir, 'sms-outbox.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { to: string; body: string }) : [];
};

test('support desk: reset-sms turns SMS verification on again and unlock lifts log-in waits, each recorded with the operator', async (t) => {
  const { run, env } = tempDatabase(t);
  t.is((await run(['add', ...taroArgs, '--password', PASSWORD])).code, 0);
  const store = await openStore(env.DATABASE_URL);
  const member = (await store.members.findByNumber('300000001'))!;
  // As a hundred wrong codes and a run of failed log-ins from strangers leave them.
  await store.counters.increment(`sms-consecutive-failures:${member.id}`, 3600);
  for (let i = 0; i < 99; i++) await store.counters.increment(`sms-consecutive-failures:${member.id}`, 3600);
  await store.counters.increment('login-waits:wait:number:300000001', 900);
  await store.close();

  t.is((await run(['reset-sms', '--number', '300000001'])).code, 2, '--by is required');
  const reset = await run(['reset-sms', '--number', '300000001', '--by', 'Hanako Sato', '--reason', 'caller verified by date of birth']);
  t.is(reset.code, 0, reset.stderr);
  t.is(JSON.parse(reset.stdout).number, '300000001');
  t.is((await run(['unlock', '--number', '300000001', '--by', 'Hanako Sato'])).code, 2, '--reason is required');
  const unlocked = await run(['unlock', '--number', '300000001', '--by', 'Hanako Sato', '--reason', 'member locked out by strangers']);
  t.is(unlocked.code, 0, unlocked.stderr);

  const after = await openStore(env.DATABASE_URL);
  t.teardown(() => after.close());
  t.is(await after.counters.get(`sms-consecutive-failures:${member.id}`), undefined);
  t.is(await after.counters.get('login-waits:wait:number:300000001'), undefined);
  const trail = await after.audit.listForMember(member.id, 10);
  t.like(trail.find((event) => event.type === 'support.sms_reenabled'), { detail: { by: 'Hanako Sato', reason: 'caller verified by date of birth' } });
  t.like(trail.find((event) => event.type === 'support.unlocked'), { detail: { by: 'Hanako Sato', reason: 'member locked out by strangers' } });
});

test('support desk: an unknown member or a missing operator exits non-zero with one line and writes nothing', async (t) => {
  const { run } = tempDatabase(t);
  assertOneLineReason(t, await run(['unlock', '--number', '399999999', '--by', 'Hanako Sato', '--reason', 'caller verified']), /no member with number 399999999/);
  assertOneLineReason(t, await run(['reset-sms', '--number', '300000001']), /missing --by/);
  assertOneLineReason(t, await run(['logout-everywhere', '--number', '300000001', '--by', 'Hanako Sato']), /missing --reason/);
  assertOneLineReason(t, await run(['unlock', '--number', '300000001', '--by', '<script>', '--reason', 'caller verified']), /--by must name the operator/);
});

test('passkeys lists the member\'s passkeys with names and last use, and records who looked and why', async (t) => {
  const { run, id, inStore, trail } = await withMember(t);
  await inStore(async (store) => {
    await store.passkeys.create(passkey(id, 'cred-phone', 'iCloud Keychain', new Date('2026-11-20T01:02:03Z')));
    await store.passkeys.create(passkey(id, 'cred-key', 'YubiKey 5'));
  });

  const listed = await run(['passkeys', '--number', '300000001', ...desk]);
  t.is(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.deepEqual(rows.map((row) => [row.id, row.name, row.lastUsedAt, row.lastUsedFrom]), [
    ['cred-phone', 'iCloud Keychain', '2026-11-20T01:02:03.000Z', 'Safari on iPhone'],
    ['cred-key', 'YubiKey 5', null, null],
  ]);
  t.false('publicKey' in rows[0] || 'userHandle' in rows[0], 'the desk sees no key material');
  t.like((await trail())[0], { type: 'support.passkeys_listed', detail: { by: 'Hanako Sato', reason: 'caller verified by date of birth' } });
});

test('remove-passkey removes the lost device\'s passkey only, and records it; an unknown or another member\'s passkey changes nothing', async (t) => {
  const { run, id, inStore, trail } = await withMember(t);
  const other = await run(['add', ...taroArgs, '--number', '300000002', '--password', PASSWORD]);
  const otherId = (JSON.parse(other.stdout) as { id: string }).id;
  await inStore(async (store) => {
    await store.passkeys.create(passkey(id, 'cred-lost', 'Google Password Manager'));
    await store.passkeys.create(passkey(id, 'cred-kept', 'YubiKey 5'));
    await store.passkeys.create(passkey(otherId, 'cred-other', 'iCloud Keychain'));
  });

  for (const passkeyId of ['no-such-credential', 'cred-other']) {
    const refused = await run(['remove-passkey', '--number', '300000001', '--id', passkeyId, ...desk]);
    t.is(refused.code, 1);
    assertOneLineReason(t, refused, new RegExp(`member 300000001 has no passkey with id "${passkeyId}"`));
  }
  t.deepEqual(await trail(), [], 'a refused removal wrote to the audit trail');
  t.truthy(await inStore((store) => store.passkeys.findById('cred-other')), 'another member\'s passkey was removed');

  const removed = await run(['remove-passkey', '--number', '300000001', '--id', 'cred-lost', ...desk]);
  t.is(removed.code, 0, removed.stderr);
  t.deepEqual(await inStore(async (store) => (await store.passkeys.listForMember(id)).map((p) => p.id)), ['cred-kept']);
  t.like((await trail())[0], { type: 'support.passkey_removed', detail: { passkey: 'Google Password Manager', by: 'Hanako Sato' } });
});

test('enable lets a disabled member log in again, recorded with the operator', async (t) => {
  const { run, stored, trail } = await withMember(t);
  t.is((await run(['disable', '--number', '300000001'])).code, 0);
  const enabled = await run(['enable', '--number', '300000001', '--by', 'Hanako Sato', '--reason', 'fraud check cleared']);
  t.is(enabled.code, 0, enabled.stderr);
  t.is(JSON.parse(enabled.stdout).status, 'active');
  t.is((await stored('300000001'))?.status, 'active');
  t.like((await trail())[0], { type: 'support.enabled', detail: { by: 'Hanako Sato', reason: 'fraud check cleared' } });
});

test('set-phone binds a new phone: notices go to the old and the new number, and the change is recorded with both numbers masked', async (t) => {
  const { run, stored, trail, dir } = await withMember(t);
  const moved = await run(['set-phone', '--number', '300000001', '--phone', '+818012345678', ...desk]);
  t.is(moved.code, 0, moved.stderr);
  t.is(moved.stderr, '');
  t.is(JSON.parse(moved.stdout).phone, '+818012345678');
  t.is((await stored('300000001'))?.phone, '+818012345678');

  const sent = outbox(dir);
  t.deepEqual(sent.map((message) => message.to), ['+819012345678', '+818012345678']);
  t.regex(sent[0]!.body, /電話番号が別の番号に変更されました/);
  t.regex(sent[1]!.body, /この電話番号がJMBアカウントに登録されました/);
  t.false(sent.some((message) => /#\d{6}/.test(message.body)), 'a notice carries no code');
  t.like((await trail())[0], {
    type: 'support.phone_bound',
    detail: { from: '090-••••-5678', to: '080-••••-5678', noticeToPrevious: 'sent', noticeToCurrent: 'sent', by: 'Hanako Sato' },
  });
});

test('set-phone sends no notice to a number the IdP never sends SMS to', async (t) => {
  const { run, trail, dir } = await withMember(t, [...taroArgs, '--phone', '+447700900123']);
  const moved = await run(['set-phone', '--number', '300000001', '--phone', '+819087654321', ...desk]);
  t.is(moved.code, 0, moved.stderr);
  t.deepEqual(outbox(dir).map((message) => message.to), ['+819087654321']);
  t.like((await trail())[0], { detail: { noticeToPrevious: 'skipped', noticeToCurrent: 'sent' } });
});

test('desk commands refuse bad input with one line, before anything is written', async (t) => {
  const { run, stored, trail, dir } = await withMember(t);
  const cases: [string[], number, RegExp][] = [
    [['passkeys', '--number', '300000001', '--reason', 'x'], 2, /missing --by/],
    [['passkeys', '--number', '300000001', '--by', 'Hanako Sato'], 2, /missing --reason/],
    [['enable', '--number', '399999999', ...desk], 1, /no member with number 399999999/],
    [['remove-passkey', '--number', '300000001', ...desk], 2, /missing --id/],
    [['remove-passkey', '--number', '399999999', '--id', 'cred', ...desk], 1, /no member with number 399999999/],
    [['set-phone', '--number', '300000001', '--phone', '08012345678', ...desk], 1, /phone must be E\.164/],
    [['set-phone', '--number', '300000001', '--phone', '+819012345678', ...desk], 1, /already the member's number/],
    [['set-phone', '--number', '300000001', '--phone', '+818012345678', '--by', 'Hanako Sato'], 2, /missing --reason/],
  ];
  for (const [args, code, reason] of cases) {
    const result = await run(args);
    t.is(result.code, code, args.join(' '));
    assertOneLineReason(t, result, reason);
  }
  t.deepEqual(await trail(), []);
  t.is((await stored('300000001'))?.phone, '+819012345678');
  t.deepEqual(outbox(dir), []);
});
