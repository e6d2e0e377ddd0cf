/**
 * A minimal cookie-keeping HTTP client that behaves like a browser for the IdP's pages: it keeps
 * cookies per path, never follows redirects by itself, and can post forms found in a page.
 */
import { CookieJar, type Cookie } from './cookie-jar.ts';

export type PageResponse = { status: number; location: string | undefined; html: string; headers: Headers };

export class Browser {
  private readonly jar = new CookieJar();
  /** What the browser holds; a test may change a value to play an attacker. */
  readonly cookies: Cookie[] = this.jar.cookies;
  readonly origin: string;
  userAgent = 'Mozilla/5.0 (X11; Linux x86_64) JMB-test';
  acceptLanguage = 'en';
  /** Sent with every request, e.g. the `X-Forwarded-For` a proxy in front of the IdP would add. */
  extraHeaders: Record<string, string> = {};

  constructor(origin: string) {
    this.origin = origin;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.request(url, { method: 'GET', headers });
  }

  /** Posts an urlencoded form, as a same-origin page would. */
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, 'sec-fetch-site': 'same-origin', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Posts JSON the way the log-in page's script does (fetch from the same origin). */
  async postJson(url: string, body?: unknown, headers: Record<string, string> = {}): Promise<PageResponse & { json: any }> {
    const response = await this.request(url, {
      method: 'POST',
      headers: { accept: 'application/json', origin: this.origin, 'sec-fetch-site': 'same-origin', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    let json: unknown;
    try {
      json = JSON.parse(response.html);
    } catch {
      json = undefined;
    }
    return { ...response, json };
  }

  async request(url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<PageResponse> {
    const target = new URL(url, this.origin);
    const response = await fetch(target, {
      method: init.method,
      redirect: 'manual',
      headers: { cookie: this.jar.header(target.pathname), 'user-agent': this.userAgent, 'accept-language': this.acceptLanguage, accept: 'text/html', ...this.extraHeaders, ...init.headers },
      body: init.body,
    });
    this.jar.store(response.headers.getSetCookie());
    const location = response.headers.get('location') ?? undefined;
    return { status: response.status, location: location && new URL(location, target).toString(), html: await response.text(), headers: response.headers };
  }

  /** Follows redirects on the IdP's origin; stops at the first one that leaves it (the relying party). */
  async follow(url: string): Promise<{ final: PageResponse; url: string }> {
    let current = url;
    for (let hop = 0; hop < 10; hop++) {
      const response = await this.get(current);
      if (!response.location || response.status < 300 || response.status >= 400) return { final: response, url: current };
      if (new URL(response.location).origin !== this.origin) return { final: response, url: response.location };
      current = response.location;
    }
    throw new Error('too many redirects');
  }
}

/** The value of a hidden input in a page. */
export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no hidden field "${name}" in page`);
  return match[1]!;
}

/** The text of the page's first role="alert" paragraph, if any: its words, inline markup (a second line) included. */
export function alertText(html: string): string | undefined {
  return /role="alert"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1]?.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim();
}
