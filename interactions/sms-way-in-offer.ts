import type { Context } from 'koa';
import type { Csrf } from '../src/http/csrf.ts';

/** What the log-in page needs for the "Verify with SMS to log in now" button. */
export type SmsWayInOffer = { action: string; csrf: string; number: string };

/** Where the way in of sign-in `uid` lives. */
export const smsWayInPath = (uid: string) => `/interaction/${uid}/sms-way-in`;

/**
 * The way-in forms' CSRF scope. It names the sign-in and the number: the way in opens only for the
 * number this browser was told to wait for, in this sign-in.
 */
export const smsWayInScope = (uid: string, number: string) => `${uid}:sms-way-in:${number}`;

/**
 * The button on a log-in page that explains a wait on `number`: offered alike for every number,
 * whether or not it is a member's, so the page says nothing about it.
 */
export function smsWayInOffer(ctx: Context, csrf: Csrf, uid: string, number: string): SmsWayInOffer {
  return { action: smsWayInPath(uid), csrf: csrf.token(ctx, smsWayInScope(uid, number)), number };
}
