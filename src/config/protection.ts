import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { numberSettings } from './parse.ts';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.ts';

/** A bound on one kind of short-lived document: the most held in all, and per owner (a client's network); the store takes it as its KindBounds (store/port.ts). */
export type DocumentBounds = { max: number; perOwner: number };

/** What keeps one client, a wave of bots or a peak from knocking the IdP over. */
export type ProtectionSettings = {
  trustProxy: TrustProxy;
  /** Per client address and minute: sign-ins started without a session, and passkey options asked for. */
  perAddressPerMinute: { signInStarts: number; passkeyOptions: number };
  /** Sign-ins in progress (oidc-provider interactions) and passkey challenges held at once. */
  signIns: DocumentBounds;
  challenges: DocumentBounds & { perSignIn: number };
  /** The password hashing queue: hashes at once, most waiting, and the longest a request may wait. */
  hashing: { concurrency: number; maxQueue: number; maxWaitMs: number };
  /**
   * When new sign-ins are refused for a moment: event-loop delay, or requests being worked on; and
   * the requests one client address may have in flight at once (past it `429`).
   */
  shedding: { eventLoopDelayMs: number; maxInFlight: number; maxInFlightPerAddress: number };
  /** How long the server waits for a request's headers and for the whole request, and keeps an idle connection. */
  server: ServerTimeouts;
  /** Pushed authorization requests (RFC 9126): per client and address and minute, their largest size, and how many are held. */
  pushedRequests: { perClientAndAddressPerMinute: number; maxBytes: number; held: DocumentBounds };
};

/** The HTTP server's timeouts, in seconds. */
export type ServerTimeouts = { headersSeconds: number; requestSeconds: number; keepAliveSeconds: number };

/** The password log-in's defences against guessing, without letting a stranger keep a member out. */
export type LoginLimits = {
  /** Failures on a member number from browsers it has never logged in from, before waits begin. */
  perMember: number;
  /** Failures from a browser the member has logged in from before (its device cookie), before waits begin. */
  perDevice: number;
  /**
   * Attempts that did not succeed (failures, and attempts refused during a wait or a pause) from one
   * client address within `windowSeconds`, before that address is paused for browsers the member never used.
   */
  perIp: number;
  /** Attempts of any outcome (successes and refusals included) from one client address within `windowSeconds`, before it is paused. */
  perAddress: number;
  /** Successful log-ins on one member number (from one browser, once the member used it) within `windowSeconds`, before it is paused. */
  successesPerMember: number;
  windowSeconds: number;
  /** How long a member's failures are remembered (a success forgets them). */
  memorySeconds: number;
  /** The first wait and the longest; each further failure doubles the wait. */
  waitBaseSeconds: number;
  waitMaxSeconds: number;
  /** Failures per minute across all members from which suspect attempts (unknown browser, address with recent failures) wait after every failure. */
  surgePerMinute: number;
  /** How long a browser stays known to a member after a log-in. */
  deviceCookieDays: number;
};

const nonNegativeInt = z.coerce.number().int().min(0);

/** TRUST_PROXY and the budgets, bounds and thresholds of the protection settings. */
export function loadProtection(env: NodeJS.ProcessEnv, problems: string[]): ProtectionSettings {
  const number = numberSettings(env, problems);
  const trust = parseTrustProxy(env.TRUST_PROXY);
  if (typeof trust === 'string') problems.push(trust);
  const signInsMax = number('SIGNINS_IN_PROGRESS_MAX', 50_000);
  const signInsPerAddress = number('SIGNINS_IN_PROGRESS_PER_ADDRESS', 3_000);
  const challengesPerSignIn = number('PASSKEY_CHALLENGES_PER_SIGNIN', 3);
  const maxInFlight = number('SHED_MAX_REQUESTS_IN_FLIGHT', 512);
  // An eighth of the whole by default: it takes at least eight addresses to make the IdP shed.
  const maxInFlightPerAddress = number('SHED_MAX_IN_FLIGHT_PER_ADDRESS', Math.max(1, Math.floor(maxInFlight / 8)));
  if (maxInFlight > 1 && maxInFlightPerAddress >= maxInFlight) {
    problems.push('SHED_MAX_IN_FLIGHT_PER_ADDRESS must be below SHED_MAX_REQUESTS_IN_FLIGHT: otherwise one address alone could make the IdP refuse every new sign-in');
  }
  return {
    trustProxy: typeof trust === 'string' ? { hops: 0 } : trust,
    perAddressPerMinute: {
      signInStarts: number('SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE', 300),
      passkeyOptions: number('PASSKEY_OPTIONS_PER_ADDRESS_PER_MINUTE', 600),
    },
    signIns: { max: signInsMax, perOwner: signInsPerAddress },
    challenges: {
      max: number('PASSKEY_CHALLENGES_MAX', 50_000),
      // An address holds challenges for its own sign-ins: a few each, and a record of which they are.
      perOwner: signInsPerAddress * (challengesPerSignIn + 1),
      perSignIn: challengesPerSignIn,
    },
    hashing: {
      // Password hashes run on libuv's pool (4 threads unless UV_THREADPOOL_SIZE says otherwise). One core is
      // left to the event loop, which must go on answering everything else (refusals included) while
      // the hashes run; more hashes at once than the remaining cores only makes each one slower.
      concurrency: number('PASSWORD_HASH_CONCURRENCY', Math.max(1, Math.min(4, availableParallelism() - 1))),
      maxQueue: number('PASSWORD_HASH_MAX_QUEUE', 64, nonNegativeInt),
      maxWaitMs: number('PASSWORD_HASH_MAX_WAIT_MS', 400),
    },
    shedding: { eventLoopDelayMs: number('SHED_EVENT_LOOP_DELAY_MS', 200), maxInFlight, maxInFlightPerAddress },
    server: loadServerTimeouts(env, problems),
    pushedRequests: {
      perClientAndAddressPerMinute: number('PAR_PER_CLIENT_AND_ADDRESS_PER_MINUTE', 300),
      maxBytes: number('PAR_MAX_BYTES', 4_096),
      // A pushed request lives a minute (oidc-provider's most) and takes up to about 1.4 times its
      // size once stored: a fifth of the sign-ins' bound keeps them within tens of megabytes.
      held: { max: Math.max(1, Math.floor(signInsMax / 5)), perOwner: signInsPerAddress },
    },
  };
}

/** HTTP_*_TIMEOUT_SECONDS: how long the server waits on a client. */
export function loadServerTimeouts(env: NodeJS.ProcessEnv, problems: string[]): ServerTimeouts {
  const number = numberSettings(env, problems);
  const timeouts = {
    headersSeconds: number('HTTP_HEADERS_TIMEOUT_SECONDS', 10),
    requestSeconds: number('HTTP_REQUEST_TIMEOUT_SECONDS', 30),
    keepAliveSeconds: number('HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', 65),
  };
  if (timeouts.requestSeconds < timeouts.headersSeconds) problems.push('HTTP_REQUEST_TIMEOUT_SECONDS must be at least HTTP_HEADERS_TIMEOUT_SECONDS');
  return timeouts;
}

/** LOGIN_*: the password log-in's limits and waits. */
export function loadLoginLimits(env: NodeJS.ProcessEnv, problems: string[]): LoginLimits {
  const number = numberSettings(env, problems);
  const limits = {
    perMember: number('LOGIN_MAX_FAILURES_PER_MEMBER', 5),
    perDevice: number('LOGIN_MAX_FAILURES_PER_DEVICE', 10),
    perIp: number('LOGIN_MAX_FAILURES_PER_IP', 30),
    perAddress: number('LOGIN_MAX_ATTEMPTS_PER_ADDRESS', 3_000),
    successesPerMember: number('LOGIN_MAX_SUCCESSES_PER_MEMBER', 20),
    windowSeconds: number('LOGIN_FAILURE_WINDOW_SECONDS', 900),
    memorySeconds: number('LOGIN_FAILURE_MEMORY_SECONDS', 43_200),
    waitBaseSeconds: number('LOGIN_WAIT_BASE_SECONDS', 30),
    waitMaxSeconds: number('LOGIN_WAIT_MAX_SECONDS', 900),
    surgePerMinute: number('LOGIN_SURGE_FAILURES_PER_MINUTE', 1_000),
    deviceCookieDays: number('DEVICE_COOKIE_DAYS', 180),
  };
  if (limits.waitMaxSeconds < limits.waitBaseSeconds) problems.push('LOGIN_WAIT_MAX_SECONDS must be at least LOGIN_WAIT_BASE_SECONDS');
  if (limits.memorySeconds < limits.waitMaxSeconds) problems.push('LOGIN_FAILURE_MEMORY_SECONDS must be at least LOGIN_WAIT_MAX_SECONDS');
  return limits;
}
