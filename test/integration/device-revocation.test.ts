import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { endDeviceTrust, setPassword, setStatus } from '../../src/members/members.ts';
import { bindNewPhone, enableMember } from '../../src/account/support-desk.ts';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { submitPassword } from '../helpers/log-in.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// A device cookie copied from the member's browser, then the member changes what it vouched for. The
// copy must stop passing for the member's own browser: its attempts count against the member number,
// like any browser's the member never used, and so wait while strangers' failures hold that number.
const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({
    sms,
    env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_MEMBER: '1', LOGIN_WAIT_BASE_SECONDS: '600', LOGIN_WAIT_MAX_SECONDS: '900' },
  });
});
test.after.always(async () => {
  await app?.stop();
});

let nextAddress = 1;
/** A browser of its own behind a client address of its own. */
function browserAt(address = `198.51.100.${nextAddress++}`): Browser {
  const browser = new Browser(app.url);
  browser.extraHeaders = { 'x-forwarded-for': address };
  return browser;
}

/** One password attempt in a new sign-in; the status the log-in answered. With `finish`, a log-in goes on to the relying party (the browser has a session). */
async function attempt(browser: Browser, number: string, password: string, finish = false): Promise<number> {
  const rp = await RelyingParty.website(app);
  const { posted } = await submitPassword(browser, rp, { number, password });
  if (finish && posted.location) await browser.follow(posted.location);
  return posted.status;
}

/** The member logged in on their own browser, a thief holding a copy of its device cookie, and strangers' failures holding the member number. */
async function copiedCookie(t: { is(a: unknown, b: unknown, m?: string): void; truthy(a: unknown, m?: string): void }, number: string, password: string) {
  const own = browserAt();
  t.is(await attempt(own, number, password, true), 303, 'the member logs in on their own browser');
  const cookie = own.cookies.find((c) => c.name === 'jmb.device');
  t.truthy(cookie, 'which gets a device cookie');
  const thief = browserAt();
  thief.cookies.push({ ...cookie! });
  for (let i = 0; i < 2; i++) t.is(await attempt(browserAt(), number, 'a stranger guesses'), 401);
  t.is(await attempt(browserAt(), number, password), 429, 'the member number waits for browsers the member never used');
  t.is(await attempt(thief, number, 'the thief guesses'), 401, 'the copy passes for the member\'s own browser: its failures count against it alone');
  return { own, thief };
}

test.serial('a new password set with the members tool ends the copied cookie: with the new password it waits like any unknown browser', async (t) => {
  const member = await createMember(app.store);
  const { thief } = await copiedCookie(t, member.number, member.password);

  const env = { PATH: process.env.PATH, DATA_DIR: app.dir, DATABASE_URL: app.config.databaseUrl };
  const changed = spawnSync(process.execPath, ['src/cli/members.ts', 'set-password', '--number', member.number, '--password-stdin'], {
    cwd: path.resolve(import.meta.dirname, '../..'), env, input: 'a brand new passphrase\n', encoding: 'utf8', timeout: 60_000,
  });
  t.is(changed.status, 0, changed.stderr);

  t.is(await attempt(thief, member.number, 'a brand new passphrase'), 429, 'the copy no longer gets past the member-number wait');
  t.is((await app.store.members.findById(member.id))?.deviceGeneration, 1);
});

test.serial('"Log out everywhere else" on the account page ends the copied cookie', async (t) => {
  const member = await createMember(app.store);
  t.is(await attempt(browserAt(), member.number, member.password, true), 303, 'logged in elsewhere too');
  const { own, thief } = await copiedCookie(t, member.number, member.password);

  const page = await own.get('/account');
  t.is(page.status, 200, 'the member is logged in on their own browser');
  const ended = await own.post('/account/sessions/logout-others', { csrf: hiddenField(page.html, 'csrf') });
  t.is(ended.status, 303);

  t.is(await attempt(thief, member.number, member.password), 429, 'the copy waits with the right password');
  t.is(await attempt(thief, member.number, 'the thief guesses'), 429);
});

test.serial('the desk\'s logout-everywhere ends the copied cookie', async (t) => {
  const member = await createMember(app.store);
  const { thief } = await copiedCookie(t, member.number, member.password);
  const env = {
    PATH: process.env.PATH, DATA_DIR: app.dir, DATABASE_URL: app.config.databaseUrl, OIDC_CLIENTS_FILE: path.join(app.dir, 'clients.json'), ISSUER: app.url,
  };
  const ended = spawnSync(process.execPath, ['src/cli/members.ts', 'logout-everywhere', '--number', member.number, '--by', 'Hanako Sato', '--reason', 'cookie stolen'], {
    cwd: path.resolve(import.meta.dirname, '../..'), env, encoding: 'utf8', timeout: 60_000,
  });
  t.is(ended.status, 0, ended.stderr);
  t.is(await attempt(thief, member.number, member.password), 429);
});

test.serial('a new password, a new phone, a disabled account and "log out everywhere" each end the copy, as use cases', async (t) => {
  const events: [string, (id: string) => Promise<unknown>][] = [
    ['a new password', (id) => setPassword(app.store.members, id, 'correct horse battery staple')],
    ['a new phone', async (id) => bindNewPhone({ members: app.store.members, sender: sms, clock: Date.now }, (await app.store.members.findById(id))!, '+818098765432')],
    ['disabled, then enabled again', async (id) => {
      await setStatus(app.store.members, id, 'disabled');
      await enableMember(app.store.members, (await app.store.members.findById(id))!);
    }],
    ['log out everywhere', (id) => endDeviceTrust(app.store.members, id)],
  ];
  for (const [event, happen] of events) {
    const member = await createMember(app.store);
    const { thief } = await copiedCookie(t, member.number, member.password);
    await happen(member.id);
    t.is(await attempt(thief, member.number, member.password), 429, `after ${event} the copy waits like any unknown browser`);
  }
});

test.serial('the member\'s browser is known again from its next log-in, under the new generation', async (t) => {
  const member = await createMember(app.store);
  const own = browserAt();
  t.is(await attempt(own, member.number, member.password), 303);
  await setPassword(app.store.members, member.id, 'the next passphrase');
  t.is(await attempt(own, member.number, 'the next passphrase'), 303, 'no wait runs: the member logs in with the new password');
  for (let i = 0; i < 2; i++) t.is(await attempt(browserAt(), member.number, 'a stranger guesses'), 401);
  t.is(await attempt(browserAt(), member.number, 'the next passphrase'), 429, 'strangers\' failures hold the member number');
  t.is(await attempt(own, member.number, 'the next passphrase'), 303, 'while the browser the member logged in from since the change is not paused');
});

test.serial('a member\'s other changes (a rehash, a new name) leave device cookies alone', async (t) => {
  const member = await createMember(app.store);
  const own = browserAt();
  t.is(await attempt(own, member.number, member.password), 303);
  await app.store.members.update(member.id, { name: 'Taro Yamada (renamed)', passwordHash: (await app.store.members.findById(member.id))!.passwordHash });
  for (let i = 0; i < 2; i++) await attempt(browserAt(), member.number, 'a stranger guesses');
  t.is(await attempt(own, member.number, member.password), 303);
  t.is((await app.store.members.findById(member.id))?.deviceGeneration, 0);
});
