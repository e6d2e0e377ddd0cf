import test from 'ava';
import * as client from 'openid-client';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { head, openSocket, parseResponse, received } from '../helpers/raw-socket.ts';
import { scrape } from '../helpers/metrics.ts';
import { logInWithPassword, openLogInPage, passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

async function logInPage(app: TestApp, rp: RelyingParty) {
  const browser = new Browser(app.url);
  return { browser, ...(await openLogInPage(browser, rp)) };
}

test('with a tiny password-hashing queue, a burst gets fast 503s with Retry-After while the admitted log-ins and a passkey log-in complete', async (t) => {
  const app = await startTestApp({ metrics: true, env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_MAX_QUEUE: '0', PASSWORD_HASH_MAX_WAIT_MS: '10000' } });
  t.teardown(() => app.stop());
  const rp = await RelyingParty.website(app);
  const members = await Promise.all(Array.from({ length: 8 }, () => createMember(app.store)));
  const pages = await Promise.all(members.map(() => logInPage(app, rp)));
  const passkeyMember = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, passkeyMember.id, 'localhost');
  const passkeyFlow = await rp.start();

  const [answers, passkeyCallback] = await Promise.all([
    Promise.all(pages.map(({ browser, url, csrf }, i) => browser.post(`${url}/login`, { csrf, number: members[i]!.number, password: members[i]!.password }))),
    passkeyLogIn(new Browser(app.url), passkeyFlow.url, passkey),
  ]);
  const refused = answers.filter((answer) => answer.status === 503);
  const admitted = answers.filter((answer) => answer.status === 303);
  t.is(refused.length + admitted.length, answers.length, `only 303 or 503, got ${answers.map((a) => a.status)}`);
  t.true(refused.length >= 1, 'some were refused');
  t.true(admitted.length >= 1, 'some were admitted');
  for (const [i, answer] of answers.entries()) {
    if (answer.status !== 503) continue;
    t.true(Number(answer.headers.get('retry-after')) >= 1);
    t.regex(answer.html, /Many members are logging in right now/);
    t.true(answer.html.includes(`<a class="button-link" href="${new URL(pages[i]!.url).pathname}">Try again</a>`), '"Try again" returns to the sign-in');
  }
  t.is((await rp.redeem(passkeyCallback, passkeyFlow)).claims()!.sub, passkeyMember.id, 'a passkey log-in needs no password hash');
  const shed = await scrape(app.metricsUrl!);
  t.is(shed.value('jmb_shed_total', { stage: 'password_hashing' }), refused.length, 'every refusal is counted as shed');
  t.is(shed.value('jmb_logins_total', { method: 'password', outcome: 'busy' }), refused.length);

  // A refused member presses the button again: the same sign-in carries on.
  for (const [i, answer] of answers.entries()) {
    const { browser, url, csrf, flow } = pages[i]!;
    const posted = answer.status === 303 ? answer : await browser.post(`${url}/login`, { csrf, number: members[i]!.number, password: members[i]!.password });
    t.is(posted.status, 303);
    const { url: callback } = await browser.follow(posted.location!);
    t.is((await rp.redeem(callback, flow)).claims()!.sub, members[i]!.id);
  }
});

/** The session cookies of a browser that logged in and then out: still validly signed, naming no session. */
async function loggedOutCookie(app: TestApp, rp: RelyingParty, member: { number: string; password: string }): Promise<string> {
  const browser = new Browser(app.url);
  const { tokens } = await logInWithPassword(rp, member, { browser });
  const cookie = browser.cookies.filter((c) => c.name.startsWith('_session')).map((c) => `${c.name}=${c.value}`).join('; ');
  const confirm = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.html)![1]!;
  await browser.post(action, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' });
  return cookie;
}

/**
 * A store whose look-ups of authorization codes named `held-…` wait until released: token requests
 * for them stay in the IdP's hands, being worked on, as under a slow database.
 */
function storeHoldingCodes(file: string) {
  const store = openSqliteStore(file, Date.now, { owner: true });
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  const find = store.documents.find.bind(store.documents);
  store.documents.find = async (kind, id) => {
    if (kind === 'AuthorizationCode' && id.startsWith('held-')) await released;
    return find(kind, id);
  };
  return { store, release };
}

/** A complete token request for a held code, from `address`: the IdP works on it until the store answers. */
async function heldTokenRequest(app: TestApp, address: string, n: number) {
  const socket = await openSocket(app.url, address);
  // The JSON error the IdP answers with once the store answers (a code it never issued).
  const answer = received(socket, /\r\n\r\n\{.*\}$/s);
  const body = new URLSearchParams({ grant_type: 'authorization_code', code: `held-${n}`, redirect_uri: WEBSITE.redirect_uris[0], code_verifier: 'v'.repeat(43) }).toString();
  const basic = `Basic ${Buffer.from(`${WEBSITE.client_id}:${WEBSITE.client_secret}`).toString('base64')}`;
  socket.write(`${head(app.url, 'POST', '/token', { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) })}${body}`);
  return { socket, answer };
}

test('a saturated process refuses new sign-ins with 503 and Retry-After, and keeps answering health checks, sign-ins under way and live sessions', async (t) => {
  let holding!: ReturnType<typeof storeHoldingCodes>;
  const app = await startTestApp({
    metrics: true,
    env: { SHED_MAX_REQUESTS_IN_FLIGHT: '3' },
    openStore: (file) => (holding = storeHoldingCodes(file)).store,
  });
  t.teardown(() => app.stop());
  const rp = await RelyingParty.website(app);
  const member = await createMember(app.store);
  const underWay = await logInPage(app, rp);
  const live = new Browser(app.url);
  t.truthy(await passwordLogIn(live, (await rp.start()).url, member.number, member.password));
  const stale = await loggedOutCookie(app, rp, member);

  // Requests being worked on, one from each of three addresses.
  const held = await Promise.all(['127.0.3.1', '127.0.3.2', '127.0.3.3'].map((address, i) => heldTokenRequest(app, address, i)));
  for (const deadline = Date.now() + 10_000; app.load().inFlight < 3 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(app.load().inFlight, 3, 'the held requests are being worked on');

  const started = performance.now();
  const refused = await fetch((await rp.start()).url, { redirect: 'manual', headers: { 'accept-language': 'en' } });
  const refusedInMs = performance.now() - started;
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '5');
  const page = await refused.text();
  t.regex(page, /Many members are logging in right now\./);
  t.regex(page, /Please try again in a few seconds\./);
  t.log(`refused in ${refusedInMs.toFixed(1)} ms`);
  t.is((await scrape(app.metricsUrl!)).value('jmb_shed_total', { stage: 'new_signin' }), 1);

  t.is((await fetch(`${app.url}/healthz`)).status, 200, 'health checks are answered');
  t.is((await fetch(`${app.url}/readyz`)).status, 200);
  const silent = await live.follow((await rp.start({ prompt: 'none' })).url);
  t.truthy(new URL(silent.url).searchParams.get('code'), 'a member with a live session is signed in at once');
  const withStaleCookie = await fetch((await rp.start()).url, { redirect: 'manual', headers: { cookie: stale } });
  t.is(withStaleCookie.status, 503, 'a logged-out session\'s cookie gets no way past');
  t.is((await scrape(app.metricsUrl!)).value('jmb_shed_total', { stage: 'new_signin' }), 2);
  const posted = await underWay.browser.post(`${underWay.url}/login`, { csrf: underWay.csrf, number: member.number, password: member.password });
  t.is(posted.status, 303, 'a sign-in under way continues');
  const { url: callback } = await underWay.browser.follow(posted.location!);
  const tokens = await rp.redeem(callback, underWay.flow);
  t.is(tokens.claims()!.sub, member.id, 'resume and token are answered');

  holding.release();
  for (const { answer } of held) t.is(parseResponse(await answer).status, 400, 'the held requests are answered once the store is');
  for (const { socket } of held) socket.destroy();
  const browser = new Browser(app.url);
  t.truthy(await passwordLogIn(browser, (await rp.start()).url, member.number, member.password), 'once the load is gone, sign-ins start again');
});
