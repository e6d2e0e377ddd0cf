import { en } from './en.ts';
import { ja } from './ja.ts';

/** The name of one member-facing text; both catalogues have every one. */
export type MessageKey = keyof typeof en;

export const locales = ['ja', 'en'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'ja';

const catalogues: Record<Locale, Record<MessageKey, string>> = { en, ja };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

/** A translator for one locale; `{name}` placeholders are filled from `params` (escaping is the view's job). */
export function translator(locale: Locale): Translate {
  return translators[locale];
}

const translators = Object.fromEntries(locales.map((locale) => {
  const catalogue = catalogues[locale];
  const translate: Translate = (key, params) => {
    const text = catalogue[key];
    return params ? text.replace(/\{(\w+)\}/g, (whole, name: string) => String(params[name] ?? whole)) : text;
  };
  return [locale, translate];
})) as Record<Locale, Translate>;

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (locales as readonly string[]).includes(value);
}
