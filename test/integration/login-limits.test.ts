import test from 'ava';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

let now = Date.now();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({
    clock: () => now,
    env: { LOGIN_MAX_FAILURES_PER_MEMBER: '3', LOGIN_MAX_FAILURES_PER_IP: '8', LOGIN_FAILURE_WINDOW_SECONDS: '900' },
  });
});
test.after.always(async () => app?.stop());

async function attempt(number: string, password: string) {
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow((await rp.start()).url);
  const response = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password });
  return { status: response.status, alert: alertText(response.html), retryAfter: response.headers.get('retry-after') };
}

test.serial('failed log-ins pause a member number, say until when, and let go after the window', async (t) => {
  const member = await createMember(app.store);
  for (let i = 0; i < 3; i++) t.is((await attempt(member.number, 'wrong')).status, 401);

  const limited = await attempt(member.number, member.password);
  t.is(limited.status, 429, 'even the right password waits while the number is paused');
  t.regex(limited.alert ?? '', /Too many unsuccessful attempts\. Please try again after \d{1,2}:\d{2}/);
  t.true(Number(limited.retryAfter) > 0);

  now += 901 * 1000;
  t.is((await attempt(member.number, member.password)).status, 303, 'the pause ends with the window');
});

test.serial('an unknown member number is paused exactly like a real one', async (t) => {
  for (let i = 0; i < 3; i++) t.is((await attempt('888888888', 'wrong')).status, 401);
  t.is((await attempt('888888888', 'wrong')).status, 429);
  now += 901 * 1000;
});

test.serial('one client IP guessing across many member numbers is paused too', async (t) => {
  const members = await Promise.all(Array.from({ length: 9 }, () => createMember(app.store)));
  const statuses = [];
  for (const member of members) statuses.push((await attempt(member.number, 'wrong')).status);
  t.deepEqual(statuses.slice(0, 8), Array(8).fill(401));
  t.is(statuses[8], 429, 'the ninth guess from the same IP is refused');
  const innocent = members[0]!;
  t.is((await attempt(innocent.number, innocent.password)).status, 429, 'the IP stays paused until the window ends');
  now += 901 * 1000;
  t.is((await attempt(innocent.number, innocent.password)).status, 303);
});
