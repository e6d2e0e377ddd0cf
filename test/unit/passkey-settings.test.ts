import test from 'ava';
import { createFreshSms, FRESH_SMS_MS, type ChangeScope } from '../../src/account/fresh-sms.ts';
import { createPasskeySettings, SettingsError } from '../../src/account/passkey-settings.ts';
import { createChallenges } from '../../src/auth/passkey/challenges.ts';
import { createPasskeyRegistration } from '../../src/auth/passkey/passkey-registration.ts';
import { createSmsOtp } from '../../src/auth/sms-otp/sms-otp.ts';
import { openStore } from '../../src/store/open.ts';
import { createMember } from '../helpers/members.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { SoftPasskey } from '../helpers/soft-authenticator.ts';

const RP_ID = 'idp.jmb.example';
const ORIGIN = `https://${RP_ID}`;
const LIMITS = { cooldownSeconds: 60, burstPerMember: 3, burstWindowSeconds: 300, perMemberPerDay: 10, perPhonePerDay: 10, perIpPerHour: 20, perHour: 1000 };
const actor = { ip: '203.0.113.5', locale: 'en' as const };

/** The account use cases as the IdP builds them, on an in-memory store with a clock the test moves; no HTTP. */
async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  let now = Date.UTC(2026, 5, 1, 3, 0, 0);
  const clock = () => now;
  const store = await openStore('sqlite::memory:', { clock });
  t.teardown(() => store.close());
  const sms = new MemorySms();
  const smsOtp = createSmsOtp({
    documents: store.documents, counters: store.counters, audit: store.audit, sender: sms, clock, limits: LIMITS,
    hashKey: Buffer.alloc(32, 7), issuerHost: RP_ID,
  });
  const freshSms = createFreshSms({ documents: store.documents, smsOtp, clock });
  const registration = createPasskeyRegistration({
    settings: { rpId: RP_ID, rpName: 'JMB', origins: [ORIGIN], relatedOrigins: [] },
    challenges: createChallenges(store.documents, { perBinding: 3 }),
    clock,
  });
  const settings = createPasskeySettings({ passkeys: store.passkeys, registration, audit: store.audit, smsOtp, freshSms, clock });
  const member = await createMember(store, { phone: '+819012345678', country: 'JP' });
  /** The member enters the code sent to their phone for `scope`. */
  const verifyPhone = async (scope: { purpose: 'account' | 'enrolment'; bindTo: string }) => {
    const request = { member, purpose: scope.purpose, bindTo: scope.bindTo, ...actor };
    await smsOtp.issue(request);
    await freshSms.verify({ ...request, code: sms.lastCode(member.phone) });
  };
  /** A whole registration through the use case, answered by a software authenticator. */
  const register = async (scope: ChangeScope) => {
    const options = await settings.startRegistration(member, scope, actor.ip);
    const { response } = SoftPasskey.create(options, ORIGIN);
    return settings.finishRegistration(member, scope, response, actor);
  };
  return { sms, smsOtp, freshSms, settings, member, verifyPhone, register, advance: (ms: number) => { now += ms; } };
}

const smsRequired = { instanceOf: SettingsError, message: /verified by SMS/ };

test('the use case refuses to register, rename or delete a passkey without a fresh SMS verification, whoever calls it', async (t) => {
  const { settings, member, verifyPhone, register, advance } = await setup(t);
  const account: ChangeScope = { purpose: 'account', bindTo: 'session-1' };

  const refused = await t.throwsAsync(settings.startRegistration(member, account, actor.ip), smsRequired);
  t.is(refused?.code, 'sms_required');
  await t.throwsAsync(settings.finishRegistration(member, account, {}, actor), smsRequired);

  await verifyPhone(account);
  const passkey = await register(account);
  t.deepEqual((await settings.list(member)).map(({ id }) => id), [passkey.id], 'with the code entered, the passkey is registered');

  await t.throwsAsync(settings.startRegistration(member, { purpose: 'account', bindTo: 'session-2' }, actor.ip), smsRequired, 'another session of the member\'s has not verified');
  await t.throwsAsync(settings.startRegistration(member, { purpose: 'enrolment', bindTo: 'session-1' }, actor.ip), smsRequired, 'nor has a sign-in with the same id');

  advance(FRESH_SMS_MS - 1000);
  t.is((await settings.rename(member, account, passkey.id, 'Work phone', actor)).name, 'Work phone', 'still fresh a second before ten minutes');
  advance(1000);
  await t.throwsAsync(settings.startRegistration(member, account, actor.ip), smsRequired, 'ten minutes later the verification has run out');
  await t.throwsAsync(settings.rename(member, account, passkey.id, 'Home', actor), smsRequired);
  await t.throwsAsync(settings.remove(member, account, passkey.id, actor), smsRequired);
  t.deepEqual((await settings.list(member)).map(({ name }) => name), ['Work phone'], 'nothing changed after the refusals');
});

test('in a sign-in offering a passkey, the sign-in\'s own SMS step counts as the verification; a password alone does not', async (t) => {
  const { settings, member, register } = await setup(t);
  await t.throwsAsync(settings.startRegistration(member, { purpose: 'enrolment', bindTo: 'signin-1', signInAmr: ['pwd'] }, actor.ip), smsRequired);
  const passkey = await register({ purpose: 'enrolment', bindTo: 'signin-1', signInAmr: ['pwd', 'sms', 'otp', 'mfa'] });
  t.truthy(passkey.id);
});

test('a wrong code verifies nothing', async (t) => {
  const { sms, smsOtp, freshSms, settings, member } = await setup(t);
  const request = { member, purpose: 'account' as const, bindTo: 'session-9', ...actor };
  await smsOtp.issue(request);
  const wrong = sms.lastCode(member.phone) === '123456' ? '654321' : '123456';
  await t.throwsAsync(freshSms.verify({ ...request, code: wrong }), { message: /not right/ });
  t.false(await freshSms.holds(member, request));
  await t.throwsAsync(settings.startRegistration(member, request, actor.ip), smsRequired);
});
