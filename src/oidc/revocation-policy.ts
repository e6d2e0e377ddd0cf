import { errors, type Client, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * `features.revocation.allowedPolicy`: a client may revoke only the tokens issued to it. RFC 7009
 * §2.1: the server "verifies whether the token was issued to the client making the revocation
 * request. If this validation fails, the request is refused and the client is informed of the
 * error". A client that authenticated is told so; a public client proves nothing about who it is, so
 * it gets the same empty answer as for an unknown token and cannot learn which app a token belongs to.
 */
export async function revokeOwnTokensOnly(_ctx: KoaContextWithOIDC, client: Client, token: { clientId?: string }): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('the token was not issued to this client');
}
