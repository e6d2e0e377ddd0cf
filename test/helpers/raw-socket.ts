/**
 * HTTP/1.1 written by hand, from a chosen loopback address: what a careless or hostile client sends
 * (targets in absolute form, bodies announced and never sent), and a client address of its own for
 * each test client without a proxy in front. Linux routes all of 127.0.0.0/8 to the loopback
 * interface, so a socket bound to 127.0.0.7 reaches the test app on 127.0.0.1 as a client 127.0.0.7.
 */
import { connect, type Socket } from 'node:net';

export type RawResponse = { status: number; headers: Record<string, string>; body: string };

/** Where the test app listens, for a socket of our own. */
function endpoint(appUrl: string): { host: string; port: number } {
  const url = new URL(appUrl);
  return { host: '127.0.0.1', port: Number(url.port) };
}

/** Opens a socket to the app from `localAddress` and resolves once it is connected. */
export async function openSocket(appUrl: string, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ ...endpoint(appUrl), localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  return socket;
}

/** The request head of `method target`, with a Host header and `headers`. */
export function head(appUrl: string, method: string, target: string, headers: Record<string, string> = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${new URL(appUrl).host}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Everything the server writes on `socket` until it closes it (or until `until` matches what arrived). */
export function received(socket: Socket, until?: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = () => resolve(text);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (until?.test(text)) done();
    });
    socket.once('close', done);
  });
}

/** The status, headers and body of the first response in `text`. */
export function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, end === -1 ? text.length : end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: end === -1 ? '' : text.slice(end + 4) };
}

/**
 * One request, written exactly as given, from `localAddress`; resolves with the response once the
 * server has sent its head and, where it said how long, its body. The socket is closed afterwards.
 */
export async function rawRequest(appUrl: string, request: string, localAddress = '127.0.0.1'): Promise<RawResponse> {
  const socket = await openSocket(appUrl, localAddress);
  const complete = /\r\n\r\n/;
  const headOnly = request.startsWith('HEAD ');
  const whole = new Promise<string>((resolve) => {
    let text = '';
    const finish = () => resolve(text);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!complete.test(text)) return;
      const { headers, body } = parseResponse(text);
      if (headOnly) return finish();
      const length = headers['content-length'];
      if (length === undefined ? /\r\n0\r\n\r\n$/.test(text) || !/chunked/i.test(headers['transfer-encoding'] ?? '') : Buffer.byteLength(body, 'latin1') >= Number(length)) finish();
    });
    socket.once('close', finish);
  });
  socket.write(request);
  const text = await whole;
  socket.destroy();
  return parseResponse(text);
}
