import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { TrustProxy } from '../config/trust-proxy.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/port.ts';
import { observeRequest } from '../metrics/request-metrics.ts';
import type { ExpiringDocuments } from '../store/port.ts';
import { busyRefusal, overBudget, signedSessionId, type Admission } from './admission.ts';
import { providerBodyRefusal } from './body-limits.ts';
import { createClientAddress, limitKeyOf } from './client-address.ts';
import type { CookieSigner } from './cookie-signer.ts';
import { logRequest } from './error-boundary.ts';
import { pinToIssuer } from './issuer-origin.ts';
import type { RateLimit } from './rate-limit.ts';
import { isAuthorizationRequest, isEndSessionRequest, toOriginForm } from './request-target.ts';

// The provider's endpoints a browser visits (authorization, log-out): their refusals are pages.
const BROWSER_ENDPOINTS = /^\/(auth|session\/end)(\/|$)/i;

/**
 * Requests the server refused before they reached a handler, each with the error its page shows:
 * `note` hands one to the Koa app, whose `middleware` (placed after the error boundary) throws it.
 */
export function createRefusals() {
  const refused = new WeakMap<IncomingMessage, { error: Error; json: boolean }>();
  const middleware: Middleware = (ctx, next) => {
    const refusal = refused.get(ctx.req);
    if (!refusal) return next();
    if (refusal.json) ctx.state.json = true;
    throw refusal.error;
  };
  return {
    /** The request gets `error`'s page (JSON when `json`: the provider's endpoints that browsers do not visit). */
    note(req: IncomingMessage, error: Error, json: boolean) {
      refused.set(req, { error, json });
    },
    middleware,
  };
}

/** The hand-off of refused requests to the Koa app, as createRefusals builds it. */
export type Refusals = ReturnType<typeof createRefusals>;

/**
 * Whether a request is for one of our routes: the first path segment rules most requests out cheaply
 * (most are the provider's: /auth, /token), then the router decides.
 */
export function routeMatcher(router: Router): (method: string, path: string) => boolean {
  const firstSegment = (path: string) => path.split('/', 2)[1] ?? '';
  const paths = router.stack.map((layer) => layer.path);
  const literal = (p: string | RegExp): p is string => typeof p === 'string' && /^[\w.-]*$/.test(firstSegment(p));
  const segments = paths.every(literal) ? new Set(paths.map(firstSegment)) : undefined;
  return (method, path) => (segments?.has(firstSegment(path)) ?? true) && router.match(path, method).path.length > 0;
}

/** What the dispatch decides with, and the listeners it hands requests to. */
export type DispatchDeps = {
  issuer: string;
  trustProxy: TrustProxy;
  /** The largest pushed authorization request (PAR_MAX_BYTES), refused from its Content-Length. */
  pushedRequestMaxBytes: number;
  logger: Logger;
  metrics: Metrics;
  admission: Admission;
  /** Sign-ins started without a live session, and log-outs without one, per client address. */
  signInStartLimit: RateLimit;
  /** What a session cookie's signature is checked with. */
  cookieSigner: CookieSigner;
  /** Where sessions are found, to tell a live one from a signed cookie that outlived it. */
  documents: Pick<ExpiringDocuments, 'find'>;
  /** Whether a request is for one of our routes (the Koa app's). */
  ours: (method: string, path: string) => boolean;
  /** The Koa app: our pages and endpoints, and the pages of refused requests. */
  pages: RequestListener;
  /** oidc-provider: every other path (discovery, /auth, /token, /jwks, /session/end, …). */
  oidc: RequestListener;
  refusals: Refusals;
  /** Runs what serves a request with its client address (and whatever else a request carries). */
  inRequest: (address: string, serve: () => void) => void;
};

/**
 * The server's request listener: pins each request to the issuer, works out its client address
 * once, logs and counts it, then gives it to the Koa app (our routes, and every refusal's page) or
 * straight to the provider, which has its own headers, pages and errors. New sign-ins and log-outs
 * without a session pass admission and their address's budget first.
 */
export function createDispatch(deps: DispatchDeps): RequestListener {
  const { logger, metrics, admission, signInStartLimit, cookieSigner, documents, ours, pages, oidc, refusals, inRequest } = deps;
  const clientAddress = createClientAddress(deps.trustProxy);
  const pinned = pinToIssuer(deps.issuer);
  const serve = (address: string, listener: RequestListener, req: IncomingMessage, res: ServerResponse) =>
    inRequest(address, () => listener(req, res));
  const refuse = (req: IncomingMessage, res: ServerResponse, address: string, error: Error, options: { json: boolean; close: boolean }) => {
    refusals.note(req, error, options.json);
    // Refused unread: the connection is closed rather than kept for a body it would have to read.
    if (options.close) res.setHeader('Connection', 'close');
    return serve(address, pages, req, res);
  };
  // Whether a validly signed session cookie names a session a member is logged in with. A signature
  // proves only that the IdP once set the cookie: a logged-out or expired session's cookie keeps it.
  // One look-up by primary key, the one the provider makes next, and only for a signed cookie.
  const liveSession = async (req: IncomingMessage) => {
    const id = signedSessionId(req, cookieSigner);
    const session = id === undefined ? undefined : await documents.find('Session', id).catch(() => undefined);
    return typeof session?.accountId === 'string';
  };
  // A budget the store cannot count right now is answered like any store failure: the page's 503.
  const budgetRefusal = (key: string, what: string) => overBudget(signInStartLimit, key, what)
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  // An authorization request from a member with a live session usually returns to the relying party
  // at once: it passes. Every other one, whatever its cookies and however its target is written,
  // waits while the IdP is saturated and counts against its address's budget. A form post is
  // answered with the same request by GET (authorization-post.ts), which is the one counted.
  const admitAuthorization = async (req: IncomingMessage, res: ServerResponse, address: string, key: string) => {
    let refusal: Error | undefined;
    if (!(await liveSession(req))) {
      if (admission.busy()) {
        metrics.shed('new_signin');
        refusal = busyRefusal();
      }
      refusal ??= await budgetRefusal(key, 'sign-ins started');
    }
    if (refusal) return refuse(req, res, address, refusal, { json: false, close: false });
    return serve(address, oidc, req, res);
  };
  // A log-out without a live session has nobody to log out, yet oidc-provider keeps a short-lived
  // record for its confirmation form: such requests count against the same budget as sign-ins started.
  const admitEndSession = async (req: IncomingMessage, res: ServerResponse, address: string, key: string) => {
    const refusal = (await liveSession(req)) ? undefined : await budgetRefusal(key, 'log-outs without a session');
    if (refusal) return refuse(req, res, address, refusal, { json: false, close: false });
    return serve(address, oidc, req, res);
  };
  const admitting = (admit: Promise<void>, req: IncomingMessage, res: ServerResponse, path: string) => {
    admit.catch((error: unknown) => {
      logger.error('request failed', { method: req.method, path, error });
      res.destroy();
    });
  };

  return (req, res) => {
    pinned(req);
    const address = clientAddress(req);
    logRequest(logger, req, res, address);
    const path = toOriginForm(req);
    observeRequest(metrics, res, path);
    const key = limitKeyOf(address);
    const page = ours(req.method ?? 'GET', path);
    const overShare = admission.admit(req, res, key);
    if (overShare) metrics.rateLimited('in_flight');
    const refused = overShare ?? (page ? undefined : providerBodyRefusal(req, path, deps.pushedRequestMaxBytes));
    if (refused) return refuse(req, res, address, refused, { json: !page && !BROWSER_ENDPOINTS.test(path), close: true });
    if (page) return serve(address, pages, req, res);
    if (isAuthorizationRequest(req.method, path) && req.method !== 'POST') return admitting(admitAuthorization(req, res, address, key), req, res, path);
    if (isEndSessionRequest(req.method, path)) return admitting(admitEndSession(req, res, address, key), req, res, path);
    return serve(address, oidc, req, res);
  };
}
