import type { Locale, Translate } from './messages.ts';

const MINUTE_MS = 60_000;

/**
 * When a wait ends, as a time of day in Japan in the member's language: "1:40 PM (JST)",
 * 「日本時間13:40」. Rounded up to the minute, so that the time shown is never before the wait ends.
 * Every time the IdP shows is Japan's, whatever the device's zone.
 */
export function japanTime(t: Translate, locale: Locale, at: Date): string {
  const minute = new Date(Math.ceil(at.getTime() / MINUTE_MS) * MINUTE_MS);
  const time = new Intl.DateTimeFormat(locale, { timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(minute);
  return t('time.japan', { time });
}

/** A date and time in Japan, in `locale`'s medium date and short time ("3 Jun 2026, 13:40"): on pages and in SMS notices alike. */
export function japanDateTime(locale: Locale, at: Date): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(at);
}
