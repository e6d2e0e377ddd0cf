import test from 'ava';
import { retryHref } from '../../src/http/error-boundary.ts';
import { localPath } from '../../src/http/local-path.ts';

const issuer = 'https://idp.jmb.example';

test('paths on the IdP are kept as they are', (t) => {
  for (const path of ['/', '/account', '/interaction/abc-123?lang=en', '/help/passkeys?return=%2Faccount', '/%2F%2Fevil.example', '/%5Cevil.example', '/a//b', '/a/\\b', '/.//x']) {
    t.is(localPath(path), path);
    t.is(new URL(path, issuer).origin, issuer, `${path} stays on the issuer's origin`);
  }
});

test('anything a browser would read as another origin, or could, is refused', (t) => {
  const refused = [
    '//evil.example/x', '///evil.example/x', '/\\evil.example/x', '/\\/evil.example', '\\\\evil.example', '\\/evil.example',
    '/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', '\t//evil.example', ' //evil.example', '/ /x', '/x\u0000', '/x\u007f',
    'https://evil.example/x', 'javascript:alert(1)', 'evil.example', '', '?lang=en',
  ];
  for (const value of refused) {
    t.is(localPath(value), undefined, JSON.stringify(value));
  }
  // What a browser makes of the first few: the reason they are refused.
  for (const value of ['//evil.example/x', '///evil.example/x', '/\\evil.example/x', '/\t/evil.example']) {
    t.is(new URL(value, issuer).hostname, 'evil.example', JSON.stringify(value));
  }
});

test('only strings are paths', (t) => {
  for (const value of [undefined, null, 1, ['/account'], { toString: () => '/account' }]) t.is(localPath(value), undefined);
});

test('"Try again" on a busy page leads back only to a path on the IdP', (t) => {
  t.is(retryHref({ method: 'GET', originalUrl: '/auth?client_id=website' }, 'busy'), '/auth?client_id=website');
  for (const originalUrl of ['//evil.example/x', '/\\evil.example', 'http://evil.example/auth']) {
    t.is(retryHref({ method: 'GET', originalUrl }, 'limited'), undefined, originalUrl);
  }
  t.is(retryHref({ method: 'POST', originalUrl: '/interaction/abc/login' }, 'busy'), undefined, 'a form post is not repeated by a link');
});
