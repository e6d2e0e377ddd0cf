import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseTrustProxy, type TrustProxy } from '../http/client-address.ts';
import type { KindBounds } from '../store/port.ts';
import { parse, positiveInt } from './parse.ts';

/** What keeps one client, a wave of bots or a peak from knocking the IdP over. */
export type ProtectionSettings = {
  trustProxy: TrustProxy;
  /** Per client address and minute: sign-ins started without a session, and passkey options asked for. */
  perAddressPerMinute: { signInStarts: number; passkeyOptions: number };
  /** Sign-ins in progress (oidc-provider interactions) and passkey challenges held at once. */
  signIns: KindBounds;
  challenges: KindBounds & { perSignIn: number };
  /** The password hashing queue: hashes at once, most waiting, and the longest a request may wait. */
  hashing: { concurrency: number; maxQueue: number; maxWaitMs: number };
  /** When new sign-ins are refused for a moment: event-loop delay, or requests in flight. */
  shedding: { eventLoopDelayMs: number; maxInFlight: number };
};

/** The password log-in's defences against guessing, without letting a stranger keep a member out. */
export type LoginLimits = {
  /** Failures on a member number from browsers it has never logged in from, before waits begin. */
  perMember: number;
  /** Failures from a browser the member has logged in from before (its device cookie), before waits begin. */
  perDevice: number;
  /** Failures from one client address within `windowSeconds`, before that address is paused. */
  perIp: number;
  windowSeconds: number;
  /** How long a member's failures are remembered (a success forgets them). */
  memorySeconds: number;
  /** The first wait and the longest; each further failure doubles the wait. */
  waitBaseSeconds: number;
  waitMaxSeconds: number;
  /** Failures per minute across all members from which unknown browsers wait after every failure. */
  surgePerMinute: number;
  /** How long a browser stays known to a member after a log-in. */
  deviceCookieDays: number;
};

const nonNegativeInt = z.coerce.number().int().min(0);

/** TRUST_PROXY and the budgets, bounds and thresholds of the protection settings. */
export function loadProtection(env: NodeJS.ProcessEnv, problems: string[]): ProtectionSettings {
  const number = (name: string, fallback: number, schema: z.ZodType<number> = positiveInt) =>
    parse(name, env[name] ?? String(fallback), schema, problems) ?? fallback;
  const trust = parseTrustProxy(env.TRUST_PROXY);
  if (typeof trust === 'string') problems.push(trust);
  const signInsPerAddress = number('SIGNINS_IN_PROGRESS_PER_ADDRESS', 3_000);
  const challengesPerSignIn = number('PASSKEY_CHALLENGES_PER_SIGNIN', 3);
  return {
    trustProxy: typeof trust === 'string' ? { hops: 0 } : trust,
    perAddressPerMinute: {
      signInStarts: number('SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE', 300),
      passkeyOptions: number('PASSKEY_OPTIONS_PER_ADDRESS_PER_MINUTE', 600),
    },
    signIns: { max: number('SIGNINS_IN_PROGRESS_MAX', 50_000), perOwner: signInsPerAddress },
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
    shedding: {
      eventLoopDelayMs: number('SHED_EVENT_LOOP_DELAY_MS', 200),
      maxInFlight: number('SHED_MAX_REQUESTS_IN_FLIGHT', 512),
    },
  };
}

/** LOGIN_*: the password log-in's limits and waits. */
export function loadLoginLimits(env: NodeJS.ProcessEnv, problems: string[]): LoginLimits {
  const number = (name: string, fallback: number) => parse(name, env[name] ?? String(fallback), positiveInt, problems) ?? fallback;
  const limits = {
    perMember: number('LOGIN_MAX_FAILURES_PER_MEMBER', 5),
    perDevice: number('LOGIN_MAX_FAILURES_PER_DEVICE', 10),
    perIp: number('LOGIN_MAX_FAILURES_PER_IP', 30),
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
