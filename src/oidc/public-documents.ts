import type { Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

// Five minutes. The JWKS changes at a rotation, which `keys rotate` publishes
// SIGNING_KEY_OVERLAP_HOURS (at least one) before the new keys sign, and which every instance reads
// within a minute: a cache holding the old set five minutes longer still passes the new keys on long
// before they sign. After an emergency rotation (`--overlap-hours 0`) relying parties fetch the JWKS
// again on an unknown `kid`, and a cache delays that by five minutes at most. Discovery changes only
// with configuration. oidc-provider sends no Cache-Control for either, which lets a cache keep them
// as long as its own heuristics say.
const MAX_AGE_SECONDS = 300;

/**
 * Discovery and the JWKS, cacheable by anyone for a few minutes: both are the same for every client
 * (their URLs come from ISSUER alone, see issuer-origin.ts), and relying parties fetch them often.
 */
export function cacheablePublicDocuments() {
  return async (ctx: KoaContextWithOIDC, next: Next): Promise<void> => {
    await next();
    const route = ctx.oidc?.route;
    if ((route === 'discovery' || route === 'jwks') && ctx.status === 200) ctx.set('Cache-Control', `public, max-age=${MAX_AGE_SECONDS}`);
  };
}
