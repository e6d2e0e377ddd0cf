/** What a relying party asked of the log-in's assurance: `acr_values` (voluntary) and an essential `acr` claim. */
export type AcrRequest = { requested: string[]; essential: string[] | undefined };

/** Reads `acr_values` and `claims={"id_token":{"acr":{"essential":true,…}}}` from authorization parameters. */
export function acrRequestOf(params: { acr_values?: unknown; claims?: unknown }): AcrRequest {
  const requested = typeof params.acr_values === 'string' ? params.acr_values.split(' ').filter(Boolean) : [];
  return { requested, essential: essentialAcrValues(params.claims) };
}

/** True when `acr` was asked for at all, voluntarily or as essential. */
export function asksFor(request: AcrRequest, acr: string): boolean {
  return request.requested.includes(acr) || !!request.essential?.includes(acr);
}

function essentialAcrValues(claims: unknown): string[] | undefined {
  let parsed: unknown = claims;
  if (typeof claims === 'string') {
    try {
      parsed = JSON.parse(claims);
    } catch {
      return undefined;
    }
  }
  const acr = (parsed as { id_token?: { acr?: { essential?: unknown; value?: unknown; values?: unknown } } } | undefined)?.id_token?.acr;
  if (acr?.essential !== true) return undefined;
  if (Array.isArray(acr.values)) return acr.values.filter((v): v is string => typeof v === 'string');
  return typeof acr.value === 'string' ? [acr.value] : undefined;
}
