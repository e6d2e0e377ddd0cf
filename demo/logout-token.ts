import * as jose from 'jose';

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** A logout token the website refuses; the message says which check failed. */
export class InvalidLogoutTokenError extends Error {}

export type LogoutTokenExpectations = {
  issuer: string;
  clientId: string;
  keys: jose.JWTVerifyGetKey;
  algorithms: string[];
};

/**
 * Validates a back-channel logout token as OpenID Connect Back-Channel Logout 1.0 §2.6 asks: signed by
 * the IdP, for this client, fresh, carrying the logout event, naming a session or member, and no nonce.
 * Returns the `sub` and `sid` it names.
 */
export async function verifyLogoutToken(token: string, expected: LogoutTokenExpectations): Promise<{ sub: string | undefined; sid: string | undefined }> {
  let payload: jose.JWTPayload;
  try {
    ({ payload } = await jose.jwtVerify(token, expected.keys, {
      issuer: expected.issuer,
      audience: expected.clientId,
      algorithms: expected.algorithms,
      // Explicit typing (§2.4) keeps an ID token from being replayed as a logout token.
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'jti'],
      maxTokenAge: '5 minutes',
      clockTolerance: 30,
    }));
  } catch (error) {
    throw new InvalidLogoutTokenError(`expected a logout token signed by ${expected.issuer} for ${expected.clientId}: ${(error as Error).message}`);
  }

  const events = payload.events;
  if (!isObject(events) || !isObject(events[BACKCHANNEL_LOGOUT_EVENT])) {
    throw new InvalidLogoutTokenError(`expected an "events" claim holding ${BACKCHANNEL_LOGOUT_EVENT}`);
  }
  // §2.4: "A nonce Claim MUST NOT be present", which tells a logout token from an ID token.
  if ('nonce' in payload) throw new InvalidLogoutTokenError('expected no "nonce" claim in a logout token');
  const sub = typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
  const sid = typeof payload.sid === 'string' && payload.sid ? payload.sid : undefined;
  if (!sub && !sid) throw new InvalidLogoutTokenError('expected a "sub" or "sid" claim');
  return { sub, sid };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
