import type { Context } from 'koa';
import { HttpError } from './http-error.ts';

/**
 * Refuses a state-changing request that a browser says came from another site: `Sec-Fetch-Site`
 * where sent (browsers set it and pages cannot), else the `Origin` header. Requests without either
 * (old browsers, native callers) rely on the SameSite cookie and, for forms, the CSRF token.
 */
export function assertSameOrigin(ctx: Context, issuerOrigin: string): void {
  const site = ctx.get('sec-fetch-site');
  if (site) {
    if (site === 'same-origin' || site === 'none') return;
    throw new HttpError(403, 'cross_site_request', 'cross-site request refused');
  }
  const origin = ctx.get('origin');
  // Our pages send `Referrer-Policy: no-referrer`, under which browsers post forms with `Origin: null`.
  if (origin && origin !== 'null' && origin !== issuerOrigin) {
    throw new HttpError(403, 'cross_site_request', 'cross-origin request refused');
  }
}
