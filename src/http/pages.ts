import type Router from '@koa/router';
import Koa from 'koa';
import views from 'koa-views';
import type { TrustProxy } from '../config/trust-proxy.ts';
import type { Logger } from '../log.ts';
import { trustsProxies } from './client-address.ts';
import type { CookieSigner } from './cookie-signer.ts';
import type { Refusals } from './dispatch.ts';
import { errorBoundary } from './error-boundary.ts';
import { localization, pageLanguage } from './localize.ts';
import { securityHeaders } from './security-headers.ts';

/**
 * `ctx.render` for the templates in `viewsDir`, each page in the request's language. Templates are
 * compiled once and kept: they do not change while the IdP runs. Partials are included by absolute
 * path from the views folder, which ejs resolves without looking on disk.
 */
export function createRender(viewsDir: string): Koa.Middleware {
  const templates = views(viewsDir, { extension: 'ejs', options: { cache: true, root: viewsDir } });
  // koa-views first looks for a file named exactly as given, then adds the extension: naming the
  // file spares every page a failed disk lookup.
  return (ctx, next) => templates(ctx, () => {
    const byName = ctx.render;
    ctx.render = (name, locals) => byName(`${name}.ejs`, { ...pageLanguage(ctx.state), ...locals });
    return next();
  });
}

/** Every request's client address, worked out once by the server (dispatch.ts), as Koa's `ctx.ip`. */
export function useClientAddress(clientAddress: () => string | undefined): Koa.Middleware {
  return (ctx, next) => {
    ctx.request.ip = clientAddress() ?? ctx.request.ip;
    return next();
  };
}

/**
 * What Koa reports after the error boundary (a response that could not be written, mostly to a
 * client already gone): a log line like any other, never text on standard error.
 */
export function logUndelivered(logger: Logger): (error: Error & { code?: string }) => void {
  return (error) => logger.info('response not delivered', { reason: error.code ?? error.message });
}

/** What the pages' Koa app is built from. */
export type PagesAppDeps = {
  trustProxy: TrustProxy;
  cookieSigner: CookieSigner;
  logger: Logger;
  render: Koa.Middleware;
  clientAddress: () => string | undefined;
  /** Where "Start again" leads from an expired sign-in: the relying party the member came from. */
  startAgainFor: (ctx: Koa.Context) => Promise<string | undefined>;
  /** The page a refused form post leads back to. */
  formPageOf: (path: string) => string | undefined;
  refusals: Refusals;
  routes: Router;
};

/**
 * The Koa app of the IdP's own pages and endpoints: security headers, templates and language, the
 * one error boundary, the pages of requests the server refused, then the route table.
 */
export function createPagesApp(deps: PagesAppDeps): Koa {
  const koa = new Koa({ proxy: trustsProxies(deps.trustProxy) });
  koa.keys = deps.cookieSigner as unknown as string[];
  koa.on('error', logUndelivered(deps.logger));
  koa.use(useClientAddress(deps.clientAddress));
  koa.use(securityHeaders());
  koa.use(deps.render);
  koa.use(localization());
  koa.use(errorBoundary(deps.logger, deps.startAgainFor, deps.formPageOf));
  // A request the server refused before it reached a handler gets its page here.
  koa.use(deps.refusals.middleware);
  koa.use(deps.routes.routes()).use(deps.routes.allowedMethods());
  return koa;
}
