import type { Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * RFC 6750 §3.1 for userinfo: "If the request lacks any authentication information (e.g., the client
 * was unaware that authentication is necessary or attempted using an unsupported authentication
 * method), the resource server SHOULD NOT include an error code or other error information." The
 * provider answers such a request with a bare challenge (no `error=`), but also with an
 * `invalid_token` body; the body goes. A bad token keeps its `invalid_token`.
 */
export function bareChallengeWithoutCredentials() {
  return async (ctx: KoaContextWithOIDC, next: Next): Promise<void> => {
    await next();
    if (ctx.status !== 401 || ctx.oidc?.route !== 'userinfo') return;
    const challenge = [ctx.response.get('WWW-Authenticate')].flat().join(', ');
    if (!challenge || /\berror=/.test(challenge)) return;
    // Koa would send a JSON body's null as "null": the type goes first, then the body, keeping the status.
    ctx.remove('Content-Type');
    ctx.body = null;
    ctx.status = 401;
  };
}
