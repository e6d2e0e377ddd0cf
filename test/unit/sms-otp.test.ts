import test from 'ava';
import { createSmsOtp, generateCode, isOtpError, reenableSmsVerification, type OtpError, type OtpPurpose } from '../../src/auth/sms-otp/sms-otp.ts';
import type { SmsDeliveryError } from '../../src/auth/sms-otp/sms-sender.ts';
import { openStore } from '../../src/store/open.ts';
import type { Member, Store } from '../../src/store/port.ts';
import { createMember } from '../helpers/members.ts';
import { MemorySms } from '../helpers/memory-sms.ts';

const LIMITS = { cooldownSeconds: 60, burstPerMember: 3, burstWindowSeconds: 300, perMemberPerDay: 10, perPhonePerDay: 10, perIpPerHour: 20, perHour: 1000 };

async function setup(limits = LIMITS) {
  let now = Date.UTC(2026, 10, 25, 3, 0, 0);
  const clock = () => now;
  const store: Store = await openStore('sqlite::memory:', { clock });
  const sms = new MemorySms();
  const otp = createSmsOtp({
    documents: store.documents, counters: store.counters, audit: store.audit, sender: sms, clock, limits,
    hashKey: Buffer.alloc(32, 1), issuerHost: 'idp.jmb.example',
  });
  const member = await createMember(store, { phone: '+819012345678', country: 'JP' });
  return {
    store, sms, otp, member,
    advance: (seconds: number) => { now += seconds * 1000; },
    scope: (purpose: OtpPurpose = 'step-up', bindTo = 'interaction-1', who: Member = member) => ({ member: who, purpose, bindTo, ip: '203.0.113.5', locale: 'en' as const }),
  };
}

const code = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (isOtpError(error)) return error;
    throw error;
  }
  return undefined;
};

test('a code goes out in the member\'s language, ends with the origin-bound line, and only a keyed hash is stored', async (t) => {
  const { sms, otp, store, scope } = await setup();
  const sent = await otp.issue(scope());
  t.is(sms.sent.length, 1);
  const { to, body } = sms.sent[0]!;
  t.is(to, '+819012345678');
  const value = sms.lastCode();
  t.regex(body, /^JMB verification code: \d{6}/);
  t.regex(body, /Never share this code/);
  t.true(body.endsWith(`\n@idp.jmb.example #${value}`));
  t.is(sent.maskedPhone.slice(-4), '5678');
  t.false(sent.maskedPhone.includes('9012'));
  const stored = JSON.stringify(await store.documents.find('SmsOtp', 'step-up:interaction-1'));
  t.false(stored.includes(value), 'the code itself is not stored');
});

test('the Japanese message names the programme and ends with the WebOTP line', async (t) => {
  const { sms, otp, scope } = await setup();
  await otp.issue({ ...scope(), locale: 'ja' });
  const body = sms.sent[0]!.body;
  t.regex(body, /^【JMB】認証コード：\d{6}/);
  t.regex(body, /誰にも教えないでください/);
  t.regex(body, /\n@idp\.jmb\.example #\d{6}$/);
});

test('a code works once, within five minutes', async (t) => {
  const { sms, otp, scope, advance } = await setup();
  await otp.issue(scope());
  await otp.verify({ ...scope(), code: sms.lastCode() });
  t.is((await code(otp.verify({ ...scope(), code: sms.lastCode() })))?.code, 'no_code', 'a used code is refused');

  advance(61);
  await otp.issue(scope());
  advance(5 * 60 + 1);
  t.is((await code(otp.verify({ ...scope(), code: sms.lastCode() })))?.code, 'no_code', 'an expired code is refused');
});

test('of two simultaneous submissions of the right code, exactly one succeeds', async (t) => {
  const { sms, otp, scope } = await setup();
  await otp.issue(scope());
  const results = await Promise.allSettled([otp.verify({ ...scope(), code: sms.lastCode() }), otp.verify({ ...scope(), code: sms.lastCode() })]);
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
});

test('five wrong tries burn a code', async (t) => {
  const { sms, otp, scope } = await setup();
  await otp.issue(scope());
  const right = sms.lastCode();
  const wrong = right === '000000' ? '111111' : '000000';
  for (let remaining = 4; remaining >= 1; remaining--) {
    const error = await code(otp.verify({ ...scope(), code: wrong }));
    t.is(error?.code, 'invalid_code');
    t.is(error?.triesLeft, remaining);
  }
  t.is((await code(otp.verify({ ...scope(), code: wrong })))?.code, 'code_exhausted');
  t.not((await code(otp.verify({ ...scope(), code: right })))?.code, undefined, 'even the right code no longer works');
});

test('ten failures in a row lock SMS verification for fifteen minutes; resending does not reset the count', async (t) => {
  const { sms, otp, scope, advance, store, member } = await setup();
  for (let round = 0; round < 2; round++) {
    await otp.issue(scope());
    const wrong = sms.lastCode() === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) await code(otp.verify({ ...scope(), code: wrong }));
    advance(61);
  }
  const locked = await code(otp.issue(scope()));
  t.is(locked?.code, 'locked');
  t.true(locked!.retryAt!.getTime() > Date.UTC(2026, 10, 25, 3, 0, 0));
  t.is(sms.sent.length, 2, 'no message while locked');
  t.true((await store.audit.listForMember(member.id, 50)).some((e) => e.type === 'sms.locked'));

  advance(15 * 60);
  await otp.issue(scope());
  await otp.verify({ ...scope(), code: sms.lastCode() });
  t.pass('the lock ends on its own');
});

test('a hundred failures in a row, across locks, turn SMS verification off until an operator turns it on again', async (t) => {
  const { sms, otp, scope, advance, store, member } = await setup({ ...LIMITS, perMemberPerDay: 1000, perPhonePerDay: 1000 });
  let failures = 0;
  let last: OtpError | undefined;
  while (failures < 100) {
    await otp.issue(scope());
    const wrong = sms.lastCode() === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5 && failures < 100; i++, failures++) last = await code(otp.verify({ ...scope(), code: wrong }));
    // Out of each lock and cooldown, ready for the next code.
    advance(15 * 60 + 1);
  }
  t.is(last?.code, 'disabled', 'the hundredth failure turns it off');
  const sent = sms.sent.length;
  t.is((await code(otp.issue(scope())))?.code, 'disabled', 'no lock ends it: no code goes out');
  advance(7 * 24 * 3600);
  t.is((await code(otp.issue(scope())))?.code, 'disabled', 'not even a week later');
  t.is(sms.sent.length, sent);
  t.true((await store.audit.listForMember(member.id, 200)).some((e) => e.type === 'sms.disabled'));

  await reenableSmsVerification(store.counters, member.id);
  await otp.issue(scope());
  await otp.verify({ ...scope(), code: sms.lastCode() });
  t.pass('an operator turned it on again');
});

test('ninety-nine failures and a success start the count again', async (t) => {
  const { sms, otp, scope, advance } = await setup({ ...LIMITS, perMemberPerDay: 1000, perPhonePerDay: 1000 });
  const fail = async (count: number) => {
    for (let done = 0; done < count;) {
      await otp.issue(scope());
      const wrong = sms.lastCode() === '000000' ? '111111' : '000000';
      for (let i = 0; i < 5 && done < count; i++, done++) await code(otp.verify({ ...scope(), code: wrong }));
      advance(15 * 60 + 1);
    }
  };
  await fail(99);
  await otp.issue(scope());
  await otp.verify({ ...scope(), code: sms.lastCode() });
  advance(61);
  await fail(10);
  advance(15 * 60 + 1);
  await otp.issue(scope());
  t.is(await code(otp.verify({ ...scope(), code: sms.lastCode() })), undefined);
});

test('a success resets the failure count', async (t) => {
  const { sms, otp, scope, advance } = await setup();
  await otp.issue(scope());
  const wrong = sms.lastCode() === '000000' ? '111111' : '000000';
  for (let i = 0; i < 4; i++) await code(otp.verify({ ...scope(), code: wrong }));
  await otp.verify({ ...scope(), code: sms.lastCode() });
  for (let round = 0; round < 2; round++) {
    advance(61);
    await otp.issue(scope());
    const w = sms.lastCode() === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) t.is((await code(otp.verify({ ...scope(), code: w })))?.code, 'invalid_code');
  }
  t.is((await code(otp.verify({ ...scope(), code: sms.lastCode() }))), undefined, 'eight failures after a success do not lock');
});

test('a resend waits for the cooldown', async (t) => {
  const { sms, otp, scope, advance } = await setup();
  const first = await otp.issue(scope());
  const early = await code(otp.issue(scope()));
  t.is(early?.code, 'cooldown');
  t.is(early?.retryAt?.getTime(), first.resendAt.getTime());
  advance(60);
  await otp.issue(scope());
  t.is(sms.sent.length, 2);
});

test('a step opened in a new sign-in sends at once within the member\'s burst budget; past it the member waits', async (t) => {
  const { sms, otp, scope, advance } = await setup();
  await otp.issue(scope('account', 'session-1'));
  await otp.issue(scope('account', 'session-2'));
  await otp.issue(scope('step-up', 'interaction-9'));
  t.is(sms.sent.length, 3, 'three steps opened one after another each got a code at once');
  const fourth = await code(otp.issue(scope('account', 'session-3')));
  t.is(fourth?.code, 'limit_reached', 'a fourth within five minutes waits');
  t.is(fourth!.retryAt!.getTime(), Date.UTC(2026, 10, 25, 3, 5, 0), 'until the first of them is five minutes old');
  t.false((await otp.status(scope('account', 'session-3'))).pending, 'and no code is said to be waiting for it');
  advance(301);
  await otp.issue(scope('account', 'session-3'));
  t.is(sms.sent.length, 4);
});

test('daily caps per member and per phone, an hourly cap per IP, and a global budget', async (t) => {
  const caps = { cooldownSeconds: 1, burstPerMember: 100, burstWindowSeconds: 300, perMemberPerDay: 3, perPhonePerDay: 4, perIpPerHour: 6, perHour: 8 };
  const { sms, otp, scope, advance, store, member } = await setup(caps);
  for (let i = 0; i < 3; i++) { await otp.issue(scope()); advance(2); }
  t.is((await code(otp.issue(scope())))?.code, 'limit_reached', 'per member per day');

  const sharesPhone = await createMember(store, { phone: member.phone });
  await otp.issue(scope('step-up', 'x', sharesPhone));
  advance(2);
  t.is((await code(otp.issue(scope('step-up', 'x', sharesPhone))))?.code, 'limit_reached', 'per phone per day');

  const others = await Promise.all(Array.from({ length: 6 }, (_, i) => createMember(store, { phone: `+81801234${String(5600 + i)}` })));
  await otp.issue(scope('step-up', 'y', others[0]));
  await otp.issue(scope('step-up', 'y', others[1]));
  t.is((await code(otp.issue(scope('step-up', 'y', others[2]))))?.code, 'limit_reached', 'per IP per hour');
  await otp.issue({ ...scope('step-up', 'z', others[3]), ip: '198.51.100.7' });
  await otp.issue({ ...scope('step-up', 'z', others[4]), ip: '198.51.100.8' });
  t.is((await code(otp.issue({ ...scope('step-up', 'z', others[5]), ip: '198.51.100.9' })))?.code, 'limit_reached', 'global hourly budget');
  t.is(sms.sent.length, 8, 'nothing beyond the budgets was sent');

  advance(3600);
  await otp.issue({ ...scope('step-up', 'z', others[5]), ip: '198.51.100.9' });
  t.is(sms.sent.length, 9, 'the hourly budgets renew');
});

test('only members residing in Japan with a Japanese mobile number get codes', async (t) => {
  const { sms, otp, store, scope } = await setup();
  for (const fields of [
    { country: 'US', phone: '+14155550100' },
    { country: 'US', phone: '+819012345670' },
    { country: 'JP', phone: '+815012345678' },
    { country: 'JP', phone: '+81312345678' },
  ]) {
    const member = await createMember(store, fields);
    t.is((await code(otp.issue(scope('step-up', 'a', member))))?.code, 'not_eligible', JSON.stringify(fields));
  }
  t.is(sms.sent.length, 0, 'nothing was sent');
});

test('a code is bound to its sign-in, its purpose, its member and the phone it went to', async (t) => {
  const { sms, otp, scope, store, member } = await setup();
  await otp.issue(scope('step-up', 'login-A'));
  const value = sms.lastCode();
  t.is((await code(otp.verify({ ...scope('step-up', 'login-B'), code: value })))?.code, 'no_code', 'another sign-in');
  t.is((await code(otp.verify({ ...scope('account', 'login-A'), code: value })))?.code, 'no_code', 'another purpose');
  const other = await createMember(store);
  t.is((await code(otp.verify({ ...scope('step-up', 'login-A', other), code: value })))?.code, 'no_code', 'another member');
  const moved = { ...member, phone: '+818011112222' };
  t.is((await code(otp.verify({ ...scope('step-up', 'login-A', moved), code: value })))?.code, 'no_code', 'the phone number changed');
  await otp.verify({ ...scope('step-up', 'login-A'), code: value });
  t.pass();
});

test('a failed delivery loses nothing: no cooldown, no failure counted, the earlier code still works', async (t) => {
  const { sms, otp, scope, advance } = await setup();
  await otp.issue(scope());
  const earlier = sms.lastCode();
  advance(61);
  sms.failNext('unavailable');
  const failed = await code(otp.issue(scope()));
  t.is(failed?.code, 'delivery_failed');
  t.is((failed?.cause as SmsDeliveryError | undefined)?.failure, 'unavailable', 'the transport\'s reason comes with it');
  await otp.verify({ ...scope(), code: earlier });

  sms.failNext('rate_limited');
  t.is((await code(otp.issue(scope('step-up', 'again'))))?.code, 'delivery_failed');
  await otp.issue(scope('step-up', 'again'));
  t.is(sms.sent.length, 2, 'the member could retry at once');
});

test('the audit trail records sends, failures, successes and locks, never a code', async (t) => {
  const { sms, otp, scope, store, member } = await setup();
  await otp.issue(scope());
  const wrong = sms.lastCode() === '000000' ? '111111' : '000000';
  await code(otp.verify({ ...scope(), code: wrong }));
  await otp.verify({ ...scope(), code: sms.lastCode() });
  const events = await store.audit.listForMember(member.id, 10);
  t.deepEqual(events.map((e) => `${e.type}:${e.outcome}`).sort(), ['sms.sent:success', 'sms.verify:failure', 'sms.verify:success']);
  t.true(events.every((e) => e.ip === '203.0.113.5'));
  t.false(JSON.stringify(events).includes(sms.lastCode()));
});

test('codes are six digits, uniformly spread', (t) => {
  const counts = Array(10).fill(0);
  const draws = 200_000;
  for (let i = 0; i < draws; i++) {
    const value = generateCode();
    if (!/^\d{6}$/.test(value)) t.fail(`bad code ${value}`);
    counts[Number(value[0])]++;
  }
  // Chi-square over the leading digit, 9 degrees of freedom: 27.9 is the 0.999 quantile.
  const expected = draws / 10;
  const chi = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
  t.true(chi < 27.9, `chi-square ${chi.toFixed(1)}`);
});
