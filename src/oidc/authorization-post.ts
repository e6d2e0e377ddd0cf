import type { Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { readFormParams } from '../http/body.ts';
import { HttpError } from '../http/http-error.ts';
import { isAuthorizationRequest } from '../http/request-target.ts';

// The parameters travel on as a query: kept well under Node's 16 KiB limit for a request head.
const POST_LIMIT = 8 * 1024;

/**
 * OpenID Connect Core 3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET and POST
 * methods defined in RFC 7231 at the Authorization Endpoint." A browser leaves the member's
 * SameSite=Lax session cookie off a cross-site POST, so a POSTed authorization request is sent on as
 * the same request by GET (303), which carries the cookie: single sign-on and `prompt=none` then
 * behave exactly as they do for GET. Repeated parameters are kept, so the provider refuses them alike.
 */
export function acceptAuthorizationPost(authorizationEndpoint: string) {
  return async (ctx: KoaContextWithOIDC, next: Next): Promise<void> => {
    // Every spelling of the path that the provider's router takes for its authorization endpoint.
    if (ctx.method !== 'POST' || !isAuthorizationRequest(ctx.method, ctx.path)) return next();
    let params: URLSearchParams;
    try {
      params = await readFormParams(ctx, POST_LIMIT);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      ctx.status = error.status;
      ctx.body = { error: 'invalid_request', error_description: error.message };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${authorizationEndpoint}?${params}`);
  };
}
