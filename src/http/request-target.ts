import type { IncomingMessage } from 'node:http';
import { pathOf } from './error-boundary.ts';

/**
 * Puts the request target in origin form (`/path?query`), once, before anything routes on it, and
 * returns its path. A client may write the target in absolute form (`GET http://host/auth?… HTTP/1.1`,
 * RFC 9112 3.2.2), which Node passes on as written and Koa and oidc-provider route by its path:
 * every decision made here (admission, budgets, which app answers) must see the path they see. A
 * fragment, which no client should send, is dropped as Koa would ignore it. In absolute form the
 * target's authority takes the place of the Host header, as RFC 9112 3.2.2 says it must.
 */
export function toOriginForm(req: IncomingMessage): string {
  let target = req.url ?? '/';
  if (!target.startsWith('/')) {
    const url = URL.parse(target);
    if (url && url.pathname.startsWith('/')) {
      target = `${url.pathname}${url.search}`;
      if (url.host) req.headers.host = url.host;
    }
  }
  const fragment = target.indexOf('#');
  if (fragment !== -1) target = target.slice(0, fragment);
  req.url = target;
  return pathOf(target);
}

/**
 * True for a request oidc-provider answers at its authorization endpoint (`/auth`, not the
 * resumption at `/auth/<uid>`): its router matches paths case-insensitively, takes one trailing
 * slash, and serves HEAD wherever it serves GET.
 */
export function isAuthorizationRequest(method: string | undefined, path: string): boolean {
  return (method === 'GET' || method === 'HEAD' || method === 'POST') && /^\/auth\/?$/i.test(path);
}

/**
 * True for a request to oidc-provider's end-session endpoint (`/session/end`, not its confirmation or
 * success pages), matched as its router matches paths.
 */
export function isEndSessionRequest(method: string | undefined, path: string): boolean {
  return (method === 'GET' || method === 'HEAD' || method === 'POST') && /^\/session\/end\/?$/i.test(path);
}
