import { randomBytes } from 'node:crypto';

/** The checks an authorization response must pass: PKCE verifier, state and nonce. */
export type PendingLogin = { verifier: string; state: string; nonce: string };

/** What the website remembers about a signed-in member. */
export type SignedIn = {
  sub: string;
  sid: string | undefined;
  idToken: string;
  name: string | undefined;
  memberNumber: string | undefined;
  acr: string | undefined;
  amr: string[];
  authTime: number | undefined;
};

/** The website's server-side session table, keyed by the random value in the browser's cookie. */
export type Sessions = {
  /** Remembers a started log-in under a fresh browser key, which is returned. */
  beginLogin(checks: PendingLogin): string;
  /** The started log-in under `key`, which can be taken only once. */
  takeLogin(key: string | undefined): PendingLogin | undefined;
  /** Remembers a signed-in member under a fresh browser key, which is returned. */
  signIn(session: SignedIn): string;
  find(key: string | undefined): SignedIn | undefined;
  /** Forgets the session under `key` and returns it. */
  end(key: string | undefined): SignedIn | undefined;
  /** Ends the sessions a back-channel logout names; returns how many ended. */
  endMatching(target: { sub: string | undefined; sid: string | undefined }): number;
  /** Remembers that the browser under `key` went to log out at the IdP with `state`. */
  beginLogout(key: string, state: string): void;
  /**
   * True when `state` is the one the browser under `key` went to log out with: the IdP logged the
   * member out. The session under `key` (if the back channel left it) ends now.
   */
  finishLogout(key: string | undefined, state: string): boolean;
};

const LOGIN_TTL_MS = 10 * 60 * 1000;
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

type Entry<T> = { value: T; expiresAt: number };

/** An in-memory session table: enough for a demo relying party with a single process. */
export function createSessions(clock: () => number = Date.now): Sessions {
  const logins = new Map<string, Entry<PendingLogin>>();
  const sessions = new Map<string, Entry<SignedIn>>();
  const logouts = new Map<string, Entry<string>>();

  const live = <T>(table: Map<string, Entry<T>>, key: string | undefined): T | undefined => {
    if (!key) return undefined;
    const entry = table.get(key);
    if (entry && entry.expiresAt > clock()) return entry.value;
    table.delete(key);
    return undefined;
  };
  const put = <T>(table: Map<string, Entry<T>>, value: T, ttl: number): string => {
    for (const [key, entry] of table) if (entry.expiresAt <= clock()) table.delete(key);
    // A new key for every log-in step, so a key known before signing in is worthless afterwards.
    const key = randomBytes(32).toString('base64url');
    table.set(key, { value, expiresAt: clock() + ttl });
    return key;
  };

  return {
    beginLogin: (checks) => put(logins, checks, LOGIN_TTL_MS),
    takeLogin(key) {
      const checks = live(logins, key);
      if (key) logins.delete(key);
      return checks;
    },
    signIn: (session) => put(sessions, session, SESSION_TTL_MS),
    find: (key) => live(sessions, key),
    end(key) {
      const session = live(sessions, key);
      if (key) sessions.delete(key);
      return session;
    },
    endMatching({ sub, sid }) {
      let ended = 0;
      for (const [key, { value }] of sessions) {
        // A logout token with a sid ends that IdP session only; with just a sub, every session of the member.
        const matches = sid && value.sid ? value.sid === sid && (!sub || value.sub === sub) : sub !== undefined && value.sub === sub;
        if (matches) {
          sessions.delete(key);
          ended++;
        }
      }
      return ended;
    },
    beginLogout(key, state) {
      for (const [other, entry] of logouts) if (entry.expiresAt <= clock()) logouts.delete(other);
      logouts.set(key, { value: state, expiresAt: clock() + LOGIN_TTL_MS });
    },
    finishLogout(key, state) {
      const expected = live(logouts, key);
      if (!key || !expected || expected !== state) return false;
      logouts.delete(key);
      sessions.delete(key);
      return true;
    },
  };
}
