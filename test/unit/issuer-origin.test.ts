import test from 'ava';
import type { IncomingMessage } from 'node:http';
import { pinToIssuer } from '../../src/http/issuer-origin.ts';

const request = (url: string, headers: Record<string, string> = {}) => ({ url, headers: { ...headers } }) as unknown as IncomingMessage;

test('a request names the issuer\'s host, whatever the client or a proxy wrote', (t) => {
  const pin = pinToIssuer('https://idp.jmb.example');
  const req = request('/jwks', {
    host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-port': '8443', 'x-forwarded-server': 'evil', forwarded: 'host=evil.example',
    'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https',
  });
  pin(req);
  t.deepEqual(req.headers, { host: 'idp.jmb.example', 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' }, 'the client address and the scheme are left to client-address.ts');
  t.is(req.url, '/jwks');
  const withPort = request('/', {});
  pinToIssuer('http://localhost:3000')(withPort);
  t.is(withPort.headers.host, 'localhost:3000');
});

test('an absolute-form request target becomes the path and query it names', (t) => {
  const pin = pinToIssuer('https://idp.jmb.example');
  const cases = {
    'http://evil.example/auth?client_id=x': '/auth?client_id=x',
    'HTTPS://evil.example': '/',
    'http://u:p@evil.example:99/a/../auth?x': '/auth?x',
    'http://evil.example//other.example/x': '//other.example/x',
    '/already/a/path?x=1': '/already/a/path?x=1',
    '//evil.example/x': '//evil.example/x',
    '*': '*',
  };
  for (const [target, expected] of Object.entries(cases)) {
    const req = request(target);
    pin(req);
    t.is(req.url, expected, target);
  }
});
