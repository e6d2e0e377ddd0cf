import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { errorBoundary } from '../http/error-boundary.ts';
import { localization } from '../http/localize.ts';
import { logUndelivered, useClientAddress } from '../http/pages.ts';
import { securityHeaders } from '../http/security-headers.ts';
import type { Logger } from '../log.ts';

/**
 * The provider renders its own pages (errors, log-out) with the IdP's templates, language, headers
 * and error boundary, and sees each request's client address as the server worked it out.
 */
export function serveProviderPages(provider: Provider, deps: { render: Koa.Middleware; logger: Logger; clientAddress: () => string | undefined }): void {
  // A connection the server closed at its request timeout is a log line, as for the pages.
  (provider as unknown as Koa).on('error', logUndelivered(deps.logger));
  provider.use(securityHeaders());
  provider.use(deps.render);
  provider.use(localization());
  // What escapes the provider's own error handling (a session that cannot be saved once the
  // response is ready) gets our pages too, never Koa's plain-text error.
  provider.use(errorBoundary(deps.logger));
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      await ctx.render('error', { page: 'notfound', code: 'not_found', title: ctx.state.t('error.title') });
    }
  });
  provider.use(useClientAddress(deps.clientAddress));
}
