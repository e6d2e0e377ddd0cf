import test from 'ava';
import type { IncomingMessage } from 'node:http';
import { createClientAddress, limitKeyOf } from '../../src/http/client-address.ts';
import { parseTrustProxy, type TrustProxy } from '../../src/config/trust-proxy.ts';

function request(peer: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: { ...headers } } as unknown as IncomingMessage;
}

const trust = (value: string): TrustProxy => {
  const parsed = parseTrustProxy(value);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
};

test('with no proxy trusted, the peer is the client and forwarding headers are removed', (t) => {
  const req = request('203.0.113.5', { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
  t.is(createClientAddress(trust('0'))(req), '203.0.113.5');
  t.is(req.headers['x-forwarded-for'], undefined);
  t.is(req.headers['x-forwarded-proto'], undefined);
  t.is(req.headers['x-forwarded-host'], undefined);
});

test('with N proxies, the client is the N-th entry from the right, whatever the client wrote to the left', (t) => {
  const one = createClientAddress(trust('1'));
  t.is(one(request('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' })), '198.51.100.7');
  t.is(one(request('10.0.0.2', { 'x-forwarded-for': '198.51.100.7' })), '198.51.100.7');
  t.is(one(request('10.0.0.2')), '10.0.0.2', 'a request that did not come through the proxy is its peer');
  const two = createClientAddress(trust('2'));
  t.is(two(request('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 172.16.0.9' })), '198.51.100.7');
});

test('with a list of ranges, the client is the first address from the right that is not a proxy', (t) => {
  const resolve = createClientAddress(trust('10.0.0.0/8, 2001:db8::/32, 192.0.2.1'));
  t.is(resolve(request('10.1.1.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 192.0.2.1, 10.2.2.2' })), '198.51.100.7');
  t.is(resolve(request('2001:db8::1', { 'x-forwarded-for': '2001:db8:1::5, 2400:4050::1' })), '2400:4050::1');
  const outside = request('198.51.100.50', { 'x-forwarded-for': '10.9.9.9' });
  t.is(resolve(outside), '198.51.100.50', 'a peer outside the ranges is the client, and its header is dropped');
  t.is(outside.headers['x-forwarded-for'], undefined);
});

test('malformed entries are skipped; ports, brackets and IPv4-mapped forms are understood', (t) => {
  const one = createClientAddress(trust('1'));
  t.is(one(request('10.0.0.2', { 'x-forwarded-for': '198.51.100.7, not-an-ip, , unknown' })), '198.51.100.7');
  t.is(one(request('10.0.0.2', { 'x-forwarded-for': '198.51.100.7:51234' })), '198.51.100.7');
  t.is(one(request('10.0.0.2', { 'x-forwarded-for': '[2400:4050::1]:443' })), '2400:4050::1');
  t.is(one(request('::ffff:10.0.0.2', { 'x-forwarded-for': '::ffff:198.51.100.7' })), '198.51.100.7');
});

test('X-Forwarded-Proto is read as the trusted proxy wrote it', (t) => {
  const req = request('10.0.0.2', { 'x-forwarded-for': '1.1.1.1, 198.51.100.7', 'x-forwarded-proto': 'http, https' });
  createClientAddress(trust('1'))(req);
  t.is(req.headers['x-forwarded-proto'], 'https');
});

test('TRUST_PROXY: a count, a list, or a clear refusal', (t) => {
  t.deepEqual(parseTrustProxy(undefined), { hops: 0 });
  t.deepEqual(parseTrustProxy('false'), { hops: 0 });
  t.deepEqual(parseTrustProxy('2'), { hops: 2 });
  t.regex(String(parseTrustProxy('true')), /number of proxies/);
  t.regex(String(parseTrustProxy('10.0.0.0/33')), /"10\.0\.0\.0\/33"/);
  t.regex(String(parseTrustProxy('proxy.internal')), /neither a number of proxies nor an IP address/);
});

test('limits count an IPv6 client by its /64 and an IPv4 client by its address', (t) => {
  t.is(limitKeyOf('198.51.100.7'), '198.51.100.7');
  t.is(limitKeyOf('2400:4050:1:2:aaaa::1'), '2400:4050:0001:0002::/64');
  t.is(limitKeyOf('2400:4050:1:2:bbbb:cccc:dddd:eeee'), limitKeyOf('2400:4050:1:2::9'));
  t.not(limitKeyOf('2400:4050:1:3::1'), limitKeyOf('2400:4050:1:2::1'));
});
