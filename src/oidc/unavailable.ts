import Provider, { errors } from 'oidc-provider';
import { storeUnavailable } from '../store/port.ts';

/**
 * The store could not do what this request needs (disk full, read-only, no MongoDB primary):
 * `temporarily_unavailable` with 503 and Retry-After. Never sent back to the relying party's
 * redirect URI: the member sees the "try again" page at the IdP, and can.
 */
export class ServiceUnavailable extends errors.TemporarilyUnavailable {
  readonly retryAfter: number;
  constructor(retryAfter: number, cause: unknown) {
    super('the service cannot complete this right now, please try again in a few minutes', { cause });
    this.status = 503;
    this.statusCode = 503;
    // oidc-provider hides 5xx errors as `server_error` unless exposed; this one is meant for the client.
    this.expose = true;
    this.allow_redirect = false;
    this.retryAfter = retryAfter;
  }
}

/**
 * `error` as oidc-provider should see it: a store failure that may pass becomes ServiceUnavailable
 * (and, inside a provider request, sets Retry-After on the response, which oidc-provider's error
 * handler keeps); anything else is returned as it is.
 */
export function asProviderError(error: unknown): unknown {
  const passing = storeUnavailable(error);
  if (!passing) return error;
  Provider.ctx?.set('Retry-After', String(passing.retryAfter));
  return new ServiceUnavailable(passing.retryAfter, error);
}

/** Runs `operation`, turning a store failure that may pass into ServiceUnavailable. */
export async function passingAsUnavailable<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw asProviderError(error);
  }
}
