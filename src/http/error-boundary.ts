import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Middleware } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import type { MessageKey } from '../i18n/messages.ts';
import type { Logger } from '../log.ts';
import { storeUnavailable } from '../store/port.ts';
import { HttpError } from './http-error.ts';
import { localPath } from './local-path.ts';
import { formPagePath } from './localize.ts';

/**
 * The one place an error becomes a response. JSON callers get `{error, error_description}`; browsers
 * get a friendly page in their language. Details go to the log, never to the browser. A store that
 * cannot write right now gives 503 with Retry-After (`temporarily_unavailable`), never a 500.
 */
export function errorBoundary(
  logger: Logger,
  startAgainFor: (ctx: Context) => Promise<string | undefined> = async () => undefined,
  formPageOf: (path: string) => string | undefined = () => undefined,
): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.respond !== false && ctx.status === 404 && ctx.body === undefined && !ctx.headerSent) {
        throw new HttpError(404, 'not_found', 'not found');
      }
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      const expired = error instanceof oidcErrors.SessionNotFound;
      const known = error instanceof HttpError ? error : unavailable(error);
      const status = expired ? 400 : known?.status ?? 500;
      const code = expired ? 'interaction_expired' : known?.code ?? 'server_error';
      logFailure(logger, ctx, { error, status, code, refused: expired || error instanceof HttpError, passing: known !== undefined });

      ctx.status = status;
      if (known?.retryAfter) ctx.set('Retry-After', String(known.retryAfter));
      const t = ctx.state.t;
      if (ctx.state.json || ctx.accepts('html', 'json') === 'json') {
        const description = expired ? 'this sign-in has expired, please start again' : known?.expose ? known.message : 'the request could not be completed';
        ctx.body = { error: code, error_description: description };
        return;
      }
      const page = expired ? 'expired' : known?.page ?? (status === 404 ? 'notfound' : status === 403 ? 'forbidden' : 'generic');
      // After a form post, the page the form was on: the way back from a refusal, and the page the
      // language switch offers (a post's own address cannot be fetched again).
      const formPage = ctx.method === 'GET' || ctx.method === 'HEAD' ? undefined : formPagePath(ctx, formPageOf(ctx.path));
      try {
        const startAgain = page === 'expired' ? (await startAgainFor(ctx).catch(() => undefined)) ?? '/account' : undefined;
        const back = page === 'forbidden' ? formPage : undefined;
        await ctx.render('error', { page, code, title: t(errorTitle(page)), retryHref: localPath(known?.retryHref) ?? retryHref(ctx, page), startAgain, back });
      } catch (renderError) {
        logger.error('error page failed to render', { error: renderError });
        ctx.type = 'text/plain';
        ctx.body = 'We could not complete your request. Please go back and try again.';
      }
    }
  };
}

/**
 * One line per failed request, at the level an operator should read it at. A refusal the IdP meant
 * (busy, over a budget, a bad form, an expired sign-in) is `info` with its reason and no stack: at a
 * peak there are thousands, each the system working as intended, and stacks would bury the errors.
 * A store that cannot write right now is `warn` with its reason (readiness and the store metrics say
 * the rest). Only an error nobody expected is `error`, with its stack.
 */
function logFailure(logger: Logger, ctx: Context, failure: { error: Error; status: number; code: string; refused: boolean; passing: boolean }): void {
  const { error, status, code } = failure;
  const request = { method: ctx.method, path: ctx.path, status, code };
  if (failure.refused) logger.info('request refused', { ...request, reason: error.message });
  else if (failure.passing) logger.warn('request failed: the store cannot do this right now', { ...request, reason: error.message });
  else logger.error('request failed', { method: ctx.method, path: ctx.path, error });
}

/** A store failure that may pass, as the 503 a client should see; undefined for any other error. */
function unavailable(error: Error): HttpError | undefined {
  const passing = storeUnavailable(error);
  if (!passing) return undefined;
  return new HttpError(503, 'temporarily_unavailable', 'the service cannot complete this right now, please try again in a few minutes', {
    expose: true,
    retryAfter: passing.retryAfter,
    page: 'unavailable',
  });
}

/** The page title for an error page. */
export function errorTitle(page: string): MessageKey {
  if (page === 'expired') return 'error.expired.title';
  if (page === 'limited' || page === 'busy' || page === 'unavailable') return `error.${page}.title`;
  return 'error.title';
}

/**
 * Where "Try again" leads on a page for a passing refusal: the same address, when it was a page load
 * of a path on the IdP (localPath: `//other.example/x` is one to the server, another site to a browser).
 */
export function retryHref(ctx: Pick<Context, 'method' | 'originalUrl'>, page: string): string | undefined {
  if (page !== 'limited' && page !== 'busy' && page !== 'unavailable') return undefined;
  return ctx.method === 'GET' ? localPath(ctx.originalUrl) : undefined;
}

/**
 * One log line per request, whoever answers it: method, path (never the query), status, duration and
 * client address (as worked out from the trusted proxies, see client-address.ts).
 */
export function logRequest(logger: Logger, req: IncomingMessage, res: ServerResponse, ip: string): void {
  const started = performance.now();
  res.once('close', () => {
    logger.request({
      method: req.method ?? '',
      path: pathOf(req.url),
      status: res.statusCode,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ip,
    });
  });
}

/** The path of a request target, without its query. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}
