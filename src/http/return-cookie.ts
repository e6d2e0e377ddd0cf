import type { Context } from 'koa';

const COOKIE = 'jmb.from';

/**
 * Remembers in the browser which relying party the member came from (a client id, never a URL), so
 * that a page that ends something (the expired sign-in, the account page, the logged-out page) can
 * offer the way back to it. The link itself always comes from that client's registered metadata.
 */
export function rememberClient(ctx: Context, clientId: string): void {
  if (!/^[\w-]{1,128}$/.test(clientId) || ctx.cookies.get(COOKIE, { signed: false }) === clientId) return;
  ctx.cookies.set(COOKIE, clientId, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, signed: false, path: '/', maxAge: 24 * 3600 * 1000, overwrite: true });
}

/** The client id the browser came from last, if any. */
export function rememberedClient(ctx: Pick<Context, 'cookies'>): string | undefined {
  const value = ctx.cookies.get(COOKIE, { signed: false });
  return value && /^[\w-]{1,128}$/.test(value) ? value : undefined;
}
