import type { Context } from 'koa';
import { HttpError } from './http-error.ts';

/**
 * Refuses a state-changing request that a browser says came from another site: `Sec-Fetch-Site`
 * where sent, else the `Origin` header. Requests without either (old browsers, native callers) rely
 * on the SameSite cookie and, for forms, the CSRF token.
 */
export function assertSameOrigin(ctx: Context, issuerOrigin: string): void {
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(403, 'cross_site_request', 'cross-site request refused');
  }
  const origin = ctx.get('origin');
  if (origin && origin !== issuerOrigin) {
    throw new HttpError(403, 'cross_site_request', 'cross-origin request refused');
  }
}
