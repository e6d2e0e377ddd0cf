import test from 'ava';
import { once } from 'node:events';
import { createServer, get, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { allowedHosts, isLoopback, mayConnect } from '../helpers/network.ts';

// Reaching a host on the network would make these tests wait for a real answer; an abort names it instead.
const NOT_REFUSED = 10_000;

let server: Server;
let port: number;
test.before(async () => {
  server = createServer((_req, res) => res.end('loopback'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
test.after.always(() => {
  server.closeAllConnections();
  server.close();
});

/** The error a socket to host:port ends with, or undefined when it connects. */
async function socketOutcome(host: string, socketPort: number): Promise<(Error & { code?: string }) | undefined> {
  const socket = connect({ host, port: socketPort });
  const timer = setTimeout(() => socket.destroy(new Error('the connection was neither refused nor made')), NOT_REFUSED);
  try {
    await once(socket, 'connect');
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

for (const url of ['http://192.0.2.1/', 'https://example.com/']) {
  test(`fetch to ${url} is refused by nock, without going out`, async (t) => {
    // nock rejects with its own error object, which is not a native Error.
    const error = await t.throwsAsync(fetch(url, { signal: AbortSignal.timeout(NOT_REFUSED) }), { any: true });
    t.like(error, { name: 'NetConnectNotAllowedError', code: 'ENETUNREACH' });
  });
}

test('http.get to a host on the network is refused by nock', async (t) => {
  const request = get('http://example.com/');
  const timer = setTimeout(() => request.destroy(new Error('the request was neither refused nor made')), NOT_REFUSED);
  const [error] = await once(request, 'error').finally(() => clearTimeout(timer));
  t.like(error, { name: 'NetConnectNotAllowedError', code: 'ENETUNREACH' });
});

test('a raw socket to a host on the network is refused, as a database driver would open one', async (t) => {
  t.like(await socketOutcome('192.0.2.1', 27017), { name: 'NetworkDeniedError', code: 'ENETUNREACH' });
  t.like(await socketOutcome('example.com', 5432), { name: 'NetworkDeniedError', code: 'ENETUNREACH' });
});

test('loopback is reached by fetch, http and raw sockets, by name and by address', async (t) => {
  t.is(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'loopback');
  t.is(await (await fetch(`http://localhost:${port}/`)).text(), 'loopback');
  const [response] = await once(get(`http://127.0.0.1:${port}/`), 'response');
  t.is(response.statusCode, 200);
  response.resume();
  t.is(await socketOutcome('127.0.0.1', port), undefined);
  t.is(await socketOutcome('localhost', port), undefined);
});

test('loopback is 127.0.0.0/8, ::1 and localhost, and nothing else', (t) => {
  for (const host of ['localhost', '127.0.0.1', '127.0.0.7', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'LOCALHOST']) t.true(isLoopback(host), host);
  for (const host of ['192.0.2.1', 'example.com', 'localhost.example.com', '0.0.0.0', '::', '::2', '10.0.0.1', '128.0.0.1']) t.false(isLoopback(host), host);
});

test('the MongoDB server named by TEST_MONGODB_URI may be reached, and only it', (t) => {
  const plain = allowedHosts({ TEST_MONGODB_URI: 'mongodb://jmb:secret@mongo-1.internal:27017,[2001:db8::5]:27018/jmb?replicaSet=rs0' });
  t.true(mayConnect('mongo-1.internal', plain));
  t.true(mayConnect('2001:db8::5', plain));
  t.false(mayConnect('mongo-2.internal', plain));
  t.false(mayConnect('secret', plain));

  // The SRV record's hosts share the parent domain of the name given.
  const srv = allowedHosts({ TEST_MONGODB_URI: 'mongodb+srv://jmb:secret@cluster0.abcd.mongodb.net/jmb' });
  t.true(mayConnect('cluster0-shard-00-01.abcd.mongodb.net', srv));
  t.false(mayConnect('abcd.mongodb.net.attacker.example', srv));
  t.false(mayConnect('example.com', allowedHosts({})));
});
