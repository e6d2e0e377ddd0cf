/**
 * What the benchmark's processes share: the one relying party both servers know, the request it
 * makes, and the small protocol between `run.ts` and a server child (over the IPC channel).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** The confidential web client the load driver plays, registered identically with both servers. */
export const BENCH_CLIENT = {
  client_id: 'bench-website',
  client_secret: 'bench-website-secret-0123456789abcdefghij',
  redirect_uris: ['https://rp.bench.example/callback'],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  // As the programme's own clients name it (docs/relying-parties.md, "Why our own clients name
  // ES256"), so the benchmark measures the signatures the IdP makes in production; the stock server
  // signs the same.
  id_token_signed_response_alg: 'ES256',
};

/** The scopes the driver asks for (the stock server is configured to release the same claim). */
/**
 * Every virtual user of a benchmark comes from 127.0.0.1: the per-address budgets, meant for one
 * client of the internet, would stop the load a benchmark needs, and so would the successes per
 * member for a pool of members logging in again and again. Their cost is still paid on every request.
 */
export const LOOPBACK_BUDGETS = {
  SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: '100000000',
  PASSKEY_OPTIONS_PER_ADDRESS_PER_MINUTE: '100000000',
  SIGNINS_IN_PROGRESS_PER_ADDRESS: '50000',
  LOGIN_MAX_FAILURES_PER_IP: '100000',
  LOGIN_MAX_ATTEMPTS_PER_ADDRESS: '100000000',
  LOGIN_MAX_SUCCESSES_PER_MEMBER: '100000000',
  PAR_PER_CLIENT_AND_ADDRESS_PER_MINUTE: '100000000',
  // Just below the process-wide figure (the most it may be): the one address is every member.
  SHED_MAX_IN_FLIGHT_PER_ADDRESS: '511',
} as const;

/** A numeric setting of a benchmark from the environment, `fallback` when unset; refused outside min..max. */
export function setting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  return value;
}

export const BENCH_SCOPE = 'openid profile';

/** The WebAuthn RP ID of an issuer on http://localhost:<port>. */
export const BENCH_RP_ID = 'localhost';

/** A server child's announcements to its parent. */
export type ChildMessage =
  /** `metricsPort`: where the server answers `GET /metrics` on loopback, when it does. */
  | { type: 'ready'; issuer: string; port: number; metricsPort?: number }
  | { type: 'usage'; usage: ServerUsage }
  | { type: 'pruned'; report: Record<string, number> }
  | { type: 'loop'; maxMs: number; p99Ms: number; stalls?: [number, number][] };

/** The message type of a WORKERS primary's usage question to each worker, and of the answer (cluster-server.ts). */
export const WORKER_USAGE = 'bench-usage';

/** Cumulative CPU and event-loop figures of a server process; the parent takes differences. */
export type ServerUsage = {
  /** All threads (main, GC, libuv pool). */
  cpuMicros: number;
  /** The main thread alone: the one that runs JavaScript and limits throughput. */
  mainThreadCpuMicros: number;
  eluActive: number;
  eluIdle: number;
  rss: number;
};

/** Listens on an ephemeral loopback port and resolves with it. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Longer than any pause between trials, so the driver's kept-alive sockets stay usable.
  server.keepAliveTimeout = 65_000;
  return (server.address() as AddressInfo).port;
}

/**
 * Announces readiness to the parent, answers its usage questions, and exits when the parent goes
 * away (the IPC channel closes), so a server child never outlives a benchmark run.
 */
export function serveParent(server: Server, issuer: string, port: number, close: () => Promise<void>, extra: { metricsPort?: number } = {}): void {
  if (!process.send) throw new Error('a benchmark server must be started by bench/run.ts (it needs the IPC channel)');
  const send = (message: ChildMessage) => process.send!(message);
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== 'usage') return;
    const cpu = process.cpuUsage();
    const main = process.threadCpuUsage();
    const elu = performance.eventLoopUtilization();
    send({ type: 'usage', usage: { cpuMicros: cpu.user + cpu.system, mainThreadCpuMicros: main.user + main.system, eluActive: elu.active, eluIdle: elu.idle, rss: process.memoryUsage.rss() } });
  });
  process.on('disconnect', () => {
    server.closeAllConnections();
    server.close();
    void close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  });
  send({ type: 'ready', issuer, port, ...extra });
}

export type ProcStat = { ppid: number; utime: number; stime: number; cutime: number; cstime: number };

/** Fields of /proc/<pid>/stat (proc(5)); undefined when the process has gone. */
export function procStat(pid: number): ProcStat | undefined {
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields 3 onward follow the last ')'.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) };
}

/** Clock ticks per second, the unit of /proc/<pid>/stat's times. */
export function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (ticks > 0) return ticks;
  } catch {
    // getconf missing: Linux's USER_HZ is 100 on every architecture the IdP runs on.
  }
  return 100;
}
