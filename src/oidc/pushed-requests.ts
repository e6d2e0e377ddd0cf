import Provider, { errors, type Adapter } from 'oidc-provider';
import { limitKeyOf } from '../http/client-address.ts';
import type { RateLimit } from '../http/rate-limit.ts';
import { changingModel } from './adapter.ts';
import { passingAsUnavailable } from './unavailable.ts';

/** RFC 9126 2.3: "429 Too Many Requests: If the number of requests from a client during a particular time period exceeds the number the authorization server allows". */
class TooManyPushedRequests extends errors.InvalidRequest {
  constructor() {
    super('too many pushed authorization requests from this client and address, please try again later');
    this.status = 429;
    this.statusCode = 429;
  }
}

/**
 * oidc-provider's adapter factory with a budget on pushed authorization requests: storing one takes a
 * token from the bucket of its client and client address (IPv6: its /64), checked where a request
 * becomes a row, after the client has been authenticated and the request validated, so that only
 * what would be stored counts and a made-up client id opens no bucket. Past it, `429` with
 * Retry-After and nothing stored. The request's size is capped before it is read (body-limits.ts).
 */
export function budgetPushedRequests(factory: (model: string) => Adapter, limit: RateLimit, clientAddress: () => string | undefined): (model: string) => Adapter {
  return changingModel(factory, 'PushedAuthorizationRequest', (adapter) => ({
    ...adapter,
    async upsert(id, payload, expiresIn) {
      const ctx = Provider.ctx;
      const key = `${ctx?.oidc?.client?.clientId ?? ''} ${limitKeyOf(clientAddress() ?? '')}`;
      // Counted in the store where it is shared: a store that cannot count answers 503, as the write would.
      const decision = await passingAsUnavailable(async () => limit.take(key));
      if (!decision.allowed) {
        ctx?.set('Retry-After', String(decision.retryAfter));
        throw new TooManyPushedRequests();
      }
      await adapter.upsert(id, payload, expiresIn);
    },
  }));
}
