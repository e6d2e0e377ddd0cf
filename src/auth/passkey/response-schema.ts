import { z } from 'zod';

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(65_536);

// What every PublicKeyCredential JSON carries. A credential id is at most 1023 bytes (WebAuthn §5.8.3).
const credential = {
  id: base64url.min(1).max(1_366),
  rawId: base64url.min(1).max(1_366),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional().nullable(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
};

/** The shape of a `RegistrationResponseJSON`, checked before anything is verified. */
export const registrationResponseSchema = z.object({
  ...credential,
  response: z.object({
    clientDataJSON: base64url.min(1),
    attestationObject: base64url.min(1),
    transports: z.array(z.string().max(32)).max(10).optional(),
    authenticatorData: base64url.optional(),
    publicKey: base64url.optional(),
    publicKeyAlgorithm: z.number().int().optional(),
  }),
});

/** The shape of an `AuthenticationResponseJSON`, checked before anything is looked up or verified. */
export const authenticationResponseSchema = z.object({
  ...credential,
  response: z.object({
    clientDataJSON: base64url.min(1),
    authenticatorData: base64url.min(37),
    signature: base64url.min(1),
    userHandle: base64url.optional().nullable(),
  }),
});

export type AuthenticationResponse = z.infer<typeof authenticationResponseSchema>;

/** The challenge a response answers, read from its clientDataJSON; undefined when unreadable. */
export function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(data.challenge) ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}
