import test from 'ava';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import * as client from 'openid-client';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { head, rawRequest } from '../helpers/raw-socket.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const BUDGET = 4;

const query = () => new URLSearchParams({
  client_id: WEBSITE.client_id, response_type: 'code', scope: 'openid', redirect_uri: WEBSITE.redirect_uris[0],
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
}).toString();

/** Rows of one kind in the embedded store's file. */
function rowsOf(app: TestApp, kind: string): number {
  const db = new DatabaseSync(path.join(app.dir, 'idp.db'), { readOnly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM documents WHERE kind = ?').get(kind) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** When the live sessions in the embedded store's file that no member is logged in with expire (epoch ms). */
function memberlessSessionExpiries(app: TestApp): number[] {
  const db = new DatabaseSync(path.join(app.dir, 'idp.db'), { readOnly: true });
  try {
    const rows = db.prepare("SELECT payload, expires_at AS at FROM documents WHERE kind = 'Session' AND expires_at > ?").all(Date.now()) as { payload: string; at: number }[];
    return rows.filter((row) => JSON.parse(row.payload).accountId === undefined).map((row) => row.at);
  } finally {
    db.close();
  }
}

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ env: { SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: String(BUDGET) } });
});
test.after.always(async () => app?.stop());

// Each way of writing the authorization endpoint that Node, Koa and oidc-provider route to it, each
// from an address of its own (Linux routes all of 127/8 to loopback).
const spellings = [
  { name: 'absolute form', address: '127.0.1.1', request: () => head(app.url, 'GET', `${app.url}/auth?${query()}`) },
  { name: 'absolute form, upper-case scheme', address: '127.0.1.2', request: () => head(app.url, 'GET', `HTTP://${new URL(app.url).host}/auth?${query()}`) },
  { name: 'upper-case path', address: '127.0.1.3', request: () => head(app.url, 'GET', `/AUTH?${query()}`) },
  { name: 'trailing slash', address: '127.0.1.4', request: () => head(app.url, 'GET', `/auth/?${query()}`) },
  { name: 'HEAD', address: '127.0.1.5', request: () => head(app.url, 'HEAD', `/auth?${query()}`) },
];

for (const spelling of spellings) {
  test(`the sign-in start budget holds for a target written in ${spelling.name}, and the sign-ins it admits start`, async (t) => {
    const statuses: number[] = [];
    for (let i = 0; i < BUDGET + 3; i++) {
      const response = await rawRequest(app.url, spelling.request(), spelling.address);
      statuses.push(response.status);
      if (response.status === 303) t.regex(response.headers.location ?? '', /^\/interaction\//, 'routed to the provider\'s authorization endpoint');
    }
    t.deepEqual(statuses, [...Array(BUDGET).fill(303), 429, 429, 429]);
  });
}

test.serial('a stale session cookie neither steps round the budget nor leaves a session row behind', async (t) => {
  const rp = await RelyingParty.website(app);
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const flow = await rp.start();
  const tokens = await rp.redeem(await passwordLogIn(browser, flow.url, member.number, member.password), flow);
  const stale = browser.cookies.filter((cookie) => cookie.name.startsWith('_session')).map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
  const confirm = await browser.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.html)![1]!;
  t.is((await browser.post(action, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' })).status, 303);
  const sessionsBefore = rowsOf(app, 'Session');

  const statuses: number[] = [];
  for (let i = 0; i < BUDGET + 3; i++) {
    statuses.push((await rawRequest(app.url, head(app.url, 'GET', `/auth?${query()}`, { cookie: stale }), '127.0.2.1')).status);
  }
  t.deepEqual(statuses, [...Array(BUDGET).fill(303), 429, 429, 429]);
  t.is(rowsOf(app, 'Session'), sessionsBefore, 'no session was written for the stale cookie');
});

test.serial('a log-out asked for without a session keeps its form\'s secret for minutes, not weeks, and still returns to the relying party', async (t) => {
  const browser = new Browser(app.url);
  const url = `${app.url}/session/end?${new URLSearchParams({ client_id: WEBSITE.client_id, post_logout_redirect_uri: WEBSITE.post_logout_redirect_uris[0]!, state: 'bye' })}`;
  const form = await browser.get(url);
  t.is(form.status, 200);
  const expiries = memberlessSessionExpiries(app);
  t.true(expiries.length >= 1);
  for (const expiresAt of expiries) t.true(expiresAt - Date.now() <= 10 * 60 * 1000, 'the secret is kept ten minutes at most');

  // The page submits itself; the browser does what its script would.
  const action = /<form method="post" action="([^"]+)"/.exec(form.html)![1]!;
  const done = await browser.post(action, { xsrf: hiddenField(form.html, 'xsrf'), logout: 'yes' });
  t.is(done.status, 303);
  t.is(done.location, `${WEBSITE.post_logout_redirect_uris[0]}?state=bye`);
});

test.serial('log-outs asked for without a session count against the address\'s budget: a client cannot fill the store with their records', async (t) => {
  // A member logged in here beforehand, from the address about to spend its budget.
  const rp = await RelyingParty.website(app);
  const member = await createMember(app.store);
  const browser = new Browser(app.url);
  const started = await rp.start();
  const tokens = await rp.redeem(await passwordLogIn(browser, started.url, member.number, member.password), started);

  const url = `/session/end?${new URLSearchParams({ client_id: WEBSITE.client_id })}`;
  const statuses: number[] = [];
  for (let i = 0; i < BUDGET * 3; i++) statuses.push((await rawRequest(app.url, head(app.url, 'GET', url), '127.0.0.1')).status);
  t.true(statuses.slice(-BUDGET * 2).every((status) => status === 429), `${JSON.stringify(statuses)}`);
  t.is((await rawRequest(app.url, head(app.url, 'GET', url), '127.0.7.2')).status, 200, 'another address is unaffected');

  // The member logs out however busy their address has been.
  const question = await browser.get(`${app.url}/session/end?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: WEBSITE.post_logout_redirect_uris[0]! })}`);
  t.not(question.status, 429);
  t.true(question.status === 200 || question.status === 303);
});
