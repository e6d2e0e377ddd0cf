import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { HttpError } from '../src/http/http-error.ts';
import { ACCOUNT_CLIENT_ID } from '../src/config/clients.ts';
import type { Member, Members } from '../src/store/port.ts';

const STATE_COOKIE = 'jmb.account';
// Only these pages may be returned to after a log-in: never a URL from the request.
const RETURN_PATHS = new Set(['/account', '/account/passkeys']);

/** The member signed in, their IdP session's id (`jti`, which changes at each log-in), stable `uid` and end. */
export type AccountSession = { member: Member; sessionId: string; sessionUid: string; expiresAt: Date };

/**
 * The member signed in to the IdP in this browser, read from the IdP's own session cookie; undefined
 * when nobody is, or the member may no longer log in.
 */
export async function loadAccountSession(provider: Provider, members: Members, ctx: Context): Promise<AccountSession | undefined> {
  const session = await provider.Session.get(provider.createContext(ctx.req, ctx.res));
  if (!session.accountId) return undefined;
  const member = await members.findById(session.accountId);
  if (!member || member.status !== 'active') return undefined;
  return { member, sessionId: session.jti, sessionUid: session.uid, expiresAt: new Date((session.exp ?? 0) * 1000) };
}

/**
 * Sends a visitor who is not signed in through the standard log-in (`response_type=none`: no token
 * is issued, the IdP session is all the account page needs) and back to `returnTo`.
 */
export function startAccountLogin(ctx: Context, issuer: string, returnTo: string): void {
  const state = randomBytes(24).toString('base64url');
  ctx.cookies.set(STATE_COOKIE, `${state}.${RETURN_PATHS.has(returnTo) ? returnTo : '/account'}`, {
    httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: '/account', maxAge: 30 * 60 * 1000, overwrite: true,
  });
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'none',
    redirect_uri: `${issuer}/account/callback`,
    scope: 'openid',
    state,
    ui_locales: ctx.state.locale,
  }).toString();
  ctx.status = 303;
  ctx.redirect(url.toString());
}

/** GET /account/callback: the log-in is done; back to the page the member wanted, if the state matches. */
export function finishAccountLogin(ctx: Context): string {
  const [state = '', returnTo = '/account'] = (ctx.cookies.get(STATE_COOKIE) ?? '').split('.');
  ctx.cookies.set(STATE_COOKIE, null, { path: '/account' });
  const received = Buffer.from(typeof ctx.query.state === 'string' ? ctx.query.state : '');
  if (!state || received.length !== Buffer.byteLength(state) || !timingSafeEqual(received, Buffer.from(state))) {
    throw new HttpError(400, 'invalid_state', 'the log-in could not be matched to this browser');
  }
  if (typeof ctx.query.error === 'string') return '';
  return RETURN_PATHS.has(returnTo) ? returnTo : '/account';
}
