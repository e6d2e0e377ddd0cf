import test from 'ava';
import { ACR, assuranceOf, proofsFromAmr, supportedAcrValues } from '../../src/oidc/assurance.ts';

test('each proof gives the acr and amr a relying party can rely on', (t) => {
  t.deepEqual(assuranceOf([{ method: 'password' }]), { acr: 'urn:jmb:loa:1', amr: ['pwd'] });
  t.deepEqual(assuranceOf([{ method: 'passkey', synced: false }]), { acr: 'phr', amr: ['hwk', 'user', 'mfa'] });
  t.deepEqual(assuranceOf([{ method: 'passkey', synced: true }]), { acr: 'phr', amr: ['swk', 'user', 'mfa'] });
  t.deepEqual(assuranceOf([{ method: 'password' }, { method: 'sms-otp' }]), { acr: 'urn:jmb:loa:2', amr: ['pwd', 'sms', 'otp', 'mfa'] });
  t.deepEqual(assuranceOf([{ method: 'passkey', synced: true }, { method: 'sms-otp' }]), { acr: 'urn:jmb:loa:2', amr: ['swk', 'user', 'sms', 'otp', 'mfa'] });
});

test('an SMS code alone is never a log-in', (t) => {
  t.throws(() => assuranceOf([{ method: 'sms-otp' }]));
  t.throws(() => assuranceOf([]));
});

test('a session amr gives back the first factor it recorded', (t) => {
  t.deepEqual(proofsFromAmr(['pwd']), [{ method: 'password' }]);
  t.deepEqual(proofsFromAmr(['hwk', 'user', 'mfa']), [{ method: 'passkey', synced: false }]);
  t.deepEqual(proofsFromAmr(['swk', 'user', 'sms', 'otp', 'mfa']), [{ method: 'passkey', synced: true }]);
  t.deepEqual(proofsFromAmr(undefined), []);
});

test('discovery advertises exactly the acr values the IdP can issue', (t) => {
  t.deepEqual([...supportedAcrValues].sort(), Object.values(ACR).sort());
});
