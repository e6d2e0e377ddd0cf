import type { ServerResponse } from 'node:http';
import type { Metrics, RouteGroup } from './port.ts';

/** The group of each first path segment; anything else is `other`, so no request can add a label value. */
const BY_SEGMENT: Readonly<Record<string, RouteGroup>> = {
  auth: 'sign_in',
  interaction: 'sign_in',
  // Pushed authorization requests start a sign-in too (RFC 9126).
  request: 'sign_in',
  token: 'token',
  me: 'userinfo',
  account: 'account',
  session: 'logout',
  '.well-known': 'well_known',
  jwks: 'well_known',
  healthz: 'health',
  readyz: 'health',
  assets: 'assets',
};

/** The route group a request path is counted under: sign-in steps, token, userinfo, account pages, well-known, … */
export function routeGroupOf(path: string): RouteGroup {
  const end = path.indexOf('/', 1);
  const segment = end === -1 ? path.slice(1) : path.slice(1, end);
  return Object.hasOwn(BY_SEGMENT, segment) ? BY_SEGMENT[segment]! : 'other';
}

/** Counts the request under its route group, with its status and duration, once its response is done. */
export function observeRequest(metrics: Pick<Metrics, 'request'>, res: ServerResponse, path: string): void {
  const started = performance.now();
  res.once('close', () => metrics.request(routeGroupOf(path), res.statusCode, (performance.now() - started) / 1000));
}
