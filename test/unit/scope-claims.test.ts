import test from 'ava';
import { releasableClaims, withinReleasable } from '../../src/oidc/scope-claims.ts';

test('a client may be given the claims of the scopes it registered, and every scope\'s when it registered none', (t) => {
  t.deepEqual([...releasableClaims('openid')].sort(), ['acr', 'amr', 'auth_time', 'sub']);
  t.deepEqual([...releasableClaims('openid profile offline_access')].sort(), ['acr', 'amr', 'auth_time', 'name', 'sub']);
  t.deepEqual([...releasableClaims(undefined)].sort(), ['acr', 'amr', 'auth_time', 'jmb_member_number', 'name', 'phone_number', 'sub']);
  t.deepEqual([...releasableClaims('constructor toString __proto__')].sort(), ['acr', 'amr', 'auth_time', 'sub'], 'names that are not scopes release nothing');
});

test('claims outside what may be released are dropped', (t) => {
  const claims = { sub: 'm1', name: 'Hanako', phone_number: '+81900000000' };
  t.deepEqual(withinReleasable(claims, releasableClaims('openid profile')), { sub: 'm1', name: 'Hanako' });
});
