import type { Context } from 'koa';
import { japanTime } from '../src/i18n/japan-time.ts';

/** What the log-in page says about a wait on the number typed: the sentence naming its end, and the seconds its countdown starts from. */
export type LoginWait = { text: string; seconds: number };

/** Whole seconds from `now` until `at`, rounded up (a `Retry-After`, a countdown's start): at least 1. */
export function secondsUntil(at: Date, now: number): number {
  return Math.max(1, Math.ceil((at.getTime() - now) / 1000));
}

/**
 * The wait until `until` as the page's language says it: "Please try again after 1:36 PM (JST)." The
 * minute named is one at which a try is sure to be accepted: a wait until 13:35:21 shows as 13:36.
 */
export function loginWait(ctx: Context, until: Date, now: number): LoginWait {
  const { t, locale } = ctx.state;
  return { text: t('login.limited', { time: japanTime(t, locale, until) }), seconds: secondsUntil(until, now) };
}

/** "m:ss" for a countdown of `seconds`. */
export function countdownClock(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
