import type { Context } from 'koa';
import type { DeviceTrust, TrustedMember } from '../src/auth/password/device-trust.ts';

const COOKIE = 'jmb.device';

/** The device-trust tokens and how long a browser keeps them. */
export type DeviceCookie = { trust: DeviceTrust; days: number };

/** The browser's device cookie (its tokens are signed themselves, see device-trust.ts). */
export function deviceCookieOf(ctx: Context): string | undefined {
  return ctx.cookies.get(COOKIE, { signed: false });
}

/**
 * After a log-in (or the member's proof by SMS that this browser is theirs): this browser is known to
 * the member from now on, until their device generation goes up. Sent only to the sign-in steps.
 */
export function rememberDevice(ctx: Context, device: DeviceCookie, member: TrustedMember): void {
  ctx.cookies.set(COOKIE, device.trust.issue(deviceCookieOf(ctx), member), {
    httpOnly: true, sameSite: 'lax', secure: ctx.secure, signed: false, path: '/interaction', maxAge: device.days * 24 * 3600 * 1000, overwrite: true,
  });
}
