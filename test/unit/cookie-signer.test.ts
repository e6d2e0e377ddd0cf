import test from 'ava';
import { createHmac } from 'node:crypto';
import { CookieSigner } from '../../src/http/cookie-signer.ts';

const data = '_session=8Ds9dXq2Jd0KQ2y5gVmA1';

test('a signature made with the newest key verifies, and only for the data it was made for', (t) => {
  const signer = new CookieSigner(['newest key', 'older key']);
  const signature = signer.sign(data);
  t.is(signature, createHmac('sha256', 'newest key').update(data).digest('base64url'), 'HMAC-SHA256, base64url');
  t.is(signer.index(data, signature), 0);
  t.true(signer.verify(data, signature));
  t.false(signer.verify(`${data}x`, signature), 'another value');
  t.false(signer.verify('_interaction=8Ds9dXq2Jd0KQ2y5gVmA1', signature), 'another cookie name');
});

test('a signature by an older key is found at its position, so the cookie gets re-signed', (t) => {
  const before = new CookieSigner(['older key']).sign(data);
  const rotated = new CookieSigner(['newest key', 'older key']);
  t.is(rotated.index(data, before), 1);
  t.is(new CookieSigner(['newest key']).index(data, before), -1, 'a retired key no longer counts');
});

test('altered, truncated, padded, non-ASCII or missing signatures are refused', (t) => {
  const signer = new CookieSigner(['newest key']);
  const signature = signer.sign(data);
  const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
  for (const bad of [flipped, signature.slice(0, -1), `${signature}=`, `${signature}A`, signature.replace(/.$/, 'Ł'), '', 'undefined']) {
    t.is(signer.index(data, bad), -1, JSON.stringify(bad));
  }
  t.is(signer.index(data, undefined as unknown as string), -1);
  t.is(signer.index(undefined as unknown as string, signature), -1);
});

test('a signer needs at least one key', (t) => {
  t.throws(() => new CookieSigner([]), { message: /at least one cookie key/ });
});
