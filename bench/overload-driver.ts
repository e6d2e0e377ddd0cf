/**
 * The load driver of `npm run bench:overload`: complete log-ins, by password or by passkey, from
 * virtual users that keep coming back when refused, as members pressing "Try again" would (only
 * sooner than the IdP asks them to, so the refusals keep coming).
 *
 *   password: authorize → log-in page → POST member number and password → resume → token
 *   passkey:  authorize → log-in page → passkey options → signed assertion → resume → token
 *
 * A request answered 503 or 429 is a refusal: its latency is recorded apart, the virtual user waits
 * `retryPauseMs` and sends the same request again (the same sign-in carries on). Any other answer
 * that is not what a browser expects ends that log-in as a failure, counted by step and status.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { CookieJar } from '../test/helpers/cookie-jar.ts';
import type { SoftPasskey } from '../test/helpers/soft-authenticator.ts';
import { BENCH_CLIENT, BENCH_SCOPE } from './common.ts';
import { exchange, json, latencies, onOrigin, round, StepFailure, type LatencySummary, type Reply, type Target } from './driver.ts';

export type Method = 'password' | 'passkey';

/** A member a virtual user logs in as: number and password, and a passkey (lent to one log-in at a time). */
export type Credentials = { number: string; password: string; passkey: SoftPasskey };

export type OverloadResult = {
  method: Method;
  concurrency: number;
  seconds: number;
  completed: number;
  logInsPerSecond: number;
  /** Requests answered with what they asked for (not refused), every step together. */
  admitted: LatencySummary;
  /** Requests refused with 503 or 429, and how fast the refusals came. */
  refused: LatencySummary & { byStatus: Record<string, number> };
  /** Whole log-ins, from the first request to the token response, refusals and pauses included. */
  logIn: LatencySummary;
  /** Log-ins that ended in anything else, by step and status. */
  failures: Record<string, { count: number; example: string }>;
};

const basicAuth = `Basic ${Buffer.from(`${encodeURIComponent(BENCH_CLIENT.client_id)}:${encodeURIComponent(BENCH_CLIENT.client_secret)}`).toString('base64')}`;
const redirectUri = BENCH_CLIENT.redirect_uris[0]!;

class Recorder {
  readonly admitted: number[] = [];
  readonly refused: number[] = [];
  readonly refusedByStatus: Record<string, number> = {};
  readonly logIns: number[] = [];
  readonly failures: Record<string, { count: number; example: string }> = {};
  completed = 0;
  private readonly from: number;
  private readonly to: number;
  constructor(from: number, to: number) {
    this.from = from;
    this.to = to;
  }
  counts(at: number): boolean {
    return at >= this.from && at <= this.to;
  }
}

type Call = (step: string, method: string, path: string, headers: Record<string, string>, body?: string) => Promise<Reply>;

/** A request that is sent again after every refusal, until it is answered. */
function caller(agent: Agent, target: Target, jar: CookieJar, recorder: Recorder, retryPauseMs: number, until: number): Call {
  return async (step, method, path, headers, body) => {
    for (;;) {
      const cookie = jar.header(path.split('?')[0]!);
      const started = performance.now();
      const reply = await exchange(agent, target, method, path, { ...headers, ...(cookie ? { cookie } : {}) }, body)
        .catch((error: Error) => { throw new StepFailure(step, 'network', error.message); });
      const ended = performance.now();
      jar.store(reply.headers['set-cookie']);
      if (reply.status !== 503 && reply.status !== 429) {
        if (recorder.counts(ended)) recorder.admitted.push(ended - started);
        return reply;
      }
      if (recorder.counts(ended)) {
        recorder.refused.push(ended - started);
        recorder.refusedByStatus[reply.status] = (recorder.refusedByStatus[reply.status] ?? 0) + 1;
      }
      if (ended > until) throw new StepFailure(step, 'run-over', 'still refused when the trial ended');
      await new Promise((resolve) => setTimeout(resolve, retryPauseMs * (0.5 + Math.random())));
    }
  };
}

const expect = (step: string, reply: Reply, status: number) => {
  if (reply.status !== status) throw new StepFailure(step, reply.status, reply.body.slice(0, 200));
};

/** One whole log-in by `method`; resolves once the token response has arrived and looks right. */
async function logIn(call: Call, target: Target, method: Method, member: Credentials): Promise<void> {
  const sameOrigin = { origin: target.issuer, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', accept: 'application/json' };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const query = new URLSearchParams({
    client_id: BENCH_CLIENT.client_id, redirect_uri: redirectUri, response_type: 'code', scope: BENCH_SCOPE, state,
    nonce: randomBytes(16).toString('base64url'), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });

  const authorize = await call('authorize', 'GET', `/auth?${query}`, { accept: 'text/html' });
  expect('authorize', authorize, 303);
  const interaction = onOrigin(target, authorize.headers.location, 'authorize');
  const page = await call('page', 'GET', interaction, { accept: 'text/html' });
  expect('page', page, 200);

  let resumeAt: string;
  if (method === 'password') {
    const csrf = /<input type="hidden" name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!csrf) throw new StepFailure('page', 'no-form', 'no CSRF token in the log-in page');
    const form = new URLSearchParams({ csrf, number: member.number, password: member.password }).toString();
    const posted = await call('login', 'POST', `${interaction}/login`, { ...sameOrigin, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, form);
    expect('login', posted, 303);
    resumeAt = onOrigin(target, posted.headers.location, 'login');
  } else {
    const options = await call('options', 'POST', `${interaction}/passkey/options`, sameOrigin, '');
    expect('options', options, 200);
    const assertion = member.passkey.assert(json(options, 'options'), target.issuer);
    const verified = await call('assertion', 'POST', `${interaction}/passkey`, { ...sameOrigin, 'content-type': 'application/json' }, JSON.stringify(assertion));
    expect('assertion', verified, 200);
    resumeAt = onOrigin(target, json(verified, 'assertion').redirectTo, 'assertion');
  }

  const resume = await call('resume', 'GET', resumeAt, { accept: 'text/html' });
  expect('resume', resume, 303);
  const callback = new URL(resume.headers.location ?? '', target.issuer);
  const code = callback.searchParams.get('code');
  if (!callback.href.startsWith(redirectUri) || !code || callback.searchParams.get('state') !== state) {
    throw new StepFailure('resume', 'bad-callback', `expected the client's redirect_uri with code and state, got ${callback.origin}${callback.pathname}`);
  }
  const token = await call('token', 'POST', '/token', { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString());
  expect('token', token, 200);
  if (typeof json(token, 'token').id_token !== 'string') throw new StepFailure('token', 'no-tokens', 'no id_token');
}

/**
 * `concurrency` virtual users logging in by `method` back to back for warm-up + duration. Each log-in
 * takes a member from `members` (passkey counters must move forward one log-in at a time).
 */
export async function overloadTrial(target: Target, members: Credentials[], options: {
  method: Method; concurrency: number; warmupMs: number; durationMs: number; retryPauseMs: number;
}): Promise<OverloadResult> {
  if (members.length < options.concurrency) throw new Error('fewer members than virtual users');
  const free = [...members];
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const from = performance.now() + options.warmupMs;
  const to = from + options.durationMs;
  const recorder = new Recorder(from, to);

  const user = async () => {
    while (performance.now() < to) {
      const member = free.pop()!;
      const jar = new CookieJar();
      const begun = performance.now();
      try {
        await logIn(caller(agent, target, jar, recorder, options.retryPauseMs, to), target, options.method, member);
        const ended = performance.now();
        if (recorder.counts(ended)) {
          recorder.completed++;
          recorder.logIns.push(ended - begun);
        }
      } catch (error) {
        if (!recorder.counts(performance.now())) continue;
        const key = error instanceof StepFailure ? error.key : 'driver';
        if (key.endsWith('run-over')) continue;
        const entry = (recorder.failures[key] ??= { count: 0, example: String((error as Error)?.message ?? error).slice(0, 300) });
        entry.count++;
      } finally {
        free.unshift(member);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, user));
  agent.destroy();
  const seconds = options.durationMs / 1000;
  return {
    method: options.method,
    concurrency: options.concurrency,
    seconds,
    completed: recorder.completed,
    logInsPerSecond: round(recorder.completed / seconds),
    admitted: latencies(recorder.admitted),
    refused: { ...latencies(recorder.refused), byStatus: recorder.refusedByStatus },
    logIn: latencies(recorder.logIns),
    failures: recorder.failures,
  };
}
