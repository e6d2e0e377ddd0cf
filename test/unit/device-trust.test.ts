import test from 'ava';
import { createHmac } from 'node:crypto';
import { createDeviceTrust } from '../../src/auth/password/device-trust.ts';

const DAY = 24 * 3600 * 1000;
const memberA = { id: 'member-a', deviceGeneration: 0 };
const memberB = { id: 'member-b', deviceGeneration: 0 };

test('a token names one member, survives key rotation, expires, and cannot be forged', (t) => {
  let now = Date.UTC(2026, 0, 1);
  const oldKey = Buffer.alloc(32, 1);
  const newKey = Buffer.alloc(32, 2);
  const devices = createDeviceTrust({ keys: [oldKey], days: 30 }, () => now);
  const cookie = devices.issue(undefined, memberA);
  const nonce = devices.nonceFor(cookie, memberA);
  t.truthy(nonce);
  t.is(devices.nonceFor(cookie, memberB), undefined, 'not for another member');
  t.false(cookie.includes('member-a'), 'the member id is not in the cookie');

  const rotated = createDeviceTrust({ keys: [newKey, oldKey], days: 30 }, () => now);
  t.is(rotated.nonceFor(cookie, memberA), nonce, 'a token made with an older key still counts');
  const [tag, tokenNonce, issued, signature] = cookie.split('.');
  t.is(devices.nonceFor(`${tag}.${tokenNonce}.${issued}.${'A'.repeat(32)}`, memberA), undefined, 'a forged signature counts for nothing');
  t.is(devices.nonceFor(`${tag}.${tokenNonce}.${(Number.parseInt(issued!, 36) + 5).toString(36)}.${signature}`, memberA), undefined, 'nor a changed date');

  const both = devices.issue(cookie, memberB);
  t.truthy(devices.nonceFor(both, memberA), 'one browser is remembered for several members');
  t.truthy(devices.nonceFor(both, memberB));
  now += 31 * DAY;
  t.is(devices.nonceFor(both, memberA), undefined, 'a token expires');
});

test('a token counts only while the member is at the generation it was made under', (t) => {
  const devices = createDeviceTrust({ keys: [Buffer.alloc(32, 3)], days: 30 });
  const first = devices.issue(undefined, memberA);
  t.truthy(devices.nonceFor(first, memberA));
  t.is(devices.nonceFor(first, { id: 'member-a', deviceGeneration: 1 }), undefined, 'once the generation went up, the copy counts for nothing');

  const later = devices.issue(undefined, { id: 'member-a', deviceGeneration: 5 });
  t.truthy(devices.nonceFor(later, { id: 'member-a', deviceGeneration: 5 }));
  t.is(devices.nonceFor(later, { id: 'member-a', deviceGeneration: 4 }), undefined, 'nor for an earlier generation');
  t.is(devices.nonceFor(later, { id: 'member-a', deviceGeneration: 6 }), undefined);
  t.is(devices.nonceFor(later, { id: 'member-b', deviceGeneration: 5 }), undefined);
});

test('the generation is under the signature: rewriting or dropping it makes the token worthless', (t) => {
  const devices = createDeviceTrust({ keys: [Buffer.alloc(32, 4)], days: 30 });
  const token = devices.issue(undefined, { id: 'member-a', deviceGeneration: 2 });
  const [tag, nonce, issued, generation, signature] = token.split('.');
  t.is(generation, '2');
  for (const forged of [
    `${tag}.${nonce}.${issued}.3.${signature}`,
    `${tag}.${nonce}.${issued}.${signature}`,
    `${tag}.${nonce}.${issued}.02.${signature}`,
    `${tag}.${nonce}.${issued}.2.${signature}.extra`,
  ]) {
    for (const deviceGeneration of [0, 2, 3]) t.is(devices.nonceFor(forged, { id: 'member-a', deviceGeneration }), undefined, forged);
  }
});

test('tokens made before generations existed count as generation 0', (t) => {
  const key = Buffer.alloc(32, 5);
  const now = Date.UTC(2026, 0, 1);
  // Written as the IdP wrote them before: `tag.nonce.issued.mac`, the mac over the first three.
  const mac = (text: string) => createHmac('sha256', key).update(text).digest('base64url').slice(0, 32);
  const signed = `${mac('member:member-a').slice(0, 22)}.bm9uY2Utb2YtdGhlLWJyb3dzZXI.${Math.floor(now / DAY).toString(36)}`;
  const earlier = `${signed}.${mac(signed)}`;
  const devices = createDeviceTrust({ keys: [key], days: 30 }, () => now);
  t.is(devices.nonceFor(earlier, memberA), 'bm9uY2Utb2YtdGhlLWJyb3dzZXI');
  t.is(devices.nonceFor(earlier, { id: 'member-a', deviceGeneration: 1 }), undefined);
});

test('a new token replaces every earlier one of the member, whatever its generation, and keeps other members\'', (t) => {
  const devices = createDeviceTrust({ keys: [Buffer.alloc(32, 6)], days: 30 });
  let cookie = devices.issue(undefined, memberB);
  cookie = devices.issue(cookie, memberA);
  cookie = devices.issue(cookie, { id: 'member-a', deviceGeneration: 1 });
  t.is(cookie.split('~').length, 2, 'member A\'s token of generation 0 went');
  t.truthy(devices.nonceFor(cookie, { id: 'member-a', deviceGeneration: 1 }));
  t.truthy(devices.nonceFor(cookie, memberB));
});
