/**
 * The network as tests see it: loopback only. nock refuses every other HTTP request (http, https and
 * fetch) with its NetConnectNotAllowedError before a name is even looked up; a guard on `net` sockets
 * refuses what does not speak HTTP through Node's client (a database driver, a raw socket); and
 * `localhost` is answered here, not by the system resolver. Loaded in every ava worker by
 * `test/helpers/setup.ts`.
 */
import dns from 'node:dns';
import net from 'node:net';
import nock from 'nock';

/** A socket a test opened to a host that is neither loopback nor allowed; `code` as nock's own refusal. */
export class NetworkDeniedError extends Error {
  readonly code = 'ENETUNREACH';
  constructor(host: string, port: unknown) {
    super(`tests reach loopback only: a connection to ${host}:${String(port)} was refused (see docs/testing.md)`);
    this.name = 'NetworkDeniedError';
  }
}

/** True for this machine's own addresses: `localhost`, 127.0.0.0/8 and ::1 (bracketed or not, IPv4-mapped too). */
export function isLoopback(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  const v4 = bare.replace(/^::ffff:/, '');
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  return net.isIPv6(bare) && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(bare);
}

/**
 * The hosts a test may reach beside loopback: those of `TEST_MONGODB_URI`, a MongoDB server of the
 * tester's choosing. With `mongodb+srv:` the driver connects to the hosts the SRV record names, which
 * the MongoDB specification keeps within the parent domain of the name given: that domain is allowed.
 */
export function allowedHosts(env: NodeJS.ProcessEnv): { hosts: string[]; domains: string[] } {
  const match = /^mongodb(\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(env.TEST_MONGODB_URI ?? '');
  if (!match) return { hosts: [], domains: [] };
  const hosts = match[2]!.split(',').map((hostPort) => decodeURIComponent(hostPort).replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase());
  const domains = match[1] ? hosts.map((host) => host.slice(host.indexOf('.') + 1)) : [];
  return { hosts, domains };
}

/** Whether a test may open a connection to `host` (a name or an address, without a port). */
export function mayConnect(host: string, allowed: { hosts: string[]; domains: string[] }): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return isLoopback(bare) || allowed.hosts.includes(bare) || allowed.domains.some((domain) => bare.endsWith(`.${domain}`));
}

/** The host and port a call of `Socket.prototype.connect` asks for; undefined for a Unix socket or a pipe. */
function destination(args: unknown[]): { host: string; port: unknown } | undefined {
  // net.connect() hands over its arguments already normalised: [options, listener].
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first !== null && typeof first === 'object') {
    const options = first as { path?: string; host?: string; port?: unknown };
    return options.path ? undefined : { host: options.host || 'localhost', port: options.port };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined;
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * Answers `localhost` with the loopback address in this thread, without the system resolver. Node
 * resolves names on libuv's thread pool, four threads that every ava worker of the test process
 * shares with password hashing (scrypt), signing and file reads: under load a burst of hashes kept
 * `localhost` waiting past undici's 10 s connect timeout, and fetch failed ("Connect Timeout Error")
 * for every request queued on that connection pool at once. The test servers listen on 127.0.0.1.
 */
export function answerLoopbackNames(): void {
  const lookup = dns.lookup;
  const answered = function lookupLoopback(hostname: string, options: unknown, callback?: LookupCallback): void {
    const done = (typeof options === 'function' ? options : callback) as LookupCallback;
    const settings = (typeof options === 'object' && options !== null ? options : { family: typeof options === 'number' ? options : 0 }) as dns.LookupOptions;
    if (hostname?.toLowerCase() !== 'localhost') return void (lookup as (...args: unknown[]) => void)(hostname, options, callback);
    const answer = settings.family === 6 || settings.family === 'IPv6' ? { address: '::1', family: 6 } : { address: '127.0.0.1', family: 4 };
    if (settings.all) process.nextTick(done, null, [answer]);
    else process.nextTick(done, null, answer.address, answer.family);
  };
  dns.lookup = answered as typeof dns.lookup;
}

/**
 * Denies every connection that is not to loopback (or to a host `env` allows, see `allowedHosts`):
 * through nock for HTTP, and on `net.Socket` for everything else. For the whole worker it runs in.
 */
export function denyNetwork(env: NodeJS.ProcessEnv): void {
  const allowed = allowedHosts(env);
  nock.disableNetConnect();
  // nock names the host as "name:port".
  nock.enableNetConnect((hostPort: string) => mayConnect(hostPort.replace(/:\d+$/, ''), allowed));

  const connect = net.Socket.prototype.connect as (this: net.Socket, ...args: unknown[]) => net.Socket;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    const target = destination(args);
    if (!target || mayConnect(target.host, allowed)) return connect.apply(this, args);
    const error = new NetworkDeniedError(target.host, target.port);
    // As a refused connection would: an 'error' event, never a throw from connect().
    process.nextTick(() => this.destroy(error));
    return this;
  } as typeof net.Socket.prototype.connect;
}
