/**
 * HTTP as an attacker writes it: the request target and every header (`Host` too) exactly as given.
 * `fetch` would normalise both (`/\host` becomes `//host/`, `Host` is its own), which is what a
 * browser does, not what a client of the IdP may send.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { CookieJar } from './cookie-jar.ts';

export type RawResponse = { status: number; headers: IncomingHttpHeaders; location: string | undefined; body: string };

/** One request to the server at `origin`, sent as written. */
export function rawRequest(origin: string, target: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: target, method: init.method ?? 'GET', headers: { connection: 'close', ...init.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, location: res.headers.location, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * The status line and body of a request whose target Node's client refuses to send (a tab or a line
 * break in it): written straight to the socket.
 */
export function rawSocketRequest(origin: string, target: string): Promise<{ statusLine: string; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      const split = data.indexOf('\r\n\r\n');
      resolve({ statusLine: data.slice(0, data.indexOf('\r\n')), body: split === -1 ? '' : data.slice(split + 4) });
    });
    socket.on('error', reject);
  });
}

/** A cookie-keeping client that sends the same (forged) headers with every request, targets as written. */
export class RawBrowser {
  private readonly jar = new CookieJar();
  readonly origin: string;
  readonly headers: Record<string, string>;

  constructor(origin: string, headers: Record<string, string> = {}) {
    this.origin = origin;
    this.headers = headers;
  }

  get(target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.send(target, { method: 'GET', headers });
  }

  /** Posts an urlencoded form, as a same-origin page would. */
  post(target: string, form: Record<string, string>): Promise<RawResponse> {
    return this.send(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams(form).toString(),
    });
  }

  private async send(target: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<RawResponse> {
    const pathname = target.startsWith('/') ? target.split('?')[0]! : new URL(target).pathname;
    const cookie = this.jar.header(pathname);
    const response = await rawRequest(this.origin, target, {
      method: init.method,
      body: init.body,
      headers: { accept: 'text/html', 'accept-language': 'en', ...(cookie && { cookie }), ...this.headers, ...init.headers },
    });
    this.jar.store(response.headers['set-cookie']);
    return response;
  }
}

/** Every URL a page or response points a browser at: each href, action, src and formaction, and Location. */
export function linksOf(response: Pick<RawResponse, 'body' | 'location'>): string[] {
  const attributes = [...response.body.matchAll(/\s(?:href|action|src|formaction|data-[\w-]*url)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)]
    .map((match) => decodeEntities(match[1] ?? match[2] ?? match[3] ?? ''));
  return response.location === undefined ? attributes : [...attributes, response.location];
}

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, entity: string) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[lower]!;
  });
}
