/** What a relying party asked of the log-in's assurance: voluntary acr values and essential ones. */
export type AcrRequest = { requested: string[]; essential: string[] | undefined };

/**
 * Reads `acr_values` and the `acr` member of `claims={"id_token":{"acr":{…}}}` from authorization
 * parameters. OpenID Connect Core 5.5.1.1: `acr_values` and an `acr` claim request that is not
 * essential both ask voluntarily; `"essential": true` makes its `value` or `values` essential.
 */
export function acrRequestOf(params: { acr_values?: unknown; claims?: unknown }): AcrRequest {
  const requested = typeof params.acr_values === 'string' ? params.acr_values.split(' ').filter(Boolean) : [];
  const acr = acrClaimRequest(params.claims);
  const values = acr && acrValuesOf(acr);
  if (acr?.essential === true) return { requested, essential: values };
  return { requested: [...new Set([...requested, ...(values ?? [])])], essential: undefined };
}

/** True when `acr` was asked for at all, voluntarily or as essential. */
export function asksFor(request: AcrRequest, acr: string): boolean {
  return request.requested.includes(acr) || !!request.essential?.includes(acr);
}

/**
 * What is wrong with the `acr` member of a `claims` parameter, or undefined when nothing is.
 * OpenID Connect Core 5.5.1: `essential` is a boolean, `value` a string, `values` an array of
 * strings. A request written otherwise is refused rather than guessed at: read loosely, an essential
 * `acr` would silently become voluntary and the log-in would not give what the relying party needs.
 */
export function acrClaimProblem(claims: unknown): string | undefined {
  const acr = acrClaimRequest(claims);
  if (!acr) return undefined;
  if ('essential' in acr && typeof acr.essential !== 'boolean') return 'claims.id_token.acr.essential must be true or false';
  if ('value' in acr && typeof acr.value !== 'string') return 'claims.id_token.acr.value must be a string';
  if ('values' in acr && !(Array.isArray(acr.values) && acr.values.every((value) => typeof value === 'string'))) {
    return 'claims.id_token.acr.values must be an array of strings';
  }
  return undefined;
}

type AcrClaimRequest = { essential?: unknown; value?: unknown; values?: unknown };

function acrClaimRequest(claims: unknown): AcrClaimRequest | undefined {
  let parsed: unknown = claims;
  if (typeof claims === 'string') {
    try {
      parsed = JSON.parse(claims);
    } catch {
      return undefined;
    }
  }
  const acr = (parsed as { id_token?: { acr?: unknown } } | undefined)?.id_token?.acr;
  return typeof acr === 'object' && acr !== null ? acr as AcrClaimRequest : undefined;
}

function acrValuesOf(acr: AcrClaimRequest): string[] | undefined {
  if (Array.isArray(acr.values)) return acr.values.filter((v): v is string => typeof v === 'string');
  return typeof acr.value === 'string' ? [acr.value] : undefined;
}
