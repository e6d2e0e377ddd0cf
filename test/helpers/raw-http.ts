/**
 * HTTP as an attacker writes it: the request target and every header (`Host` too) exactly as given.
 * `fetch` would normalise both (`/\host` becomes `//host/`, `Host` is its own), which is what a
 * browser does, not what a client of the IdP may send. Written on a socket of its own: Node's client
 * (and nock, which the test setup puts in front of it) would read the target as a URL.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { CookieJar } from './cookie-jar.ts';

export type RawResponse = { status: number; headers: IncomingHttpHeaders; location: string | undefined; body: string };

/** One request to the server at `origin`, sent as written; `Connection: close`, so the response ends with the connection. */
export function rawRequest(origin: string, target: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  const headers: Record<string, string> = { ...init.headers, connection: 'close' };
  const named = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name);
  if (!named('host')) headers.host = `${hostname}:${port}`;
  if (init.body !== undefined && !named('content-length')) headers['content-length'] = String(Buffer.byteLength(init.body));
  const head = [`${init.method ?? 'GET'} ${target} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${head}\r\n\r\n${init.body ?? ''}`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks), init.method === 'HEAD'));
      } catch (error) {
        reject(error);
      }
    });
    socket.on('error', reject);
  });
}

/** The response a server wrote before closing the connection: headers as Node names them, the body de-chunked. */
function parseResponse(raw: Buffer, headOnly: boolean): RawResponse {
  const split = raw.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`no complete response head in ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'set-cookie') headers['set-cookie'] = [...(headers['set-cookie'] ?? []), value];
    else headers[name] = headers[name] === undefined ? value : `${String(headers[name])}, ${value}`;
  }
  let body = raw.subarray(split + 4);
  if (headOnly) body = Buffer.alloc(0);
  else if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  const location = headers.location;
  return { status: Number(statusLine.split(' ')[1]), headers, location: typeof location === 'string' ? location : undefined, body: body.toString('utf8') };
}

function dechunk(chunked: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; ;) {
    const lineEnd = chunked.indexOf('\r\n', at);
    const size = parseInt(chunked.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(chunked.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
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
