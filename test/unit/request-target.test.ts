import test from 'ava';
import type { IncomingMessage } from 'node:http';
import { isAuthorizationRequest, toOriginForm } from '../../src/http/request-target.ts';

const request = (url: string, host = 'idp.example') => ({ url, headers: { host } }) as unknown as IncomingMessage;

test('a target in absolute form is put in origin form, its authority taking the Host header\'s place', (t) => {
  const req = request('http://login.example:8080/auth?client_id=a&x=1');
  t.is(toOriginForm(req), '/auth');
  t.is(req.url, '/auth?client_id=a&x=1');
  t.is(req.headers.host, 'login.example:8080');
  const upper = request('HTTP://login.example/AUTH');
  t.is(toOriginForm(upper), '/AUTH');
  t.is(upper.url, '/AUTH');
});

test('origin form is kept as sent, without a fragment; what is not a URL is left alone', (t) => {
  for (const [target, path, url] of [
    ['/auth?x=1', '/auth', '/auth?x=1'],
    ['/auth#x?y=1', '/auth', '/auth'],
    ['/a/../auth', '/a/../auth', '/a/../auth'],
    ['*', '*', '*'],
  ] as const) {
    const req = request(target);
    t.is(toOriginForm(req), path, target);
    t.is(req.url, url, target);
    t.is(req.headers.host, 'idp.example', target);
  }
});

test('the authorization endpoint is matched as oidc-provider\'s router matches it', (t) => {
  for (const path of ['/auth', '/AUTH', '/Auth/', '/auth/']) t.true(isAuthorizationRequest('GET', path), path);
  t.true(isAuthorizationRequest('HEAD', '/auth'));
  t.true(isAuthorizationRequest('POST', '/auth'));
  for (const path of ['/auth/abc', '/auth//', '/authx', '/%61uth', '/interaction/auth']) t.false(isAuthorizationRequest('GET', path), path);
  t.false(isAuthorizationRequest('PUT', '/auth'));
});
