import test from 'ava';
import { Browser, type PageResponse } from '../helpers/browser.ts';
import { openLogInPage } from '../helpers/log-in.ts';
import { scrape } from '../helpers/metrics.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// Password hashing is the scarce resource of the password log-in: every check below counts what was
// hashed, as an operator would (the audit trail, the log-in metrics).
let now = Date.now();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({
    clock: () => now,
    metrics: true,
    env: {
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES_PER_MEMBER: '2',
      LOGIN_MAX_FAILURES_PER_DEVICE: '2',
      LOGIN_MAX_FAILURES_PER_IP: '5',
      LOGIN_MAX_SUCCESSES_PER_MEMBER: '3',
      LOGIN_MAX_ATTEMPTS_PER_ADDRESS: '8',
      LOGIN_WAIT_BASE_SECONDS: '30',
    },
  });
});
test.after.always(async () => app?.stop());
test.afterEach.always(() => {
  // Every test starts in a window of its own.
  now += 3_600_000;
});

let nextAddress = 1;
const freshAddress = () => `198.51.${100 + Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`;

/** A browser with a sign-in page open, behind a client address of its own unless one is given. */
async function signInPage(address = freshAddress(), device?: string) {
  const browser = new Browser(app.url);
  browser.extraHeaders = { 'x-forwarded-for': address };
  if (device) browser.cookies.push({ name: 'jmb.device', value: device, path: '/interaction' });
  const rp = await RelyingParty.website(app);
  const { flow, url, csrf } = await openLogInPage(browser, rp);
  return {
    browser, rp, flow,
    submit: (number: string, password: string) => browser.post(`${url}/login`, { csrf, number, password }),
  };
}

const attempt = async (number: string, password: string, address?: string, device?: string) => (await (await signInPage(address, device)).submit(number, password)).status;

/** Password log-ins of `memberId` the audit trail holds, by outcome. */
async function audited(memberId: string) {
  const events = (await app.store.audit.listForMember(memberId, 200)).filter((event) => event.type === 'login.password');
  return { successes: events.filter((event) => event.outcome === 'success').length, wrong: events.filter((event) => event.detail?.reason === 'wrong password').length };
}

const hashedFailures = async () => (await scrape(app.metricsUrl!)).value('jmb_logins_total', { method: 'password', outcome: 'invalid_credentials' });
const tally = (answers: PageResponse[] | number[]) => {
  const counts: Record<number, number> = {};
  for (const answer of answers) {
    const status = typeof answer === 'number' ? answer : answer.status;
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
};

test.serial('one sign-in takes one password log-in: posting the right password again goes on to the next step without another check', async (t) => {
  const member = await createMember(app.store);
  const page = await signInPage();
  const first = await page.submit(member.number, member.password);
  t.is(first.status, 303);
  for (let i = 0; i < 5; i++) {
    const repeat = await page.submit(member.number, member.password);
    t.is(repeat.status, 303, 'a repeat is not an error: the member may have pressed the button twice');
    t.is(repeat.location, first.location, 'it goes where the first one went');
  }
  const sameSignInOtherPassword = await page.submit(member.number, 'not checked at all');
  t.is(sameSignInOtherPassword.location, first.location);
  t.deepEqual(await audited(member.id), { successes: 1, wrong: 0 }, 'the password was checked once');

  const { url: callback } = await page.browser.follow(first.location!);
  t.is((await page.rp.redeem(callback, page.flow)).claims()!.sub, member.id, 'the sign-in completes');
});

test.serial('successful log-ins count: a member number logged into again and again is paused, other members are not', async (t) => {
  const member = await createMember(app.store);
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push(await attempt(member.number, member.password));
  t.deepEqual(statuses, [303, 303, 303, 429], 'LOGIN_MAX_SUCCESSES_PER_MEMBER is 3');
  t.deepEqual(await audited(member.id), { successes: 3, wrong: 0 }, 'the refused one was not checked');
  const other = await createMember(app.store);
  t.is(await attempt(other.number, other.password), 303);
});

test.serial('every attempt from one address counts against it, successes included; other addresses are unaffected', async (t) => {
  const members = await Promise.all(Array.from({ length: 9 }, () => createMember(app.store)));
  const statuses = [];
  for (const member of members) statuses.push(await attempt(member.number, member.password, '192.0.2.33'));
  t.deepEqual(statuses, [...Array(8).fill(303), 429], 'LOGIN_MAX_ATTEMPTS_PER_ADDRESS is 8');
  t.deepEqual(await audited(members[8]!.id), { successes: 0, wrong: 0 }, 'the ninth was not checked');
  t.is(await attempt(members[8]!.number, members[8]!.password, '192.0.2.34'), 303);
});

test.serial('after a wait, twenty attempts sent at the same moment get one check between them', async (t) => {
  const member = await createMember(app.store);
  // Two free failures, then one that starts a 30 s wait.
  t.deepEqual([await attempt(member.number, 'a'), await attempt(member.number, 'b'), await attempt(member.number, 'c'), await attempt(member.number, member.password)], [401, 401, 401, 429]);
  now += 31_000;

  const pages = await Promise.all(Array.from({ length: 20 }, () => signInPage()));
  const before = await audited(member.id);
  const answers = await Promise.all(pages.map((page, i) => page.submit(member.number, i === 7 ? member.password : `guess ${i}`)));
  const after = await audited(member.id);
  const checked = after.successes + after.wrong - before.successes - before.wrong;
  t.log(tally(answers));
  t.is(checked, 1, 'one attempt had its turn');
  t.is(answers.filter((answer) => answer.status === 429).length, 19, 'the others were refused without a check');
});

test.serial('after a wait, a copied device cookie sent from twenty browsers at once gets one check between them', async (t) => {
  const member = await createMember(app.store);
  const own = await signInPage();
  t.is((await own.submit(member.number, member.password)).status, 303);
  const device = own.browser.cookies.find((cookie) => cookie.name === 'jmb.device')!.value;
  const stolen = [];
  for (let i = 0; i < 4; i++) stolen.push(await attempt(member.number, `guess ${i}`, freshAddress(), device));
  t.deepEqual(stolen, [401, 401, 401, 429], 'the browser\'s own waits');
  now += 31_000;

  const pages = await Promise.all(Array.from({ length: 20 }, () => signInPage(freshAddress(), device)));
  const before = await audited(member.id);
  const answers = await Promise.all(pages.map((page, i) => page.submit(member.number, `more ${i}`)));
  t.log(tally(answers));
  t.is((await audited(member.id)).wrong - before.wrong, 1, 'one attempt had its turn');
  t.is(answers.filter((answer) => answer.status === 429).length, 19);
});

test.serial('twenty wrong passwords at once from one address: no more are checked than the address may fail', async (t) => {
  const pages = await Promise.all(Array.from({ length: 20 }, () => signInPage('203.0.113.66')));
  const before = await hashedFailures();
  const answers = await Promise.all(pages.map((page, i) => page.submit(String(600_000_000 + i), 'Password1')));
  t.log(tally(answers));
  t.is(await hashedFailures() - before, 5, 'LOGIN_MAX_FAILURES_PER_IP is 5');
  t.is(answers.filter((answer) => answer.status === 429).length, 15);
});
