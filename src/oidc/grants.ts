import type { Grant, KoaContextWithOIDC } from 'oidc-provider';

/**
 * Every statically configured client is the programme's own website or app, so no consent screen:
 * the member's grant for the client is created or widened to what is asked for, and saved.
 */
export async function loadFirstPartyGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const { session, client } = oidc;
  if (!session?.accountId || !client) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const grant = existing?.accountId === session.accountId
    ? existing
    : new oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });

  const scopes = [...oidc.requestParamOIDCScopes].filter((scope) => !grant.getOIDCScope().split(' ').includes(scope));
  const claims = [...oidc.requestParamClaims].filter((claim) => !grant.getOIDCClaims().includes(claim));
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  if (claims.length) grant.addOIDCClaims(claims);
  if (grant !== existing || scopes.length || claims.length) await grant.save();
  return grant;
}
