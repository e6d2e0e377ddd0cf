import test from 'ava';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { passkeyAttempt, passwordLogIn, submitPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms });
});
test.after.always(async () => app?.stop());

const website = () => RelyingParty.website(app);
const STEP_UP = { acr_values: 'urn:jmb:loa:2' };

/** Logs in with a password for `params`, and returns the SMS step page that follows. */
async function toSmsStep(member: { number: string; password: string }, params: Record<string, string> = STEP_UP) {
  const rp = await website();
  const browser = new Browser(app.url);
  const { flow, posted } = await submitPassword(browser, rp, member, params);
  const step = await browser.follow(posted.location!);
  return { rp, flow, browser, step };
}

test.serial('acr_values=urn:jmb:loa:2 after a password log-in: the SMS step, then acr loa:2 with merged amr', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110001' });
  const { rp, flow, browser, step } = await toSmsStep(member);
  t.regex(step.url, /\/interaction\/[^/]+$/);
  t.regex(step.final.html, /Enter the SMS verification code/);
  t.regex(step.final.html, /<label for="code">SMS verification code<\/label>/);
  t.regex(step.final.html, /autocomplete="one-time-code"/);
  t.regex(step.final.html, /inputmode="numeric"/);
  t.regex(step.final.html, /090-••••-0001/, 'the masked number shows its last four digits, as members write the number');
  t.notRegex(step.final.html, /9011/, 'the rest of the number is hidden');
  t.regex(step.final.html, />Resend code</);
  t.is(sms.sent.at(-1)!.to, member.phone, 'the code was sent as the step opened');

  const reload = await browser.get(step.url);
  t.is(reload.status, 200);
  t.is(sms.sent.filter((m) => m.to === member.phone).length, 1, 'a reload sends no second code');

  const posted = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code: sms.lastCode(member.phone) });
  const { url: callback } = await browser.follow(posted.location!);
  const claims = (await rp.redeem(callback, flow)).claims()!;
  t.is(claims.acr, 'urn:jmb:loa:2');
  t.deepEqual(claims.amr, ['pwd', 'sms', 'otp', 'mfa']);
  t.is(claims.sub, member.id);

  const again = await browser.follow((await rp.start(STEP_UP)).url);
  t.truthy(new URL(again.url).searchParams.get('code'), 'the stepped-up session satisfies the next request');
});

test.serial('acr_values=urn:jmb:loa:2 after a passkey log-in keeps the passkey in amr', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110002' });
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost', { synced: true });
  const rp = await website();
  const flow = await rp.start(STEP_UP);
  const browser = new Browser(app.url);
  const { url } = await browser.follow(flow.url);
  const result = await passkeyAttempt(browser, url, passkey);
  const step = await browser.follow(result.json.redirectTo);
  t.regex(step.final.html, /Enter the SMS verification code/);
  const posted = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code: sms.lastCode(member.phone) });
  const { url: callback } = await browser.follow(posted.location!);
  const claims = (await rp.redeem(callback, flow)).claims()!;
  t.is(claims.acr, 'urn:jmb:loa:2');
  t.deepEqual(claims.amr, ['swk', 'user', 'sms', 'otp', 'mfa']);
});

test.serial('a wrong code shows an alert with the tries left', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110003' });
  const { browser, step } = await toSmsStep(member);
  const right = sms.lastCode(member.phone);
  const wrong = right === '000000' ? '111111' : '000000';
  const response = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code: wrong });
  t.is(response.status, 400);
  t.is(alertText(response.html), 'The code is not correct. 4 tries left for this code.');
  const ok = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code: right });
  t.is(ok.status, 303);
});

test.serial('the resend button respects the cooldown and says so', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110004' });
  const { browser, step } = await toSmsStep(member);
  t.regex(step.final.html, /You can request a new code in \d+ seconds\./);
  const resend = await browser.post(`${step.url}/sms/resend`, { csrf: hiddenField(step.final.html, 'csrf') });
  t.is(resend.status, 429);
  t.regex(alertText(resend.html) ?? '', /A code was sent a moment ago/);
  t.is(sms.sent.filter((m) => m.to === member.phone).length, 1);
});

test.serial('a code from one sign-in is refused in another', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110005' });
  const first = await toSmsStep(member);
  const codeA = sms.lastCode(member.phone);
  await app.store.counters.reset(`sms-cooldown:${member.id}`);
  const second = await toSmsStep(member);
  const codeB = sms.lastCode(member.phone);
  t.not(codeA, codeB);
  const crossed = await second.browser.post(`${second.step.url}/sms/verify`, { csrf: hiddenField(second.step.final.html, 'csrf'), code: codeA });
  t.is(crossed.status, 400);
  t.truthy(alertText(crossed.html));
  const own = await first.browser.post(`${first.step.url}/sms/verify`, { csrf: hiddenField(first.step.final.html, 'csrf'), code: codeA });
  t.is(own.status, 303, 'each code still works in its own sign-in');
});

test.serial('prompt=none with an unmet step-up answers interaction_required', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110006' });
  const rp = await website();
  const browser = new Browser(app.url);
  await passwordLogIn(browser, (await rp.start()).url, member.number, member.password);
  const silent = await browser.follow((await rp.start({ ...STEP_UP, prompt: 'none' })).url);
  t.is(new URL(silent.url).searchParams.get('error'), 'interaction_required');
});

test.serial('a member outside Japan is told why, nothing is sent, and the token stays honest', async (t) => {
  const member = await createMember(app.store, { country: 'US', phone: '+14155550123' });
  const before = sms.sent.length;
  const { rp, flow, browser, step } = await toSmsStep(member);
  t.regex(step.final.html, /SMS verification is available only to JMB members residing in Japan\./);
  t.is(sms.sent.length, before, 'nothing was sent');
  const skipped = await browser.post(`${step.url}/sms/skip`, { csrf: hiddenField(step.final.html, 'csrf') });
  const { url: callback } = await browser.follow(skipped.location!);
  const claims = (await rp.redeem(callback, flow)).claims()!;
  t.is(claims.acr, 'urn:jmb:loa:1');
  t.deepEqual(claims.amr, ['pwd']);
});

test.serial('an essential loa:2 that a member outside Japan cannot give ends with unmet_authentication_requirements', async (t) => {
  const member = await createMember(app.store, { country: 'US', phone: '+14155550124' });
  const { browser, step } = await toSmsStep(member, { claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:jmb:loa:2'] } } }) });
  const back = await browser.post(`${step.url}/sms/skip`, { csrf: hiddenField(step.final.html, 'csrf') });
  const { url: callback } = await browser.follow(back.location!);
  t.is(new URL(callback).searchParams.get('error'), 'unmet_authentication_requirements');
});

test.serial('a provider outage is explained and the member can retry at once', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110007' });
  sms.failNext('unavailable');
  const { browser, step } = await toSmsStep(member);
  t.is(step.final.status, 503);
  t.is(alertText(step.final.html), 'We could not send the SMS, please try again in a moment.');
  const retry = await browser.post(`${step.url}/sms/resend`, { csrf: hiddenField(step.final.html, 'csrf') });
  t.is(retry.status, 303);
  t.is(sms.sent.at(-1)!.to, member.phone);
});

test.serial('the SMS step page is in Japanese for a Japanese browser', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110008' });
  const rp = await website();
  const browser = new Browser(app.url);
  browser.acceptLanguage = 'ja';
  const { final, url } = await browser.follow((await rp.start(STEP_UP)).url);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  const step = await browser.follow(posted.location!);
  t.regex(step.final.html, /SMS認証コードを入力してください/);
  t.regex(step.final.html, /<label for="code">SMS認証コード<\/label>/);
  t.regex(sms.sent.at(-1)!.body, /^【JMB】/);
});

test.serial('a step-up gives the browser a new session id (no session fixation)', async (t) => {
  const member = await createMember(app.store, { phone: '+819011110009' });
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  await passwordLogIn(browser, (await rp.start()).url, member.number, member.password);
  const before = browser.cookies.find((c) => c.name === '_session')?.value;
  t.truthy(before);
  const { final, url } = await browser.follow((await rp.start(STEP_UP)).url);
  const posted = await browser.post(`${url}/sms/verify`, { csrf: hiddenField(final.html, 'csrf'), code: sms.lastCode(member.phone) });
  await browser.follow(posted.location!);
  const after = browser.cookies.find((c) => c.name === '_session')?.value;
  t.truthy(after);
  t.not(after, before);
});
