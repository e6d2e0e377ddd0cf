import type { Context, Middleware } from 'koa';
import { chooseLocale } from '../i18n/negotiate.ts';
import { locales, translator, type Locale } from '../i18n/messages.ts';

const COOKIE = 'jmb.lang';

/**
 * Sets the page language and translator on `ctx.state` (`locale`, `t`, `languageLinks`). Call again
 * with the relying party's `ui_locales` once an interaction is known; `pagePath` is the page the
 * language switch reloads (a form post re-renders a page whose own URL cannot be fetched).
 */
export function localize(ctx: Context, uiLocales?: string, pagePath?: string): Locale {
  const switched = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  const locale = chooseLocale({
    switched,
    remembered: ctx.cookies.get(COOKIE, { signed: false }),
    uiLocales,
    acceptLanguage: ctx.get('accept-language'),
  });
  if (switched === locale) {
    ctx.cookies.set(COOKIE, locale, { httpOnly: true, sameSite: 'lax', signed: false, secure: ctx.secure, path: '/', maxAge: 365 * 24 * 3600 * 1000, overwrite: true });
  }
  ctx.state.locale = locale;
  ctx.state.t = translator(locale);
  const base = pagePath ?? (ctx.method === 'GET' ? ctx.path : undefined);
  ctx.state.languageLinks = base === undefined ? [] : locales.map((code) => {
    const params = new URLSearchParams(base === ctx.path ? ctx.querystring : '');
    params.set('lang', code);
    return { code, href: `${base}?${params}`, current: code === locale };
  });
  return locale;
}

/** Localises every request; pages rendered later read `ctx.state`. */
export function localization(): Middleware {
  return async (ctx, next) => {
    localize(ctx);
    await next();
  };
}
