import test from 'ava';
import { createLogger } from '../../src/log.ts';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { passkeyLogIn, submitPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// One load balancer in front (TRUST_PROXY=1): the client address is the last X-Forwarded-For entry.
let now = Date.now();
let app: TestApp;
const lines: string[] = [];
test.before(async () => {
  app = await startTestApp({
    clock: () => now,
    logger: createLogger('info', (line) => lines.push(line)),
    env: {
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES_PER_MEMBER: '3',
      LOGIN_MAX_FAILURES_PER_DEVICE: '3',
      LOGIN_MAX_FAILURES_PER_IP: '8',
      LOGIN_FAILURE_WINDOW_SECONDS: '900',
      LOGIN_WAIT_BASE_SECONDS: '30',
      LOGIN_WAIT_MAX_SECONDS: '240',
    },
  });
});
test.after.always(async () => app?.stop());

let nextAddress = 1;
/** A browser of its own behind a client address of its own, unless one is given. */
function browserAt(address = `198.51.100.${nextAddress++}`): Browser {
  const browser = new Browser(app.url);
  browser.extraHeaders = { 'x-forwarded-for': address };
  return browser;
}

async function attempt(browser: Browser, number: string, password: string) {
  const rp = await RelyingParty.website(app);
  const { posted: response } = await submitPassword(browser, rp, { number, password });
  return { status: response.status, alert: alertText(response.html), retryAfter: Number(response.headers.get('retry-after')) };
}

const waitAfterOneFailure = async (t: { is(a: unknown, b: unknown, m?: string): void }, number: string) => {
  t.is((await attempt(browserAt(), number, 'wrong')).status, 401);
  return attempt(browserAt(), number, 'wrong');
};

test.serial('five wrong passwords from five addresses do not keep the member out of their own browser; an unknown browser waits', async (t) => {
  const member = await createMember(app.store);
  const own = browserAt('203.0.113.10');
  t.is((await attempt(own, member.number, member.password)).status, 303, 'the member logged in here before');

  const guesses = [];
  for (let i = 0; i < 5; i++) guesses.push((await attempt(browserAt(), member.number, 'guess')).status);
  t.deepEqual(guesses, [401, 401, 401, 401, 429], 'the fourth failure started a wait');

  const stranger = await attempt(browserAt(), member.number, member.password);
  t.is(stranger.status, 429, 'a browser the member never used waits, even with the right password');
  t.regex(stranger.alert ?? '', /Too many unsuccessful attempts\. Please try again after \d{1,2}:\d{2}/);
  t.true(stranger.retryAfter > 0 && stranger.retryAfter <= 60);

  t.is((await attempt(own, member.number, member.password)).status, 303, 'the member\'s own browser is not paused by failures elsewhere');
  now += 3_600_000;
});

test.serial('waits grow with each failure from unknown browsers and end by themselves; a success forgets them', async (t) => {
  const member = await createMember(app.store);
  for (let i = 0; i < 3; i++) t.is((await attempt(browserAt(), member.number, 'guess')).status, 401, 'the first three are free');

  const waits = [];
  for (let i = 0; i < 4; i++) {
    t.is((await attempt(browserAt(), member.number, 'guess')).status, 401);
    const refused = await attempt(browserAt(), member.number, member.password);
    t.is(refused.status, 429);
    waits.push(refused.retryAfter);
    now += refused.retryAfter * 1000 + 1000;
  }
  t.deepEqual(waits, [30, 60, 120, 240], 'each failure doubles the wait, up to the longest');

  t.is((await attempt(browserAt(), member.number, member.password)).status, 303, 'after the wait the right password works');
  for (let i = 0; i < 3; i++) t.is((await attempt(browserAt(), member.number, 'typo')).status, 401, 'and the failures before it are forgotten');
  now += 3_600_000;
});

test.serial('an unknown member number waits exactly like a real one', async (t) => {
  const member = await createMember(app.store);
  const answers = [];
  for (const number of [member.number, '888888888']) {
    for (let i = 0; i < 3; i++) await attempt(browserAt(), number, 'guess');
    answers.push(await waitAfterOneFailure(t, number));
  }
  const [real, unknown] = answers;
  t.is(real!.status, 429);
  t.is(unknown!.status, real!.status);
  t.is(unknown!.retryAfter, real!.retryAfter);
  t.is(unknown!.alert, real!.alert);
  now += 3_600_000;
});

test.serial('a browser the member used before waits after its own failures, without touching the member elsewhere', async (t) => {
  const member = await createMember(app.store);
  const own = browserAt('203.0.113.20');
  t.is((await attempt(own, member.number, member.password)).status, 303);
  for (let i = 0; i < 4; i++) t.is((await attempt(own, member.number, 'fat fingers')).status, 401);
  t.is((await attempt(own, member.number, member.password)).status, 429, 'the fourth failure on this browser starts its wait');
  t.is((await attempt(browserAt(), member.number, member.password)).status, 303, 'another browser was never paused');
  now += 3_600_000;
});

test.serial('a passkey log-in is never refused because of password failures', async (t) => {
  // oidc-provider dates sign-ins by the real clock, which a passkey challenge may not outlive.
  now = Date.now();
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  for (let i = 0; i < 3; i++) await attempt(browserAt(), member.number, 'guess');
  t.is((await waitAfterOneFailure(t, member.number)).status, 429, 'password log-ins wait');
  const rp = await RelyingParty.website(app);
  const flow = await rp.start();
  const callback = await passkeyLogIn(browserAt(), flow.url, passkey);
  const tokens = await rp.redeem(callback, flow);
  t.is(tokens.claims()!.sub, member.id);
  now += 3_600_000;
});

test.serial('one client address guessing across many member numbers is paused, whatever it writes in X-Forwarded-For', async (t) => {
  const members = await Promise.all(Array.from({ length: 9 }, () => createMember(app.store)));
  const statuses = [];
  for (const [i, member] of members.entries()) {
    // Each request forges a new leftmost entry; the proxy appends the address it really saw.
    statuses.push((await attempt(browserAt(`10.9.${i}.1, 192.0.2.77`), member.number, 'wrong')).status);
  }
  t.deepEqual(statuses.slice(0, 8), Array(8).fill(401));
  t.is(statuses[8], 429, 'the ninth guess from the same real address is refused');
  t.is((await attempt(browserAt('10.0.0.1, 192.0.2.77'), members[0]!.number, members[0]!.password)).status, 429, 'the address stays paused');

  const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request' && entry.path.endsWith('/login'));
  t.true(logged.some((entry) => entry.ip === '192.0.2.77'), 'the log shows the real address');
  t.false(logged.some((entry) => String(entry.ip).startsWith('10.9.')), 'never a forged one');
  const activity = await app.store.audit.listForMember(members[0]!.id, 5);
  t.is(activity.find((event) => event.type === 'login.password')?.ip, '192.0.2.77', 'the audit trail shows the real address');
  now += 3_600_000;
});

test.serial('a successful log-in gives the browser a long-lived device cookie, only for the sign-in pages', async (t) => {
  const member = await createMember(app.store);
  const browser = browserAt();
  const rp = await RelyingParty.website(app);
  const { final, url } = await browser.follow((await rp.start()).url);
  const response = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('jmb.device='));
  t.truthy(cookie);
  t.regex(cookie!, /path=\/interaction/i);
  t.regex(cookie!, /httponly/i);
  const expires = Date.parse(/expires=([^;]+)/i.exec(cookie!)?.[1] ?? '');
  t.true(expires - Date.now() > 100 * 24 * 3600 * 1000, 'it outlives the session by months');
  t.false(cookie!.includes(member.id), 'it does not carry the member id');
});

test.serial('another member\'s device cookie counts for nothing', async (t) => {
  const victim = await createMember(app.store);
  const attacker = await createMember(app.store);
  const browser = browserAt();
  t.is((await attempt(browser, attacker.number, attacker.password)).status, 303, 'the attacker has a device cookie, for themselves');
  t.true(browser.cookies.some((c) => c.name === 'jmb.device'));
  for (let i = 0; i < 3; i++) await attempt(browser, victim.number, 'guess');
  t.is((await attempt(browser, victim.number, 'guess')).status, 401);
  t.is((await attempt(browser, victim.number, victim.password)).status, 429, 'the failures counted against the victim\'s number as from any unknown browser');
  now += 3_600_000;
});

test.serial('with TRUST_PROXY as a list of ranges, the client is the first address from the right that is not a proxy', async (t) => {
  const ranged = await startTestApp({ env: { TRUST_PROXY: '127.0.0.1, 10.0.0.0/8', LOGIN_MAX_FAILURES_PER_IP: '2' }, logger: createLogger('info', (line) => lines.push(line)) });
  t.teardown(() => ranged.stop());
  const rp = await RelyingParty.website(ranged);
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const browser = new Browser(ranged.url);
    // A forged entry, the client as the CDN saw it, then the CDN as the load balancer (10.x) saw it.
    browser.extraHeaders = { 'x-forwarded-for': `172.16.${i}.9, 198.51.100.200, 10.20.30.40` };
    const { final, url } = await browser.follow((await rp.start()).url);
    statuses.push((await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: '777777777', password: 'x' })).status);
  }
  t.deepEqual(statuses, [401, 401, 429]);
  const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request' && entry.path.endsWith('/login'));
  t.true(logged.some((entry) => entry.ip === '198.51.100.200'));
});

test.serial('X-Forwarded-For and X-Forwarded-Proto are ignored from a peer that is not a trusted proxy', async (t) => {
  const direct = await startTestApp({ env: { TRUST_PROXY: '10.0.0.0/8' }, logger: createLogger('info', (line) => lines.push(line)) });
  t.teardown(() => direct.stop());
  const response = await fetch(`${direct.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.99', 'x-forwarded-proto': 'https' } });
  t.is(response.headers.get('strict-transport-security'), null, 'the request is not taken for https');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request' && entry.path === '/healthz');
  t.is(logged.at(-1)?.ip, '127.0.0.1');
});

test('a spraying wave: past the surge threshold unknown browsers at addresses with failures wait after every failure; known browsers and passkeys are unaffected', async (t) => {
  let clock = Date.now();
  const surge = await startTestApp({
    clock: () => clock,
    env: { TRUST_PROXY: '1', LOGIN_SURGE_FAILURES_PER_MINUTE: '6', LOGIN_MAX_FAILURES_PER_MEMBER: '5', LOGIN_WAIT_BASE_SECONDS: '30' },
  });
  t.teardown(() => surge.stop());
  const at = (address: string) => Object.assign(new Browser(surge.url), { extraHeaders: { 'x-forwarded-for': address } });
  const rp = await RelyingParty.website(surge);
  const tryLogIn = async (browser: Browser, number: string, password: string) => {
    const { final, url } = await browser.follow((await rp.start()).url);
    return (await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password })).status;
  };

  const member = await createMember(surge.store);
  const own = at('203.0.113.50');
  t.is(await tryLogIn(own, member.number, member.password), 303);
  const passkey = await enrolSoftPasskey(surge.store, member.id, 'localhost');

  // The wave: one try per number, each from an address of its own.
  for (let i = 0; i < 6; i++) t.is(await tryLogIn(at(`192.0.2.${i + 1}`), String(500000000 + i), 'Password1'), 401);

  // Two of the wave's addresses go on to the member's number.
  t.is(await tryLogIn(at('192.0.2.1'), member.number, 'guess'), 401);
  t.is(await tryLogIn(at('192.0.2.2'), member.number, member.password), 429, 'during the wave one failure is enough to wait');
  t.is(await tryLogIn(own, member.number, member.password), 303, 'the member\'s own browser logs in');
  const flow = await rp.start();
  await t.notThrowsAsync(passkeyLogIn(at('192.0.2.102'), flow.url, passkey), 'a passkey log-in is unaffected');

  const paused = (await surge.store.audit.listForMember(member.id, 20)).filter((event) => event.type === 'login.paused');
  t.is(paused.length, 1, 'the pause is in the audit trail');
  t.like(paused[0]!.detail, { surge: true, suspect: true, knownBrowser: false, seconds: 30 });

  clock += 5 * 60_000;
  t.is(await tryLogIn(at('192.0.2.103'), member.number, 'typo'), 401, 'once the wave has passed, failures are free again up to the limit');
  t.is(await tryLogIn(at('192.0.2.104'), member.number, member.password), 303);
});
