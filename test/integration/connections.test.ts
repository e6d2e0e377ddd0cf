import test from 'ava';
import type { Socket } from 'node:net';
import { head, openSocket, parseResponse, rawRequest, received } from '../helpers/raw-socket.ts';
import { WEBSITE, startTestApp, type TestApp } from '../helpers/test-app.ts';

/** An authorization request as a relying party sends a browser with it. */
function authorizationTarget(): string {
  return `/auth?${new URLSearchParams({
    client_id: WEBSITE.client_id, response_type: 'code', scope: 'openid', redirect_uri: WEBSITE.redirect_uris[0],
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  })}`;
}

/** A new sign-in from `address`, without cookies: its status and where it leads. */
async function startSignIn(app: TestApp, address: string) {
  const response = await rawRequest(app.url, head(app.url, 'GET', authorizationTarget(), { accept: 'text/html', 'accept-language': 'en' }), address);
  return { status: response.status, location: response.headers.location ?? '' };
}

/** Token requests announcing a 2,000-byte body that never comes, all from `address`. */
async function holdTokenRequests(app: TestApp, address: string, count: number) {
  const held: { socket: Socket; answer: Promise<string>; answered: boolean }[] = [];
  for (let i = 0; i < count; i++) {
    const socket = await openSocket(app.url, address);
    const entry = { socket, answer: received(socket), answered: false };
    socket.once('data', () => { entry.answered = true; });
    socket.write(head(app.url, 'POST', '/token', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '2000' }));
    held.push(entry);
  }
  return held;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 8_000; !condition();) {
    if (Date.now() > deadline) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('one address holding requests whose bodies never come stops no other address from starting a sign-in', async (t) => {
  const app = await startTestApp({ env: { SHED_MAX_REQUESTS_IN_FLIGHT: '8', SHED_MAX_IN_FLIGHT_PER_ADDRESS: '4' } });
  t.teardown(() => app.stop());

  const held = await holdTokenRequests(app, '127.0.0.66', 40);
  // Every one of them has reached the IdP: it is either held open or has been answered.
  await until(() => {
    const load = app.load() as { inFlight: number; waiting?: number };
    return load.inFlight + (load.waiting ?? 0) + held.filter((entry) => entry.answered).length >= 40;
  }, 'the IdP has seen all 40 requests');

  for (const address of ['127.0.0.7', '127.0.0.8', '127.0.0.9', '127.0.0.10']) {
    const started = await startSignIn(app, address);
    t.is(started.status, 303, `a sign-in from ${address} starts`);
    t.regex(started.location, /^\/interaction\//);
  }

  const answered = await Promise.all(held.filter((entry) => entry.answered).map((entry) => entry.answer));
  t.is(answered.length, 36, 'past its share of 4, the address\'s requests are answered at once');
  for (const text of answered) {
    const refused = parseResponse(text);
    t.is(refused.status, 429);
    t.true(Number(refused.headers['retry-after']) >= 1);
    t.is(refused.headers.connection, 'close', 'and their connections closed');
    t.is(JSON.parse(refused.body).error, 'too_many_requests');
  }
  for (const entry of held) entry.socket.destroy();
});

test('a request whose headers or body stall is answered 408 and closed once the server timeouts pass', async (t) => {
  const app = await startTestApp({ env: { HTTP_HEADERS_TIMEOUT_SECONDS: '1', HTTP_REQUEST_TIMEOUT_SECONDS: '2' } });
  t.teardown(() => app.stop());

  const [body] = await holdTokenRequests(app, '127.0.0.20', 1);
  const headers = await openSocket(app.url, '127.0.0.21');
  const headersAnswer = received(headers);
  headers.write(`GET ${authorizationTarget()} HTTP/1.1\r\nHost: localhost\r\n`);

  t.is(parseResponse(await body!.answer).status, 408, 'a body that never comes');
  t.is(parseResponse(await headersAnswer).status, 408, 'headers that never end');
  t.is((await startSignIn(app, '127.0.0.22')).status, 303, 'and the IdP goes on serving');
});

test('a body larger than the endpoint takes is refused with 413 before it is read', async (t) => {
  const app = await startTestApp();
  t.teardown(() => app.stop());

  const token = await rawRequest(app.url, head(app.url, 'POST', '/token', {
    'content-type': 'application/x-www-form-urlencoded', 'content-length': '100000', accept: 'application/json',
  }));
  t.is(token.status, 413);
  t.is(token.headers.connection, 'close');
  t.like(JSON.parse(token.body), { error: 'invalid_request' });
  t.regex(JSON.parse(token.body).error_description, /larger than 16384 bytes/);
});
