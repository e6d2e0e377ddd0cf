import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CookieSigner } from './cookie-signer.ts';
import { HttpError } from './http-error.ts';
import type { RateLimit } from './rate-limit.ts';

export type AdmissionOptions = {
  /** Refuse new sign-ins while the event loop runs this late (mean over the last quarter second). */
  eventLoopDelayMs: number;
  /** Refuse new sign-ins while this many requests are being answered. */
  maxInFlight: number;
};

/** How often the event-loop delay is read and started over. */
const WINDOW_MS = 250;

/**
 * Admission of new sign-ins. When the process is saturated, starting a sign-in is refused at once
 * with a 503 (the member sees "Many members are logging in right now"), so that the requests of
 * sign-ins already under way, health checks and token requests keep being answered promptly instead
 * of everyone waiting longer and longer. Saturation is read from the event loop's delay (how late
 * its timers run: what every request waits on top of its own work) and from the requests in flight.
 */
export function createAdmission(options: AdmissionOptions) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let recentDelayMs = 0;
  let inFlight = 0;
  const window = setInterval(() => {
    recentDelayMs = delay.count > 0 ? delay.mean / 1e6 : 0;
    delay.reset();
  }, WINDOW_MS);
  window.unref();

  return {
    /** Counts `res` as in flight until it closes. */
    track(res: ServerResponse): void {
      inFlight++;
      res.once('close', () => inFlight--);
    },
    /** A 503 to answer a new sign-in with while the process is saturated; undefined when it may start. */
    refusal(): HttpError | undefined {
      if (inFlight <= options.maxInFlight && recentDelayMs <= options.eventLoopDelayMs) return undefined;
      return new HttpError(503, 'temporarily_unavailable', 'the IdP is too busy to start a sign-in', { retryAfter: 5, page: 'busy' });
    },
    /** What the decision is based on now. */
    load: () => ({ inFlight, eventLoopDelayMs: recentDelayMs }),
    close(): void {
      clearInterval(window);
      delay.disable();
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;

/**
 * True for a request that starts a sign-in without an IdP session: an authorization request (not
 * its resumption at `/auth/<uid>`) from a browser without a validly signed session cookie. Such a
 * request creates state (an interaction) without proving anything. A browser with a session usually
 * returns to the relying party at once.
 */
export function startsSignIn(req: IncomingMessage, path: string, signer: CookieSigner): boolean {
  if (path !== '/auth' || (req.method !== 'GET' && req.method !== 'POST')) return false;
  const cookies = cookiesOf(req);
  const session = cookies.get('_session');
  const signature = cookies.get('_session.sig');
  return !(session && signature && signer.verify(`_session=${session}`, signature));
}

/** A 429 for a client address past its budget, or undefined. */
export function overBudget(limit: RateLimit, key: string, what: string): HttpError | undefined {
  const decision = limit.take(key);
  if (decision.allowed) return undefined;
  return new HttpError(429, 'too_many_requests', `too many ${what} from this address`, { retryAfter: decision.retryAfter, page: 'limited' });
}

function cookiesOf(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return cookies;
}
