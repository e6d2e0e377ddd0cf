import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Context } from 'koa';
import { HttpError } from './http-error.ts';

const COOKIE = 'jmb.csrf';

export type Csrf = {
  /** The token to put in a form's hidden `csrf` field; `scope` binds it to one form (e.g. an interaction uid). */
  token(ctx: Context, scope: string): string;
  /** Throws 403 unless `submitted` is the token for this browser and scope. */
  verify(ctx: Context, scope: string, submitted: string | undefined): void;
};

/**
 * Synchroniser tokens without server state: a random per-browser secret in an HttpOnly, SameSite
 * cookie, and in the form an HMAC of that secret and the form's scope under the newest cookie key.
 */
export function createCsrf(key: KeyObject, secure: (ctx: Context) => boolean): Csrf {
  const sign = (secret: string, scope: string) => createHmac('sha256', key).update(`${secret}|${scope}`).digest('base64url');
  return {
    token(ctx, scope) {
      // The secret needs no cookie signature of its own: a token is an HMAC under the cookie key,
      // so a secret someone planted still yields no token they could know.
      let secret = ctx.cookies.get(COOKIE, { signed: false });
      if (!secret || !/^[\w-]{43}$/.test(secret)) {
        secret = randomBytes(32).toString('base64url');
        ctx.cookies.set(COOKIE, secret, { httpOnly: true, sameSite: 'lax', signed: false, secure: secure(ctx), path: '/', overwrite: true });
      }
      return sign(secret, scope);
    },
    verify(ctx, scope, submitted) {
      const secret = ctx.cookies.get(COOKIE, { signed: false });
      const expected = secret ? Buffer.from(sign(secret, scope)) : undefined;
      const actual = Buffer.from(submitted ?? '');
      if (!expected || expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
        throw new HttpError(403, 'csrf_failed', 'the form could not be verified');
      }
    },
  };
}
