import test, { type ExecutionContext } from 'ava';
import { request } from 'node:http';
import { createLogger } from '../../src/log.ts';
import { Browser } from '../helpers/browser.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { WEBSITE, startTestApp, type TestApp } from '../helpers/test-app.ts';

type Line = { level: string; msg: string; status?: number; reason?: string; [field: string]: unknown };

async function loggedApp(env: Record<string, string>) {
  const lines: Line[] = [];
  const app = await startTestApp({ env, logger: createLogger('debug', (line) => lines.push(JSON.parse(line) as Line)) });
  return { app, lines };
}

/** Waits until `lines` holds the request line of an answer with `status` (written once the response closes). */
async function answered(lines: Line[], status: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (lines.some((line) => line.msg === 'request' && line.status === status)) return;
  }
  throw new Error(`no request line with status ${status}`);
}

/** What an operator reads about a refusal: one `info` line with the reason, no stack, nothing louder. */
function oneQuietLine(t: ExecutionContext, lines: Line[], status: number, reason: RegExp): void {
  const refusals = lines.filter((line) => line.msg !== 'request' && line.status === status);
  t.is(refusals.length, 1, `one line says why: ${JSON.stringify(refusals)}`);
  t.is(refusals[0]!.level, 'info');
  t.regex(refusals[0]!.reason ?? '', reason);
  for (const line of lines) {
    t.false(JSON.stringify(line).includes('stack'), `no stack: ${JSON.stringify(line)}`);
    t.true(line.level === 'info' || line.level === 'debug', `nothing louder than info: ${JSON.stringify(line)}`);
  }
}

async function startSignIn(app: TestApp) {
  const rp = await RelyingParty.website(app);
  return new Browser(app.url).get((await rp.start()).url);
}

test('a new sign-in shed while the IdP is saturated is one info line with its reason, no stack', async (t) => {
  // A request that stays in flight, being worked on: a token request whose code the store is slow to find.
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  const lines: Line[] = [];
  const app = await startTestApp({
    env: { SHED_MAX_REQUESTS_IN_FLIGHT: '1' },
    logger: createLogger('debug', (line) => lines.push(JSON.parse(line) as Line)),
    openStore(file) {
      const store = openSqliteStore(file, Date.now, { owner: true });
      const find = store.documents.find.bind(store.documents);
      store.documents.find = async (kind, id) => {
        if (kind === 'AuthorizationCode' && id === 'held') await released;
        return find(kind, id);
      };
      return store;
    },
  });
  t.teardown(() => app.stop());
  t.teardown(() => release());
  const body = new URLSearchParams({ grant_type: 'authorization_code', code: 'held', redirect_uri: WEBSITE.redirect_uris[0], code_verifier: 'v'.repeat(43) });
  const basic = `Basic ${Buffer.from(`${WEBSITE.client_id}:${WEBSITE.client_secret}`).toString('base64')}`;
  // From an address of its own, so that it fills the process's figure but not the share of the address signing in.
  const held = new Promise<void>((resolve) => {
    const sent = request(`${app.url}/token`, { method: 'POST', localAddress: '127.0.0.2', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' } }, (response) => {
      response.resume().on('end', resolve);
    });
    sent.on('error', () => resolve());
    sent.end(body.toString());
  });
  for (const deadline = Date.now() + 10_000; app.load().inFlight < 1 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(app.load().inFlight, 1, 'the token request is being worked on');
  lines.length = 0;

  const refused = await startSignIn(app);
  t.is(refused.status, 503);
  await answered(lines, 503);
  oneQuietLine(t, lines, 503, /busy/);
  release();
  await held;
});

test('a sign-in start over its address\'s budget is one info line with its reason, no stack', async (t) => {
  const { app, lines } = await loggedApp({ SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: '1' });
  t.teardown(() => app.stop());
  t.is((await startSignIn(app)).status, 303);
  await answered(lines, 303);
  lines.length = 0;

  const refused = await startSignIn(app);
  t.is(refused.status, 429);
  await answered(lines, 429);
  oneQuietLine(t, lines, 429, /too many sign-ins/);
});

test('a real server error is still logged at error level, with its stack', async (t) => {
  const { app, lines } = await loggedApp({});
  t.teardown(() => app.stop());
  const browser = new Browser(app.url);
  const started = await browser.get((await (await RelyingParty.website(app)).start()).url);
  const interaction = started.location!;
  t.is((await browser.get(interaction)).status, 200);
  // The store breaks in a way nobody foresaw.
  const { documents } = app.store;
  documents.find = async () => {
    throw new Error('the disk is on fire');
  };
  lines.length = 0;

  const failed = await browser.get(interaction);
  t.is(failed.status, 500);
  t.false(failed.html.includes('the disk is on fire'), 'the member sees a friendly page, not the error');
  await answered(lines, 500);
  const errors = lines.filter((line) => line.level === 'error');
  t.is(errors.length, 1, JSON.stringify(lines));
  const error = errors[0]!.error as { message: string; stack: string };
  t.is(error.message, 'the disk is on fire');
  t.regex(error.stack, /at /, 'with the stack to find it by');
});
