import type { Context, Middleware } from 'koa';
import { chooseLocale } from '../i18n/negotiate.ts';
import { locales, translator, type Locale } from '../i18n/messages.ts';
import { localPath } from './local-path.ts';

const COOKIE = 'jmb.lang';

/**
 * Sets the page language and translator on `ctx.state` (`locale`, `t`, `languageLinks`). Call again
 * with the relying party's `ui_locales` once an interaction is known; `pagePath` is the page the
 * language switch reloads (a form post re-renders a page whose own URL cannot be fetched).
 * The language is worked out when a page or message first asks for it: JSON answers and redirects
 * never do. The three are getters that every localised state inherits, so localising a request
 * costs one small object; a template receives them through `pageLanguage`.
 */
export function localize(ctx: Context, uiLocales?: string, pagePath?: string): void {
  const known = (ctx.state as Partial<Localized>)[INPUTS];
  if (known) {
    // Same request, better information: the getters read these.
    Object.assign(known, { uiLocales, pagePath, chosen: undefined });
    return;
  }
  const state = Object.create(localized) as Localized;
  state[INPUTS] = { ctx, uiLocales, pagePath, chosen: undefined };
  ctx.state = Object.assign(state, ctx.state);
}

/**
 * The page a failed form post came from: the one `localize` was told of, else `fallback` (a local path
 * only), which then becomes the page the language switch reloads, as a post's own URL cannot be fetched.
 */
export function formPagePath(ctx: Context, fallback: string | undefined): string | undefined {
  const inputs = (ctx.state as Partial<Localized>)[INPUTS];
  if (inputs?.pagePath) return localPath(inputs.pagePath);
  const page = localPath(fallback);
  if (!page) return undefined;
  if (inputs) inputs.pagePath = page;
  else localize(ctx, undefined, page);
  return page;
}

/** What a template reads about its page's language (koa-views passes on only the state's own fields). */
export function pageLanguage(state: object): Partial<Pick<Localized, 'locale' | 't' | 'languageLinks'>> {
  if (!(INPUTS in state)) return {};
  const { locale, t, languageLinks } = state as Localized;
  return { locale, t, languageLinks };
}

const INPUTS = Symbol('locale inputs');
type LocaleInputs = { ctx: Context; uiLocales: string | undefined; pagePath: string | undefined; chosen: Locale | undefined };
type Localized = {
  [INPUTS]: LocaleInputs;
  readonly locale: Locale;
  readonly t: ReturnType<typeof translator>;
  readonly languageLinks: { code: Locale; href: string; current: boolean }[];
};

const localized: Omit<Localized, typeof INPUTS> = {
  get locale() {
    const inputs = (this as Localized)[INPUTS];
    return (inputs.chosen ??= chooseFor(inputs.ctx, inputs.uiLocales));
  },
  get t() {
    return translator(this.locale);
  },
  get languageLinks() {
    const inputs = (this as Localized)[INPUTS];
    return languageLinks(inputs.ctx, this.locale, inputs.pagePath);
  },
};

function chooseFor(ctx: Context, uiLocales: string | undefined): Locale {
  const switched = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  const locale = chooseLocale({
    switched,
    remembered: ctx.cookies.get(COOKIE, { signed: false }),
    uiLocales,
    acceptLanguage: ctx.get('accept-language'),
  });
  if (switched === locale && !ctx.headerSent) {
    ctx.cookies.set(COOKIE, locale, { httpOnly: true, sameSite: 'lax', signed: false, secure: ctx.secure, path: '/', maxAge: 365 * 24 * 3600 * 1000, overwrite: true });
  }
  return locale;
}

function languageLinks(ctx: Context, current: Locale, pagePath: string | undefined) {
  // `ctx.path` is the path as the request wrote it: `//other.example/x` is a 404 here, and a link to
  // another site once written into a page. Such a page offers no language switch.
  const base = localPath(pagePath ?? (ctx.method === 'GET' ? ctx.path : undefined));
  if (base === undefined) return [];
  return locales.map((code) => {
    const params = new URLSearchParams(base === ctx.path ? ctx.querystring : '');
    params.set('lang', code);
    return { code, href: `${base}?${params}`, current: code === current };
  });
}

/** Localises every request; pages rendered later read `ctx.state`. */
export function localization(): Middleware {
  return async (ctx, next) => {
    localize(ctx);
    await next();
  };
}
