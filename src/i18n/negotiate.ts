import { defaultLocale, isLocale, type Locale } from './messages.ts';

export type LocaleSources = {
  /** `?lang=` on this request: the member just used the language switch. */
  switched?: string | undefined;
  /** The language the member chose earlier (cookie). */
  remembered?: string | undefined;
  /** The relying party's `ui_locales`, space-separated, most preferred first. */
  uiLocales?: string | undefined;
  acceptLanguage?: string | undefined;
};

/**
 * Picks the page language: the member's own choice first (the switch, then its cookie), then the
 * relying party's `ui_locales`, then the browser's Accept-Language, else Japanese.
 */
export function chooseLocale(sources: LocaleSources): Locale {
  if (isLocale(sources.switched)) return sources.switched;
  if (isLocale(sources.remembered)) return sources.remembered;
  for (const tag of (sources.uiLocales ?? '').split(' ')) {
    const base = primary(tag);
    if (isLocale(base)) return base;
  }
  const ranked = (sources.acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { base: primary(tag), q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((entry) => isLocale(entry.base) && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return (ranked[0]?.base as Locale | undefined) ?? defaultLocale;
}

function primary(tag: string): string {
  return tag.trim().toLowerCase().split('-')[0] ?? '';
}
