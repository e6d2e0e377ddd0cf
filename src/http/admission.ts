import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CookieSigner } from './cookie-signer.ts';
import { HttpError } from './http-error.ts';
import type { RateLimit } from './rate-limit.ts';

export type AdmissionOptions = {
  /** Refuse new sign-ins while the event loop runs this late (mean over the last quarter second). */
  eventLoopDelayMs: number;
  /** Refuse new sign-ins while this many requests are being worked on. */
  maxInFlight: number;
  /** The most requests one client address may have in flight at once, bodies still arriving included. */
  maxInFlightPerAddress: number;
};

/** How often the event-loop delay is read and started over. */
const WINDOW_MS = 250;

/**
 * Admission of requests and of new sign-ins. When the process is saturated, starting a sign-in is
 * refused at once with a 503 (the member sees "Many members are logging in right now"), so that the
 * requests of sign-ins already under way, health checks and token requests keep being answered
 * promptly instead of everyone waiting longer and longer. Saturation is read from the event loop's
 * delay (how late its timers run: what every request waits on top of its own work) and from the
 * requests being worked on.
 *
 * What a request costs decides how it counts. One whose body is still arriving costs a socket and a
 * little memory, and no work: it counts against its own address's share only, never towards the
 * figure that makes the IdP refuse everyone's sign-ins. It is being worked on from when its body has
 * been read (at once, for a request without one) until its response is done. A request over its
 * address's share is refused at once and counts nowhere: one address holding connections, however
 * many, fills its own share and nobody else's. Connections still sending their headers are not
 * requests yet; the server's timeouts close them (http-server.ts).
 */
export function createAdmission(options: AdmissionOptions) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let recentDelayMs = 0;
  let working = 0;
  let waiting = 0;
  const perAddress = new Map<string, number>();
  const window = setInterval(() => {
    recentDelayMs = delay.count > 0 ? delay.mean / 1e6 : 0;
    delay.reset();
  }, WINDOW_MS);
  window.unref();

  return {
    /**
     * Counts `req` as in flight for the address `key` until its response closes; a 429 instead,
     * counted nowhere, when that address already has its share in flight.
     */
    admit(req: IncomingMessage, res: ServerResponse, key: string): HttpError | undefined {
      const held = perAddress.get(key) ?? 0;
      if (held >= options.maxInFlightPerAddress) {
        return new HttpError(429, 'too_many_requests', 'too many requests in flight from this address', { retryAfter: 5, page: 'limited' });
      }
      perAddress.set(key, held + 1);
      let state: 'waiting' | 'working' | 'done' = hasBody(req) ? 'waiting' : 'working';
      if (state === 'waiting') {
        waiting++;
        req.once('end', () => {
          if (state !== 'waiting') return;
          waiting--;
          working++;
          state = 'working';
        });
      } else {
        working++;
      }
      res.once('close', () => {
        if (state === 'waiting') waiting--;
        else if (state === 'working') working--;
        state = 'done';
        const left = (perAddress.get(key) ?? 1) - 1;
        if (left > 0) perAddress.set(key, left);
        else perAddress.delete(key);
      });
      return undefined;
    },
    /** True while the process is saturated: new sign-ins should wait. */
    busy: () => working > options.maxInFlight || recentDelayMs > options.eventLoopDelayMs,
    /** What the decisions are based on now: requests being worked on, requests whose bodies are still arriving, event-loop delay. */
    load: () => ({ inFlight: working, waiting, eventLoopDelayMs: recentDelayMs }),
    close(): void {
      clearInterval(window);
      delay.disable();
    },
  };
}

export type Admission = ReturnType<typeof createAdmission>;

/** The 503 a new sign-in gets while the process is saturated. */
export function busyRefusal(): HttpError {
  return new HttpError(503, 'temporarily_unavailable', 'the IdP is too busy to start a sign-in', { retryAfter: 5, page: 'busy' });
}

/**
 * The id of the IdP session that a request's `_session` cookie names, when the cookie is validly
 * signed; undefined otherwise. A signature proves the IdP once set the cookie, not that the session
 * still exists: a member's logged-out cookie stays validly signed for ever.
 */
export function signedSessionId(req: IncomingMessage, signer: CookieSigner): string | undefined {
  const cookies = cookiesOf(req);
  const session = cookies.get('_session');
  const signature = cookies.get('_session.sig');
  return session && signature && signer.verify(`_session=${session}`, signature) ? session : undefined;
}

/** A 429 for a client address past its budget, or undefined. */
export async function overBudget(limit: RateLimit, key: string, what: string): Promise<HttpError | undefined> {
  const decision = await limit.take(key);
  if (decision.allowed) return undefined;
  return new HttpError(429, 'too_many_requests', `too many ${what} from this address`, { retryAfter: decision.retryAfter, page: 'limited' });
}

/** True when the request announces a body: it is not worked on before that body has been read. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function cookiesOf(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return cookies;
}
