import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';

// Ways a client, or a proxy passing on what a client wrote, could name a host of its own. Nothing in
// the IdP reads them (Koa reads `X-Forwarded-Host` when proxies are trusted); they are removed so
// that nothing ever does.
const HOST_HEADERS = ['x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'forwarded'];

/**
 * Makes every request name the IdP by its issuer before Koa or oidc-provider see it: `Host` becomes
 * the issuer's host, the headers through which proxies report another host are removed, and a request
 * target in absolute form (`GET http://other.example/auth HTTP/1.1`) becomes the path it names.
 * oidc-provider builds the URLs it publishes and redirects to from the request (`ctx.oidc.urlFor`
 * resolves against `ctx.href`, which Koa builds from the absolute target, else `X-Forwarded-Host`
 * when proxies are trusted, else `Host`): a client naming its own host would otherwise put it into
 * discovery, the logout form and the redirect back from the log-in page, and a cache in front would
 * hand that discovery document to every relying party. Only the client address and the scheme are
 * taken from trusted proxies (client-address.ts).
 */
export function pinToIssuer(issuer: string): (req: IncomingMessage) => void {
  const { host } = new URL(issuer);
  return (req) => {
    req.headers.host = host;
    for (const name of HOST_HEADERS) delete req.headers[name];
    const target = req.url ?? '/';
    if (target.startsWith('/') || target === '*') return;
    // RFC 9112 §3.2.2: a server must accept the absolute form; its authority is not ours to trust.
    const url = URL.parse(target);
    req.url = url ? `${url.pathname}${url.search}` : '/';
  };
}

/**
 * Builds the app's `ctx.href` (what oidc-provider resolves every URL it publishes against) from the
 * issuer's origin rather than from the request's scheme. A trusted proxy's `X-Forwarded-Proto` still
 * decides `ctx.secure` (cookies marked Secure, HSTS), but a request that reached the IdP over plain
 * http (a proxy forwarding port 80, a health checker on the inside) must not get `http:` endpoints
 * in a discovery document that caches keep by path alone.
 */
export function hrefFromIssuer(app: Koa, issuer: string): void {
  const { origin } = new URL(issuer);
  Object.defineProperty(app.request, 'href', {
    configurable: true,
    get(this: Koa.Request) {
      return `${origin}${this.originalUrl}`;
    },
  });
}
