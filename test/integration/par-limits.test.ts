import test from 'ava';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Browser } from '../helpers/browser.ts';
import { head, rawRequest } from '../helpers/raw-socket.ts';
import { NATIVE_APP, WEBSITE, startTestApp, type TestApp } from '../helpers/test-app.ts';

const BUDGET = 3;
let now = Date.now();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ clock: () => now, env: { PAR_PER_CLIENT_AND_ADDRESS_PER_MINUTE: String(BUDGET) } });
});
test.after.always(async () => app?.stop());

/** A pushed authorization request's form, as the app sends it; `state` as long as asked. */
function pushedForm(client: { client_id: string; redirect_uris: readonly string[] }, stateLength = 43): string {
  return new URLSearchParams({
    client_id: client.client_id, response_type: 'code', scope: 'openid', redirect_uri: client.redirect_uris[0]!,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's'.repeat(stateLength),
  }).toString();
}

/** POST /request from `address`, the body sent whole with its length (or in one chunk). */
async function push(form: string, address: string, headers: Record<string, string> = {}, chunked = false) {
  const framing: Record<string, string> = chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(form)) };
  const body = chunked ? `${Buffer.byteLength(form).toString(16)}\r\n${form}\r\n0\r\n\r\n` : form;
  const response = await rawRequest(app.url, `${head(app.url, 'POST', '/request', { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...framing, ...headers })}${body}`, address);
  return { ...response, json: response.body.startsWith('{') ? JSON.parse(response.body) : undefined };
}

/** Pushed authorization requests the store holds: in this process's memory, and rows in the file. */
function stored(): { inMemory: number; rows: number } {
  const inMemory = app.store.inMemory?.().find((entry) => entry.kind === 'PushedAuthorizationRequest')?.held ?? 0;
  const db = new DatabaseSync(path.join(app.dir, 'idp.db'), { readOnly: true });
  try {
    const { n } = db.prepare("SELECT COUNT(*) AS n FROM documents WHERE kind = 'PushedAuthorizationRequest'").get() as { n: number };
    return { inMemory, rows: n };
  } finally {
    db.close();
  }
}

test.serial('past its budget a client gets 429 with Retry-After from that address, and nothing is stored', async (t) => {
  const before = stored();
  const statuses = [];
  for (let i = 0; i < BUDGET; i++) statuses.push((await push(pushedForm(NATIVE_APP), '127.0.4.1')).status);
  t.deepEqual(statuses, Array(BUDGET).fill(201));
  const refused = await push(pushedForm(NATIVE_APP), '127.0.4.1');
  t.is(refused.status, 429);
  t.true(Number(refused.headers['retry-after']) >= 1);
  t.is(refused.json.error, 'invalid_request');
  t.regex(refused.json.error_description, /too many pushed authorization requests/);
  t.is(stored().inMemory, before.inMemory + BUDGET, 'the refused request was not stored');

  t.is((await push(pushedForm(NATIVE_APP), '127.0.4.2')).status, 201, 'the same client from another address');
  const basic = `Basic ${Buffer.from(`${WEBSITE.client_id}:${WEBSITE.client_secret}`).toString('base64')}`;
  t.is((await push(pushedForm(WEBSITE), '127.0.4.1', { authorization: basic })).status, 201, 'another client from the same address');
});

test.serial('a pushed request larger than PAR_MAX_BYTES is refused with 413 before it is read or stored', async (t) => {
  const before = stored();
  const large = await push(pushedForm(NATIVE_APP, 55 * 1024), '127.0.5.1');
  t.is(large.status, 413);
  t.is(large.json.error, 'invalid_request');
  t.regex(large.json.error_description, /larger than 4096 bytes/);
  t.is(large.headers.connection, 'close');
  const justOver = await push(pushedForm(NATIVE_APP, 4096), '127.0.5.1');
  t.is(justOver.status, 413);
  const chunked = await push(pushedForm(NATIVE_APP, 55 * 1024), '127.0.5.1', {}, true);
  t.is(chunked.status, 411, 'a body that does not state its length');
  t.is(chunked.json.error, 'invalid_request');
  t.deepEqual(stored(), before);
  t.is((await push(pushedForm(NATIVE_APP, 3000), '127.0.5.1')).status, 201, 'a request within the cap is taken');
});

test.serial('pushed requests are kept in memory, never in the file, and are gone once they expire', async (t) => {
  const pushed = await push(pushedForm(NATIVE_APP), '127.0.6.1');
  t.is(pushed.status, 201);
  t.is(pushed.json.expires_in, 60);
  t.true(stored().inMemory >= 1);
  t.is(stored().rows, 0, 'no row in the file');

  now += 61_000;
  await app.prune();
  t.deepEqual(stored(), { inMemory: 0, rows: 0 });
  const url = `${app.url}/auth?${new URLSearchParams({ client_id: NATIVE_APP.client_id, request_uri: pushed.json.request_uri })}`;
  const { url: landed } = await new Browser(app.url).follow(url);
  const error = new URL(landed).searchParams;
  t.is(error.get('error'), 'invalid_request_uri');
  t.regex(error.get('error_description') ?? '', /expired/);
});
