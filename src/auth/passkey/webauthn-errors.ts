import type { CeremonyErrorCode } from '../auth-error.ts';

/**
 * The product's code for an error SimpleWebAuthn's verifyAuthenticationResponse or
 * verifyRegistrationResponse threw, at log-in and at registration alike: what the browser or the
 * authenticator got wrong, else `fallback` (the signature or attestation did not verify). The
 * library throws plain Errors, so the message is all there is to read; the test
 * (test/unit/webauthn-errors.test.ts) holds each case to the library's real messages.
 */
export function ceremonyErrorCode<Fallback extends string>(error: unknown, fallback: Fallback): CeremonyErrorCode | Fallback {
  const message = error instanceof Error ? error.message : '';
  // "Unexpected authentication response origin …", "Unexpected registration response origin …"
  if (message.includes('response origin')) return 'origin_mismatch';
  // "Unexpected RP ID hash"
  if (message.includes('RP ID hash')) return 'rp_id_mismatch';
  // "User verification required, but …", "User verification was required, but …",
  // "User not present during authentication", "User presence was required, but user was not present"
  if (message.includes('User verification') || message.includes('not present')) return 'user_verification_required';
  // "Unexpected authentication response type …": the response of another ceremony
  if (message.includes('response type')) return 'invalid_request';
  return fallback;
}
