import type { Middleware } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import type { Logger } from '../log.ts';
import { HttpError } from './http-error.ts';

/**
 * The one place an error becomes a response. JSON callers get `{error, error_description}`; browsers
 * get a friendly page in their language. Details go to the log, never to the browser.
 */
export function errorBoundary(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.respond !== false && ctx.status === 404 && ctx.body === undefined && !ctx.headerSent) {
        throw new HttpError(404, 'not_found', 'not found');
      }
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      const expired = error instanceof oidcErrors.SessionNotFound;
      const known = error instanceof HttpError ? error : undefined;
      const status = expired ? 400 : known?.status ?? 500;
      const code = expired ? 'interaction_expired' : known?.code ?? 'server_error';
      if (status >= 500) logger.error('request failed', { method: ctx.method, path: ctx.path, error });
      else logger.info('request refused', { method: ctx.method, path: ctx.path, status, code, reason: error.message });

      ctx.status = status;
      const t = ctx.state.t;
      if (ctx.state.json || ctx.accepts('html', 'json') === 'json') {
        const description = expired ? 'this sign-in has expired, please start again' : known?.expose ? known.message : 'the request could not be completed';
        ctx.body = { error: code, error_description: description };
        return;
      }
      const page = expired ? 'expired' : status === 404 ? 'notfound' : status === 403 ? 'forbidden' : 'generic';
      try {
        await ctx.render('error', { page, code, title: t(page === 'expired' ? 'error.expired.title' : 'error.title') });
      } catch (renderError) {
        logger.error('error page failed to render', { error: renderError });
        ctx.type = 'text/plain';
        ctx.body = 'We could not complete your request. Please go back and try again.';
      }
    }
  };
}

/** One log line per request: method, path (never the query), status, duration. */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      logger.info('request', {
        method: ctx.method,
        path: ctx.path,
        // Requests the OIDC provider answered bypass Koa's response handling.
        status: ctx.respond === false ? ctx.res.statusCode : ctx.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ip: ctx.ip,
      });
    }
  };
}
