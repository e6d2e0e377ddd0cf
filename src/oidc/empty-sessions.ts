import type { Adapter } from 'oidc-provider';
import { changingModel } from './adapter.ts';

/** How long the secret of a log-out asked for without a session is kept: its form submits itself at once. */
const LOGOUT_ONLY_SECONDS = 10 * 60;

/**
 * oidc-provider's adapter factory, writing no Session that carries nothing. oidc-provider saves the
 * session of every request that arrives with a session cookie it cannot find (a logged-out member's,
 * an expired one), as an empty session under a fresh id, for the cookie's sake: each such request
 * would leave a row for the session's lifetime (two weeks). A session with no member logged in and
 * no log-out in progress holds nothing a later request could use, so it is not written; the
 * browser's next request finds no session, as it would have found an empty one. A session that
 * holds only a log-out in progress (`state`: the log-out form's secret, written for every log-out
 * asked for, cookie or not) is kept for minutes, not weeks.
 */
export function withoutEmptySessions(factory: (model: string) => Adapter): (model: string) => Adapter {
  return changingModel(factory, 'Session', (adapter) => ({
    ...adapter,
    async upsert(id, payload, expiresIn) {
      if (payload.accountId !== undefined) return adapter.upsert(id, payload, expiresIn);
      if (payload.state === undefined) return;
      await adapter.upsert(id, payload, Math.min(expiresIn ?? LOGOUT_ONLY_SECONDS, LOGOUT_ONLY_SECONDS));
    },
  }));
}
