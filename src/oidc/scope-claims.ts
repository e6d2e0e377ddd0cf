/** The claims each scope releases. `acr`, `amr` and `auth_time` ride on `openid`, so every ID token has them. */
export const scopeClaims = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name'],
  phone: ['phone_number'],
  jmb: ['jmb_member_number'],
} as const;

/**
 * The claims a client may ever be given: those a scope it may ask for would release. A client that
 * registers `scope` may ask for those scopes alone (oidc-provider refuses any other with
 * `invalid_scope`); one that registers none may ask for every scope the IdP offers, as oidc-provider
 * lets it. The `claims` parameter asks for claims one by one, and must not reach past this.
 */
export function releasableClaims(clientScope: string | undefined): Set<string> {
  const scopes = clientScope === undefined ? Object.keys(scopeClaims) : ['openid', ...clientScope.split(' ')];
  return new Set(scopes.flatMap((scope) => (Object.hasOwn(scopeClaims, scope) ? scopeClaims[scope as keyof typeof scopeClaims] : [])));
}

/** `claims` without what is not in `releasable`. */
export function withinReleasable<T extends Record<string, unknown>>(claims: T, releasable: ReadonlySet<string>): Partial<T> {
  return Object.fromEntries(Object.entries(claims).filter(([name]) => releasable.has(name))) as Partial<T>;
}
