/**
 * The load driver: complete passkey log-ins over HTTP, each with its own cookie jar, exactly as a
 * browser with a software authenticator would make them:
 *
 *   authorize → log-in page → passkey options → signed assertion → resume → token exchange
 *
 * Two ways to load a server, both bounded in time and in the number of log-ins:
 * - closedLoop: C virtual users, each starting its next log-in as soon as the last one ends, for D
 *   seconds: the throughput a server sustains when it is the bottleneck;
 * - openLoop: log-ins arriving at a fixed rate R for D seconds regardless of how the server keeps up:
 *   the latency of every request at that rate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { CookieJar } from '../test/helpers/cookie-jar.ts';
import type { SoftPasskey } from '../test/helpers/soft-authenticator.ts';
import { BENCH_CLIENT, BENCH_SCOPE } from './common.ts';

export const STEPS = ['authorize', 'page', 'options', 'assertion', 'resume', 'token'] as const;
export type Step = (typeof STEPS)[number];

/** A server under test: where it listens and its issuer (the origin browsers see). */
export type Target = { name: string; issuer: string; port: number };

/** Percentiles of one set of latencies, in milliseconds. */
export type LatencySummary = { count: number; p50: number; p95: number; p99: number; max: number };

export type TrialResult = {
  mode: 'closed' | 'open';
  target: string;
  /** Seconds measured (after the warm-up). */
  seconds: number;
  concurrency?: number;
  /** Offered log-ins per second (open loop). */
  rate?: number;
  /** Log-ins completed within the measured window. */
  completed: number;
  /** Completed log-ins per second within the measured window. */
  throughput: number;
  failed: number;
  /** Failures by step and status ("assertion 401"), with one example message each. */
  failures: Record<string, { count: number; example: string }>;
  /** Open loop: arrivals not started because every passkey was busy in an earlier log-in. */
  dropped: number;
  /** Open loop: how late the driver started log-ins against their schedule (p99, max), in ms. */
  startLag?: { p99: number; max: number };
  steps: Record<Step, LatencySummary>;
  /** Every request of every step together. */
  allRequests: LatencySummary;
  /** A whole log-in, first request to token response. */
  logIn: LatencySummary;
};

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36';
const REQUEST_TIMEOUT_MS = 10_000;
const basicAuth = `Basic ${Buffer.from(`${encodeURIComponent(BENCH_CLIENT.client_id)}:${encodeURIComponent(BENCH_CLIENT.client_secret)}`).toString('base64')}`;
const redirectUri = BENCH_CLIENT.redirect_uris[0]!;

/** A pool of passkeys, each lent to one log-in at a time (device-bound counters must move forward). */
export class PasskeyPool {
  private readonly free: SoftPasskey[];
  constructor(passkeys: SoftPasskey[]) {
    this.free = [...passkeys];
  }
  take(): SoftPasskey | undefined {
    return this.free.pop();
  }
  give(passkey: SoftPasskey): void {
    this.free.unshift(passkey);
  }
}

/** Receives each request's step and start and end times (performance.now()). */
type RequestLog = (step: Step, started: number, ended: number) => void;

export type Reply = { status: number; headers: IncomingHttpHeaders; body: string };

export class StepFailure extends Error {
  readonly key: string;
  constructor(step: string, status: number | string, message: string) {
    super(`${step} ${status}: ${message}`);
    this.key = `${step} ${status}`;
  }
}

/** Collects the latencies and outcomes of one trial's measured window. */
class Recorder {
  readonly steps = Object.fromEntries(STEPS.map((step) => [step, [] as number[]])) as Record<Step, number[]>;
  readonly logIns: number[] = [];
  readonly failures: Record<string, { count: number; example: string }> = {};
  completed = 0;
  failed = 0;
  private readonly from: number;
  private readonly to: number;

  constructor(from: number, to: number) {
    this.from = from;
    this.to = to;
  }

  inWindow(at: number): boolean {
    return at >= this.from && at <= this.to;
  }

  /** Records a request's latency when it ended inside the window (closed loop). */
  readonly request: RequestLog = (step, started, ended) => {
    if (this.inWindow(ended)) this.steps[step].push(ended - started);
  };

  /** Records every request's latency (open loop: for log-ins scheduled inside the window). */
  readonly always: RequestLog = (step, started, ended) => {
    this.steps[step].push(ended - started);
  };

  logIn(started: number, ended: number, counted: boolean): void {
    if (!counted) return;
    this.completed++;
    this.logIns.push(ended - started);
  }

  failure(error: unknown, counted: boolean): void {
    if (!counted) return;
    this.failed++;
    const key = error instanceof StepFailure ? error.key : 'driver';
    const entry = (this.failures[key] ??= { count: 0, example: String((error as Error)?.message ?? error).slice(0, 300) });
    entry.count++;
  }
}

/** One HTTP exchange on the driver's kept-alive connections to `target`. */
export function exchange(agent: Agent, target: Target, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      agent,
      host: '127.0.0.1',
      port: target.port,
      method,
      path,
      headers: {
        host: `localhost:${target.port}`,
        'user-agent': USER_AGENT,
        'accept-language': 'ja,en;q=0.8',
        ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
        ...headers,
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The path and query of a (possibly relative) URL on the target's origin; throws if it leaves it. */
export function onOrigin(target: Target, location: string | undefined, step: string): string {
  if (!location) throw new StepFailure(step, 'no-location', 'expected a redirect');
  const url = new URL(location, target.issuer);
  if (url.origin !== target.issuer) throw new StepFailure(step, 'off-origin', `redirected to ${url.origin}`);
  return `${url.pathname}${url.search}`;
}

export function json(reply: Reply, step: string): any {
  try {
    return JSON.parse(reply.body);
  } catch {
    throw new StepFailure(step, reply.status, 'the answer is not JSON');
  }
}

/** One complete passkey log-in; resolves when the token response has arrived and looks right. */
export async function logIn(agent: Agent, target: Target, passkey: SoftPasskey, record: RequestLog): Promise<void> {
  const jar = new CookieJar();
  const call = async (step: Step, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> => {
    const started = performance.now();
    const cookie = jar.header(path.split('?')[0]!);
    const reply = await exchange(agent, target, method, path, { ...headers, ...(cookie ? { cookie } : {}) }, body)
      .catch((error: Error) => { throw new StepFailure(step, 'network', error.message); });
    record(step, started, performance.now());
    jar.store(reply.headers['set-cookie']);
    return reply;
  };
  const expect = (step: Step, reply: Reply, status: number) => {
    if (reply.status !== status) throw new StepFailure(step, reply.status, reply.body.slice(0, 200));
  };
  const sameOrigin = { origin: target.issuer, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', accept: 'application/json' };

  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const query = new URLSearchParams({
    client_id: BENCH_CLIENT.client_id,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: BENCH_SCOPE,
    state,
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });

  const authorize = await call('authorize', 'GET', `/auth?${query}`, { accept: 'text/html' });
  expect('authorize', authorize, 303);
  const interaction = onOrigin(target, authorize.headers.location, 'authorize');

  const page = await call('page', 'GET', interaction, { accept: 'text/html' });
  expect('page', page, 200);

  const options = await call('options', 'POST', `${interaction}/passkey/options`, sameOrigin, '');
  expect('options', options, 200);
  const assertion = passkey.assert(json(options, 'options'), target.issuer);

  const verified = await call('assertion', 'POST', `${interaction}/passkey`, { ...sameOrigin, 'content-type': 'application/json' }, JSON.stringify(assertion));
  expect('assertion', verified, 200);
  const resumePath = onOrigin(target, json(verified, 'assertion').redirectTo, 'assertion');

  const resume = await call('resume', 'GET', resumePath, { accept: 'text/html' });
  expect('resume', resume, 303);
  const callback = new URL(resume.headers.location ?? '', target.issuer);
  const code = callback.searchParams.get('code');
  if (!callback.href.startsWith(redirectUri) || !code || callback.searchParams.get('state') !== state) {
    throw new StepFailure('resume', 'bad-callback', `expected the client's redirect_uri with code and state, got ${callback.origin}${callback.pathname}`);
  }

  const token = await call('token', 'POST', '/token', {
    authorization: basicAuth,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  }, new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString());
  expect('token', token, 200);
  const tokens = json(token, 'token');
  if (typeof tokens.id_token !== 'string' || typeof tokens.access_token !== 'string') throw new StepFailure('token', 'no-tokens', 'no id_token or access_token');
}

type Bounds = { warmupMs: number; durationMs: number; maxLogIns: number };

/** C virtual users back to back for warm-up + duration; throughput counts log-ins ending in the measured window. */
export async function closedLoop(target: Target, pool: PasskeyPool, options: Bounds & { concurrency: number }): Promise<TrialResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const t0 = performance.now();
  const from = t0 + options.warmupMs;
  const to = from + options.durationMs;
  const recorder = new Recorder(from, to);
  let started = 0;

  const user = async () => {
    while (performance.now() < to && started < options.maxLogIns) {
      started++;
      const passkey = pool.take();
      if (!passkey) throw new Error('the passkey pool is smaller than the number of virtual users');
      const begun = performance.now();
      try {
        await logIn(agent, target, passkey, recorder.request);
        const ended = performance.now();
        recorder.logIn(begun, ended, recorder.inWindow(ended));
      } catch (error) {
        recorder.failure(error, recorder.inWindow(performance.now()));
      } finally {
        pool.give(passkey);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, user));
  agent.destroy();
  return summarise(recorder, { mode: 'closed', target: target.name, seconds: options.durationMs / 1000, concurrency: options.concurrency, dropped: 0 });
}

/**
 * Log-ins arriving every 1/R seconds for warm-up + duration, each started on schedule whether or
 * not earlier ones have finished. A log-in counts when it was scheduled inside the measured window.
 * With `signal`, no log-in starts after it aborts, and the trial lasts until then.
 */
export async function openLoop(target: Target, pool: PasskeyPool, options: Bounds & { rate: number; signal?: AbortSignal }): Promise<TrialResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const t0 = performance.now();
  const from = t0 + options.warmupMs;
  const to = from + options.durationMs;
  const recorder = new Recorder(from, to);
  const total = Math.min(options.maxLogIns, Math.floor((options.rate * (options.warmupMs + options.durationMs)) / 1000));
  const lags: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let dropped = 0;

  for (let i = 0; i < total && !options.signal?.aborted;) {
    const due = t0 + (i * 1000) / options.rate;
    const now = performance.now();
    if (due > now) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(due - now))));
      continue;
    }
    i++;
    const counted = recorder.inWindow(due);
    if (counted) lags.push(now - due);
    const passkey = pool.take();
    if (!passkey) {
      if (counted) dropped++;
      continue;
    }
    const run = logIn(agent, target, passkey, counted ? recorder.always : () => {})
      .then(() => recorder.logIn(due, performance.now(), counted), (error: unknown) => recorder.failure(error, counted))
      .finally(() => {
        pool.give(passkey);
        inFlight.delete(run);
      });
    inFlight.add(run);
  }
  const measuredMs = options.signal?.aborted ? Math.max(1, performance.now() - from) : options.durationMs;
  await Promise.all(inFlight);
  agent.destroy();
  const result = summarise(recorder, { mode: 'open', target: target.name, seconds: measuredMs / 1000, rate: options.rate, dropped });
  const sortedLags = lags.sort((a, b) => a - b);
  result.startLag = { p99: round(percentile(sortedLags, 0.99)), max: round(sortedLags.at(-1) ?? 0) };
  return result;
}

function summarise(recorder: Recorder, head: Pick<TrialResult, 'mode' | 'target' | 'seconds' | 'concurrency' | 'rate' | 'dropped'>): TrialResult {
  const steps = Object.fromEntries(STEPS.map((step) => [step, latencies(recorder.steps[step])])) as Record<Step, LatencySummary>;
  return {
    ...head,
    completed: recorder.completed,
    throughput: round(recorder.completed / head.seconds),
    failed: recorder.failed,
    failures: recorder.failures,
    steps,
    allRequests: latencies(STEPS.flatMap((step) => recorder.steps[step])),
    logIn: latencies(recorder.logIns),
  };
}

export function latencies(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p95: round(percentile(sorted, 0.95)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

/** Nearest-rank percentile of sorted values (0 when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
