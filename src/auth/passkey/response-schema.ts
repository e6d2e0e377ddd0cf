import { z } from 'zod';

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(16_384);

/** The shape of an `AuthenticationResponseJSON`, checked before anything is looked up or verified. */
export const authenticationResponseSchema = z.object({
  id: base64url.min(1).max(1_366),
  rawId: base64url.min(1).max(1_366),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional().nullable(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
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
