import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/open.ts';
import { verifyPassword } from '../../src/members/password.ts';
import { assertOneLineReason, members, PASSWORD, tempDatabase, taroArgs, type Run } from '../helpers/members-cli.ts';

function assertNoSecrets(t: { false(v: boolean, m?: string): void }, result: Run) {
  const output = result.stdout + result.stderr;
  t.false(output.includes(PASSWORD), 'output shows the password');
  t.false(output.includes('scrypt') || output.includes('argon2'), 'output shows the password hash');
  t.false(output.toLowerCase().includes('passwordhash'), 'output names the password hash');
}

test('add prints the new member as JSON without secrets, and list and show find it', async (t) => {
  const { run, stored } = tempDatabase(t);
  const added = await run(['add', ...taroArgs, '--password', PASSWORD]);
  t.is(added.code, 0, added.stderr);
  t.is(added.stderr, '');
  assertNoSecrets(t, added);
  const member = JSON.parse(added.stdout);
  t.like(member, { number: '300000001', name: 'Taro Yamada', phone: '+819012345678', country: 'JP', status: 'active' });
  t.regex(member.id, /^[0-9a-f-]{36}$/);
  t.is(new Date(member.createdAt).toISOString(), member.createdAt);
  t.true(await verifyPassword(PASSWORD, (await stored('300000001'))!.passwordHash));

  const listed = await run(['list']);
  t.is(listed.code, 0);
  t.deepEqual(listed.stdout.trim().split('\n').map((line) => JSON.parse(line)), [member]);
  assertNoSecrets(t, listed);

  for (const target of [['--number', '300000001'], ['--id', member.id]]) {
    const shown = await run(['show', ...target]);
    t.is(shown.code, 0, shown.stderr);
    t.deepEqual(JSON.parse(shown.stdout), member);
  }
});

test('list pages through members in number order', async (t) => {
  const { run } = tempDatabase(t);
  for (const number of ['300000003', '300000001', '300000002']) {
    const added = await run(['add', ...taroArgs, '--number', number, '--password', PASSWORD]);
    t.is(added.code, 0, added.stderr);
  }
  const numbers = (r: Run) => r.stdout.trim().split('\n').map((line) => JSON.parse(line).number);
  t.deepEqual(numbers(await run(['list', '--limit', '2'])), ['300000001', '300000002']);
  t.deepEqual(numbers(await run(['list', '--after', '300000002'])), ['300000003']);
  assertOneLineReason(t, await run(['list', '--limit', 'lots']), /--limit/);
});

test('refused additions exit 1 with a one-line reason and write nothing', async (t) => {
  const { run } = tempDatabase(t);
  const cases: [string[], RegExp][] = [
    [[...taroArgs, '--phone', '09012345678', '--password', PASSWORD], /phone must be E\.164/],
    [[...taroArgs, '--phone', '+81 90 1234 5678', '--password', PASSWORD], /phone must be E\.164/],
    [[...taroArgs, '--password', ''], /password must not be empty/],
    [[...taroArgs, '--password', 'short'], /password must be at least 8 characters/],
    [[...taroArgs, '--country', 'XX', '--password', PASSWORD], /country must be an ISO 3166-1 alpha-2 code/],
    [[...taroArgs, '--country', 'UK', '--password', PASSWORD], /country/],
    [[...taroArgs, '--number', '12ab', '--password', PASSWORD], /member number must be 7 to 10 digits/],
    [[...taroArgs, '--name', 'Taro\nYamada', '--password', PASSWORD], /name must not contain control characters/],
  ];
  for (const [args, reason] of cases) {
    const result = await run(['add', ...args]);
    t.is(result.code, 1, args.join(' '));
    assertOneLineReason(t, result, reason);
    assertNoSecrets(t, result);
  }
  const listed = await run(['list']);
  t.is(listed.code, 0);
  t.is(listed.stdout, '', 'a refused add stored a member');
});

test('every problem with an addition is reported on the one line', async (t) => {
  const { run } = tempDatabase(t);
  const result = await run(['add', '--number', '1', '--name', ' ', '--phone', '123', '--country', 'ZZ', '--password', '']);
  t.is(result.code, 1);
  assertOneLineReason(t, result, /member number.*; name.*; phone.*; country.*; password/);
});

test('a duplicate member number is refused and the first member is kept', async (t) => {
  const { run, stored } = tempDatabase(t);
  const first = JSON.parse((await run(['add', ...taroArgs, '--password', PASSWORD])).stdout);
  const second = await run(['add', ...taroArgs, '--name', 'Hanako Sato', '--password', 'another password']);
  t.is(second.code, 1);
  assertOneLineReason(t, second, /^member number 300000001 is already taken\n$/);
  const kept = await stored('300000001');
  t.is(kept?.id, first.id);
  t.is(kept?.name, 'Taro Yamada');
  t.true(await verifyPassword(PASSWORD, kept!.passwordHash));
  t.is((await run(['list'])).stdout.trim().split('\n').length, 1);
});

test('set-password changes which password is accepted, from an option or from stdin', async (t) => {
  const { run, stored } = tempDatabase(t);
  t.is((await run(['add', ...taroArgs, '--password', PASSWORD])).code, 0);

  const changed = await run(['set-password', '--number', '300000001', '--password', 'Mount Fuji 2026']);
  t.is(changed.code, 0, changed.stderr);
  t.false(changed.stdout.includes('Mount Fuji 2026') || changed.stdout.includes('scrypt'));
  let hash = (await stored('300000001'))!.passwordHash;
  t.true(await verifyPassword('Mount Fuji 2026', hash));
  t.false(await verifyPassword(PASSWORD, hash));

  const piped = await run(['set-password', '--number', '300000001', '--password-stdin'], 'from the pipe 42\n');
  t.is(piped.code, 0, piped.stderr);
  hash = (await stored('300000001'))!.passwordHash;
  t.true(await verifyPassword('from the pipe 42', hash), 'the trailing newline is not part of the password');
  t.false(await verifyPassword('Mount Fuji 2026', hash));

  const empty = await run(['set-password', '--number', '300000001', '--password-stdin'], '\n');
  t.is(empty.code, 1);
  assertOneLineReason(t, empty, /password must not be empty/);
  t.is((await stored('300000001'))!.passwordHash, hash, 'a refused password replaced the old one');
});

test('set-phone and disable change the member and print it', async (t) => {
  const { run, stored } = tempDatabase(t);
  t.is((await run(['add', ...taroArgs, '--password', PASSWORD])).code, 0);

  const desk = ['--by', 'Hanako Sato', '--reason', 'moved to the UK'];
  const phoned = await run(['set-phone', '--number', '300000001', '--phone', '+447700900123', ...desk]);
  t.is(phoned.code, 0, phoned.stderr);
  t.is(JSON.parse(phoned.stdout).phone, '+447700900123');
  const badPhone = await run(['set-phone', '--number', '300000001', '--phone', '447700900123', ...desk]);
  t.is(badPhone.code, 1);
  assertOneLineReason(t, badPhone, /phone must be E\.164/);
  t.is((await stored('300000001'))?.phone, '+447700900123');

  const disabled = await run(['disable', '--number', '300000001']);
  t.is(disabled.code, 0, disabled.stderr);
  t.is(JSON.parse(disabled.stdout).status, 'disabled');
  t.is((await stored('300000001'))?.status, 'disabled');
});

test('an unknown member is refused with exit 1', async (t) => {
  const { run } = tempDatabase(t);
  for (const args of [['show', '--number', '300000009'], ['disable', '--number', '300000009'],
    ['set-phone', '--id', 'no-such-id', '--phone', '+447700900123', '--by', 'Hanako Sato', '--reason', 'new phone'], ['set-password', '--number', '300000009', '--password', PASSWORD]]) {
    const result = await run(args);
    t.is(result.code, 1, args.join(' '));
    assertOneLineReason(t, result, /no member with (number 300000009|id "no-such-id")/);
    assertNoSecrets(t, result);
  }
});

test('usage errors exit 2 with a one-line reason and never echo a stray password', async (t) => {
  const { run, dir } = tempDatabase(t);
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['add', '--number', '300000001', '--password', PASSWORD], /missing --name/],
    [['add', ...taroArgs], /missing --password or --password-stdin/],
    [['add', ...taroArgs, '--password', PASSWORD, '--password-stdin'], /not both/],
    [['add', ...taroArgs, '--pasword', PASSWORD], /Unknown option '--pasword'/],
    [['set-password', '--number', '300000001', PASSWORD], /unexpected argument/],
    [['show'], /exactly one of --number and --id/],
    [['show', '--number'], /--number/],
  ];
  for (const [args, reason] of cases) {
    const result = await run(args);
    t.is(result.code, 2, args.join(' '));
    assertOneLineReason(t, result, reason);
    assertNoSecrets(t, result);
  }
  t.false(existsSync(path.join(dir, 'jmb.db')), 'a usage error opened the store');
});

test('help documents every command and --password-stdin', async (t) => {
  const { run } = tempDatabase(t);
  for (const args of [['help'], ['--help'], ['add', '--help']]) {
    const result = await run(args);
    t.is(result.code, 0);
    for (const word of ['add', 'list', 'show', 'set-phone', 'set-password', 'disable', 'unlock', 'reset-sms', 'passkeys', 'remove-passkey', 'enable', '--by', '--password-stdin', 'DATABASE_URL']) {
      t.true(result.stdout.includes(word), `${args.join(' ')} help lacks ${word}`);
    }
  }
});

test('without DATABASE_URL the tool uses jmb-idp.db under DATA_DIR, like the server', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-members-data-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const added = await members(['add', ...taroArgs, '--password', PASSWORD], { env: { DATA_DIR: dir } });
  t.is(added.code, 0, added.stderr);
  const store = await openStore(`sqlite:${path.join(dir, 'jmb-idp.db')}`);
  t.teardown(() => store.close());
  t.is((await store.members.findByNumber('300000001'))?.name, 'Taro Yamada');
});

test('activity shows the member\'s audit trail, newest first, without secrets', async (t) => {
  const { run, env } = tempDatabase(t);
  const added = await run(['add', ...taroArgs, '--password', PASSWORD]);
  const member = JSON.parse(added.stdout) as { id: string };
  const store = await openStore(env.DATABASE_URL);
  try {
    await store.audit.append({ memberId: member.id, at: new Date('2026-11-01T00:00:00Z'), type: 'sms.sent', outcome: 'success', ip: '203.0.113.9' });
    await store.audit.append({ memberId: member.id, at: new Date('2026-11-02T00:00:00Z'), type: 'sms.verify', outcome: 'failure', ip: '203.0.113.9' });
  } finally {
    await store.close();
  }
  const shown = await run(['activity', '--number', '300000001']);
  t.is(shown.code, 0);
  const rows = shown.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.deepEqual(rows.map((r) => [r.at, r.type, r.outcome, r.ip]), [
    ['2026-11-02T00:00:00.000Z', 'sms.verify', 'failure', '203.0.113.9'],
    ['2026-11-01T00:00:00.000Z', 'sms.sent', 'success', '203.0.113.9'],
  ]);
  const unknown = await run(['activity', '--number', '399999999']);
  t.is(unknown.code, 1);
});

test('add and set-password hash at the PASSWORD_ARGON2_* settings of the environment, which are checked first', async (t) => {
  const { env, stored } = tempDatabase(t);
  const settings = { ...env, PASSWORD_ARGON2_MEMORY_KIB: '12288', PASSWORD_ARGON2_PASSES: '3' };
  const added = await members(['add', ...taroArgs, '--password', PASSWORD], { env: settings });
  t.is(added.code, 0, added.stderr);
  t.true((await stored('300000001'))!.passwordHash.startsWith('$argon2id$v=19$m=12288,t=3,p=1$'));
  const changed = await members(['set-password', '--number', '300000001', '--password', 'Mount Fuji 2026'], { env: { ...env, PASSWORD_ARGON2_MEMORY_KIB: '47104', PASSWORD_ARGON2_PASSES: '1' } });
  t.is(changed.code, 0, changed.stderr);
  const hash = (await stored('300000001'))!.passwordHash;
  t.true(hash.startsWith('$argon2id$v=19$m=47104,t=1,p=1$'));
  t.true(await verifyPassword('Mount Fuji 2026', hash));
  const refused = await members(['set-password', '--number', '300000001', '--password', 'Mount Fuji 2027'], { env: { ...env, PASSWORD_ARGON2_MEMORY_KIB: '1024' } });
  t.is(refused.code, 1);
  assertOneLineReason(t, refused, /^PASSWORD_ARGON2_MEMORY_KIB × PASSWORD_ARGON2_PASSES must be at least/);
  t.is((await stored('300000001'))!.passwordHash, hash, 'nothing changed');
});
