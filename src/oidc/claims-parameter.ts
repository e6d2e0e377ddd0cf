import { errors } from 'oidc-provider';
import { acrClaimProblem, acrRequestOf } from './acr-request.ts';
import { supportedAcrValues } from './assurance.ts';

/**
 * Checks an authorization request's `claims` parameter beyond oidc-provider's own parsing: each
 * requested claim is `null` or an object, an `acr` request is well formed (acr-request.ts), and an
 * essential `acr` must name a value this IdP can give. OpenID Connect Core 5.5.1.1: when an essential `acr` cannot be met, the authentication
 * fails; so the relying party gets `unmet_authentication_requirements` at once instead of a log-in
 * whose token would not say what it asked for. Voluntary unknown values are simply not met.
 */
export async function assertClaimsParameter(_ctx: unknown, claims: { userinfo?: object; id_token?: object }): Promise<void> {
  for (const container of ['userinfo', 'id_token'] as const) {
    const requested = claims[container];
    if (requested === undefined) continue;
    for (const value of Object.values(requested)) {
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
        throw new errors.InvalidRequest(`claims.${container} members must be null or objects`);
      }
    }
  }
  const problem = acrClaimProblem(claims);
  if (problem) throw new errors.InvalidRequest(problem);
  const { essential } = acrRequestOf({ claims });
  if (essential && !essential.some((acr) => (supportedAcrValues as readonly string[]).includes(acr))) {
    throw new errors.UnmetAuthenticationRequirements(`none of the essential acr values can be met (supported: ${supportedAcrValues.join(', ')})`);
  }
}
