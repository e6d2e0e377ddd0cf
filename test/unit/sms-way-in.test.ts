import test from 'ava';
import { createSmsOtp } from '../../src/auth/sms-otp/sms-otp.ts';
import { createSmsWayIn } from '../../src/auth/sms-otp/way-in.ts';
import { openStore } from '../../src/store/open.ts';
import { createMember } from '../helpers/members.ts';
import { MemorySms } from '../helpers/memory-sms.ts';

const LIMITS = { cooldownSeconds: 60, burstPerMember: 3, burstWindowSeconds: 300, perMemberPerDay: 10, perPhonePerDay: 10, perIpPerHour: 20, perHour: 1000 };

async function setup() {
  let now = Date.UTC(2026, 10, 25, 3, 0, 0);
  const clock = () => now;
  const store = await openStore('sqlite::memory:', { clock });
  const sms = new MemorySms();
  const smsOtp = createSmsOtp({
    documents: store.documents, counters: store.counters, audit: store.audit, sender: sms, clock, limits: LIMITS,
    hashKey: Buffer.alloc(32, 7), issuerHost: 'idp.jmb.example',
  });
  const wayIn = createSmsWayIn({ members: store.members, counters: store.counters, smsOtp });
  const request = (number: string, bindTo = 'interaction-1') => ({ number, bindTo, ip: '203.0.113.5', locale: 'en' as const });
  return { store, sms, wayIn, request, advance: (seconds: number) => { now += seconds * 1000; } };
}

test('a code goes only to an active member with a Japanese mobile, as typed on the log-in page; the right code gives the member once', async (t) => {
  const { store, sms, wayIn, request } = await setup();
  const member = await createMember(store, { phone: '+819033334444' });
  await wayIn.send(request(` ${member.number.slice(0, 3)}-${member.number.slice(3)} `));
  t.is(sms.sent.length, 1, 'spaces and hyphens are read as the password log-in reads them');
  const result = await wayIn.verify({ ...request(member.number), code: sms.lastCode() });
  t.is('member' in result ? result.member.id : undefined, member.id);
  t.deepEqual(await wayIn.verify({ ...request(member.number), code: sms.lastCode() }), { refused: 'not_verified' }, 'single use');
  t.deepEqual(await wayIn.verify({ ...request(member.number, 'interaction-2'), code: sms.lastCode() }), { refused: 'not_verified' }, 'bound to its sign-in');
});

test('nothing is sent, and nothing said, for an unknown number, a member abroad, a disabled member, or one whose budget is spent', async (t) => {
  const { store, sms, wayIn, request } = await setup();
  const abroad = await createMember(store, { phone: '+447700900123', country: 'GB' });
  const landline = await createMember(store, { phone: '+81312345678', country: 'JP' });
  const disabled = await createMember(store, { phone: '+819055556666', status: 'disabled' });
  for (const number of ['888888888', 'not a number', abroad.number, landline.number, disabled.number]) {
    await t.notThrowsAsync(wayIn.send(request(number)));
    t.deepEqual(await wayIn.verify({ ...request(number), code: '123456' }), { refused: 'not_verified' });
  }
  t.is(sms.sent.length, 0);

  const member = await createMember(store, { phone: '+819077778888' });
  await wayIn.send(request(member.number));
  await t.notThrowsAsync(wayIn.send(request(member.number)), 'a cooldown reads like nothing at all');
  sms.failNext('unavailable');
  await t.notThrowsAsync(wayIn.send(request(member.number, 'interaction-3')), 'and so does a failed delivery');
  t.is(sms.sent.length, 1);
});

test('one sign-in tries at most ten codes, whatever numbers they were for', async (t) => {
  const { store, sms, wayIn, request } = await setup();
  const member = await createMember(store, { phone: '+819011112222' });
  for (let i = 0; i < 10; i++) await wayIn.verify({ ...request(`88888888${i}`), code: '000000' });
  await wayIn.send(request(member.number));
  t.deepEqual(await wayIn.verify({ ...request(member.number), code: sms.lastCode() }), { refused: 'too_many_tries' });
  const elsewhere = await wayIn.verify({ ...request(member.number, 'interaction-2'), code: sms.lastCode() });
  t.deepEqual(elsewhere, { refused: 'not_verified' }, 'another sign-in has its own count (the code belongs to the first)');
});
