import test from 'ava';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { ceremonyErrorCode } from '../../src/auth/passkey/webauthn-errors.ts';
import { SoftPasskey, type Assertion } from '../helpers/soft-authenticator.ts';

const RP_ID = 'idp.jmb.example';
const ORIGIN = `https://${RP_ID}`;

/** What SimpleWebAuthn throws for a registration response, and the code it maps to. */
async function registrationRefusal(tweak: { origin?: string; rpId?: string; userVerified?: boolean; type?: string }): Promise<{ message: string; code: string }> {
  const options = await generateRegistrationOptions({ rpName: 'JMB', rpID: RP_ID, userName: '300000001', attestationType: 'none', supportedAlgorithmIDs: [-7] });
  const { response } = SoftPasskey.create(options, tweak.origin ?? ORIGIN, { rpId: tweak.rpId, userVerified: tweak.userVerified });
  if (tweak.type) {
    const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'));
    response.response.clientDataJSON = Buffer.from(JSON.stringify({ ...clientData, type: tweak.type })).toString('base64url');
  }
  return refusal(() => verifyRegistrationResponse({
    response: response as RegistrationResponseJSON, expectedChallenge: options.challenge, expectedOrigin: [ORIGIN], expectedRPID: RP_ID, requireUserVerification: true, supportedAlgorithmIDs: [-7],
  }), 'invalid_attestation');
}

/** What SimpleWebAuthn throws for an assertion, and the code it maps to. */
async function authenticationRefusal(tweak: Assertion, tamper?: (response: AuthenticationResponseJSON) => void): Promise<{ message: string; code: string }> {
  const passkey = new SoftPasskey({ rpId: RP_ID, userHandle: 'dXNlcg' });
  const options = await generateAuthenticationOptions({ rpID: RP_ID, userVerification: 'required' });
  const response = passkey.assert(options, ORIGIN, tweak);
  tamper?.(response);
  return refusal(() => verifyAuthenticationResponse({
    response, expectedChallenge: options.challenge, expectedOrigin: [ORIGIN], expectedRPID: RP_ID, expectedType: 'webauthn.get', requireUserVerification: true,
    credential: { id: passkey.id, publicKey: new Uint8Array(passkey.publicKeyCose), counter: 0 },
  }), 'invalid_assertion');
}

async function refusal(verify: () => Promise<{ verified: boolean }>, fallback: string): Promise<{ message: string; code: string }> {
  try {
    const { verified } = await verify();
    return { message: `verified: ${verified}`, code: verified ? 'accepted' : fallback };
  } catch (error) {
    return { message: (error as Error).message, code: ceremonyErrorCode(error, fallback) };
  }
}

test('a registration from another origin, for another RP ID or without user verification gets its own code from the library\'s real error', async (t) => {
  t.is((await registrationRefusal({ origin: 'https://jmb-login.example' })).code, 'origin_mismatch');
  t.is((await registrationRefusal({ rpId: 'example.com' })).code, 'rp_id_mismatch');
  t.is((await registrationRefusal({ userVerified: false })).code, 'user_verification_required');
  t.is((await registrationRefusal({ type: 'webauthn.get' })).code, 'invalid_request', 'the response of a log-in is not a registration');
  t.is((await registrationRefusal({})).code, 'accepted', 'the untouched response passes, so each refusal above is the tweak\'s');
});

test('an assertion from another origin, for another RP ID, without user verification or of another ceremony gets the same codes as a registration', async (t) => {
  t.is((await authenticationRefusal({ origin: 'https://jmb-login.example' })).code, 'origin_mismatch');
  t.is((await authenticationRefusal({ rpId: 'example.com' })).code, 'rp_id_mismatch');
  t.is((await authenticationRefusal({ userVerified: false })).code, 'user_verification_required');
  t.is((await authenticationRefusal({ type: 'webauthn.create' })).code, 'invalid_request');
  t.is((await authenticationRefusal({})).code, 'accepted');
});

test('a signature that does not verify, or anything the mapper does not know, is the ceremony\'s own fallback', async (t) => {
  const forged = await authenticationRefusal({}, (response) => {
    const signature = Buffer.from(response.response.signature, 'base64url');
    signature[signature.length - 1]! ^= 1;
    response.response.signature = signature.toString('base64url');
  });
  t.is(forged.code, 'invalid_assertion', forged.message);
  t.is(ceremonyErrorCode(new Error('Unsupported Attestation Format: packed'), 'invalid_attestation'), 'invalid_attestation');
  t.is(ceremonyErrorCode('not an error', 'invalid_assertion'), 'invalid_assertion');
});

test('the library\'s user-presence messages, which a software authenticator cannot provoke, also mean user_verification_required', (t) => {
  // As verifyAuthenticationResponse and verifyRegistrationResponse word them (@simplewebauthn/server 14).
  for (const message of ['User not present during authentication', 'User presence was required, but user was not present']) {
    t.is(ceremonyErrorCode(new Error(message), 'invalid_assertion'), 'user_verification_required', message);
  }
});
