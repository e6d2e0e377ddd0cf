import { generateAuthenticationOptions, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { WebAuthnSettings } from '../../config/load.ts';
import type { AuditLog, Clock, Member, Passkey, Passkeys } from '../../store/port.ts';
import { AuthError } from '../auth-error.ts';
import { describeUserAgent } from '../user-agent.ts';
import { VerifierUnavailableError, type VerifyAssertion } from './assertion-verifier.ts';
import type { Challenges } from './challenges.ts';
import { authenticationResponseSchema, challengeOf } from './response-schema.ts';
import { ceremonyErrorCode } from './webauthn-errors.ts';

export type PasskeyLoginDeps = {
  settings: WebAuthnSettings;
  passkeys: Passkeys;
  challenges: Challenges;
  audit: AuditLog;
  clock: Clock;
  /** verifyAuthenticationResponse, here or on a worker thread. */
  verify: VerifyAssertion;
};

export type PasskeyAttempt = { boundTo: string; response: unknown; ip: string; userAgent?: string; clientId?: string };

/** The member logged in, the passkey used, and every passkey of the member as the log-in read them. */
export type PasskeyLoginResult = { member: Member; passkey: Passkey; memberPasskeys: Passkey[] };

/** How long a member has to answer the device prompt (autofill requests wait for the member). */
const CHALLENGE_TTL_MS = 5 * 60 * 1000;

/**
 * Usernameless passkey log-in: options with a fresh single-use challenge bound to one sign-in, and
 * verification of the assertion against the stored credential, the RP ID and every allowed origin.
 */
export function createPasskeyLogin(deps: PasskeyLoginDeps) {
  const { settings, passkeys, challenges, audit, clock, verify } = deps;

  return {
    /**
     * Request options for a discoverable-credential ceremony bound to `boundTo` (an interaction uid),
     * asked for from `owner` (the client address).
     */
    async start(boundTo: string, expiresAt?: Date, owner?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const options = await generateAuthenticationOptions({
        rpID: settings.rpId,
        userVerification: 'required',
        timeout: CHALLENGE_TTL_MS,
      });
      const latest = clock() + CHALLENGE_TTL_MS;
      await challenges.save(options.challenge, { purpose: 'login', boundTo }, new Date(Math.min(latest, expiresAt?.getTime() ?? latest)), owner);
      return options;
    },

    /** The member and passkey an assertion proves; throws AuthError with a distinct code otherwise. */
    async finish({ boundTo, response: raw, ip, userAgent, clientId }: PasskeyAttempt): Promise<PasskeyLoginResult> {
      const parsed = authenticationResponseSchema.safeParse(raw);
      if (!parsed.success) throw new AuthError('invalid_request', 'the passkey response is malformed');
      const response = parsed.data;

      const challenge = challengeOf(response.response.clientDataJSON);
      if (!challenge) throw new AuthError('invalid_request', 'the passkey response carries no readable challenge');
      // Taken before anything else: whatever happens next, this challenge can never be answered again.
      const binding = await challenges.take(challenge);
      if (!binding) throw new AuthError('challenge_expired', 'the passkey request was already used or has expired');
      if (binding.purpose !== 'login' || binding.boundTo !== boundTo) {
        throw new AuthError('challenge_mismatch', 'the passkey request belongs to another sign-in');
      }

      // The passkey, its member and the member's passkeys (for the Signal API) in one read of the store.
      const read = await passkeys.forLogIn(response.id);
      if (!read) throw new AuthError('unknown_credential', 'this passkey is not registered');
      const { passkey, member, memberPasskeys } = read;
      const event = { at: new Date(clock()), memberId: passkey.memberId, ip, userAgent, clientId };
      // The credential must belong to the account the authenticator says it signed for (WebAuthn §7.2 step 6).
      if (response.response.userHandle !== passkey.userHandle) {
        await audit.append({ ...event, type: 'login.passkey', outcome: 'failure', detail: { reason: 'user handle mismatch' } });
        throw new AuthError('credential_mismatch', 'this passkey does not belong to the account it was used for');
      }

      let verified;
      try {
        verified = await verify({
          response: { ...response, authenticatorAttachment: response.authenticatorAttachment ?? undefined, response: { ...response.response, userHandle: response.response.userHandle ?? undefined } },
          expectedChallenge: challenge,
          expectedOrigin: settings.origins,
          expectedRPID: settings.rpId,
          expectedType: 'webauthn.get',
          requireUserVerification: true,
          // The library checks the counter before the signature; passing 0 defers that check to
          // below, so only a correctly signed response can be recorded as a possible clone.
          credential: { id: passkey.id, publicKey: new Uint8Array(passkey.publicKey), counter: 0, transports: passkey.transports },
        });
      } catch (error) {
        if (error instanceof VerifierUnavailableError) throw error;
        const code = ceremonyErrorCode(error, 'invalid_assertion');
        await audit.append({ ...event, type: 'login.passkey', outcome: 'failure', detail: { reason: code } });
        throw new AuthError(code, (error as Error).message);
      }
      if (!verified.verified) throw new AuthError('invalid_assertion', 'the passkey signature is not valid');

      const { newCounter } = verified.authenticationInfo;
      // Synced passkeys report 0 forever; otherwise the counter must move forward (WebAuthn §6.1.1).
      const regressed = (newCounter > 0 || passkey.counter > 0) && newCounter <= passkey.counter;
      const recorded = !regressed && await passkeys.recordUse(passkey.id, {
        expectedCounter: passkey.counter,
        counter: newCounter,
        at: new Date(clock()),
        from: describeUserAgent(userAgent),
      });
      if (!recorded) {
        await audit.append({ ...event, type: 'passkey.possible_clone', outcome: 'failure', detail: { storedCounter: passkey.counter, receivedCounter: newCounter } });
        throw new AuthError('counter_regression', 'this passkey reported a signature counter that went backwards');
      }

      if (!member || member.status !== 'active') {
        await audit.append({ ...event, type: 'login.passkey', outcome: 'failure', detail: { reason: `member ${member?.status ?? 'missing'}` } });
        throw new AuthError('member_unavailable', 'this account cannot log in');
      }
      await audit.append({ ...event, type: 'login.passkey', outcome: 'success', detail: { passkey: passkey.name } });
      return { member, passkey, memberPasskeys };
    },
  };
}

export type PasskeyLogin = ReturnType<typeof createPasskeyLogin>;
