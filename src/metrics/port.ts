/**
 * What the IdP reports for its metrics, as plain calls: the features call these and know nothing of
 * the exposition format (prometheus.ts turns them into Prometheus families). Every argument that
 * becomes a label comes from a fixed set named here, never from a member, an address or a request.
 */
export type Metrics = {
  /** One answered request: its route group (see route-groups.ts), status and duration. */
  request(group: RouteGroup, status: number, seconds: number): void;
  /** A log-in attempt that reached a method: `success` or the failure's code. */
  login(method: LoginMethod, outcome: string): void;
  /** The SMS step of a sign-in: `success`, a refusal's code, or `skipped`. */
  stepUp(outcome: string): void;
  logout(): void;
  /** A passkey added on the account page (`success` or the refusal's code). */
  passkeyRegistration(outcome: string): void;
  passkeyDeletion(): void;
  /** A member's number of passkeys went from `before` to `after` on this instance. */
  passkeysOfMember(before: number, after: number): void;
  /** A step of the passkey offered after a password log-in: `offered`, `accepted`, `registered`, `dismissed` or `skipped`. */
  passkeyOffer(outcome: string): void;
  /** A message the transport accepted, with its length in segments (what carriers bill). */
  smsSent(segments: number): void;
  smsFailed(reason: string): void;
  /** A code or notice not sent because of a limit: `cooldown`, a budget (`member`, `phone`, `ip`, `all`), `locked`, … */
  smsRefused(reason: string): void;
  /** A request refused by a per-address or per-member limit. */
  rateLimited(limit: RateLimitName): void;
  /** A request refused because the IdP was saturated. */
  shed(stage: ShedStage): void;
  /** A signing key file that could not be loaded (the IdP kept the keys it had). */
  signingKeysReloadFailed(): void;
  /** A commit of the embedded store: seconds until its statements were answered, and how many it carried. */
  storeCommit(seconds: number, statements: number): void;
  /** A store commit that failed, or a statement that failed for a reason that may pass (disk full, read-only, I/O). */
  storeFailed(stage: 'commit' | 'statement'): void;
};

export type RouteGroup = 'sign_in' | 'token' | 'userinfo' | 'account' | 'logout' | 'well_known' | 'health' | 'assets' | 'other';
export type LoginMethod = 'password' | 'passkey';
export type RateLimitName = 'signin_starts' | 'passkey_options' | 'password_failures' | 'pushed_requests' | 'in_flight';
export type ShedStage = 'new_signin' | 'password_hashing';

/** Metrics that go nowhere: for collaborators built without a registry (the members tool, unit tests). */
export const noMetrics: Metrics = {
  request() {},
  login() {},
  stepUp() {},
  logout() {},
  passkeyRegistration() {},
  passkeyDeletion() {},
  passkeysOfMember() {},
  passkeyOffer() {},
  smsSent() {},
  smsFailed() {},
  smsRefused() {},
  rateLimited() {},
  shed() {},
  signingKeysReloadFailed() {},
  storeCommit() {},
  storeFailed() {},
};
