import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Clock, ExpiringDocuments } from '../store/port.ts';
import { passingAsUnavailable } from './unavailable.ts';

// The models whose records carry a grantId and are revoked together (oidc-provider's revoke helper).
const GRANTABLE = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode'];

/** Revokes a grant and everything issued under it: codes, access and refresh tokens. */
export async function revokeGrant(documents: ExpiringDocuments, grantId: string): Promise<void> {
  await Promise.all([...GRANTABLE.map((kind) => documents.revokeByGrantId(kind, grantId)), documents.destroy('Grant', grantId)]);
}

/**
 * oidc-provider's adapter factory over the store's expiring documents. `ownerOf` names the owner of
 * what the request being served writes (its client's network), so that it counts against that share.
 * A store failure that may pass reaches oidc-provider as ServiceUnavailable (503,
 * `temporarily_unavailable`), not as a server error.
 */
export function createOidcAdapter(documents: ExpiringDocuments, clock: Clock, ownerOf: () => string | undefined = () => undefined): (model: string) => Adapter {
  const resumed = resumedInteractions();
  return (model) => guarded(adapterFor(model, documents, clock, ownerOf, resumed));
}

/**
 * Sign-ins in progress that the request being served took at its resume. oidc-provider's resume
 * reads the Interaction and, unless the log-in turned out to be for another account than the
 * browser's session (then it writes it again), deletes it before going on: read and delete are one
 * step (one DELETE … RETURNING on a database), and the delete that follows has nothing left to do.
 */
function resumedInteractions() {
  const taken = new WeakMap<object, Set<string>>();
  const request = () => Provider.ctx as { oidc?: { route?: string } } | undefined;
  return {
    /** True while serving oidc-provider's resume (the end of an authorization or a device flow). */
    resuming: () => /(^|_)resume$/.test(request()?.oidc?.route ?? ''),
    took(id: string) {
      const ctx = request();
      if (ctx) taken.set(ctx, (taken.get(ctx) ?? new Set()).add(id));
    },
    /** Forgets `id` for this request; true when it had been taken (so there is nothing to delete). */
    release: (id: string) => taken.get(request() ?? {})?.delete(id) ?? false,
  };
}

/** The adapter with every method's store failures translated. */
function guarded(adapter: Adapter): Adapter {
  const methods = Object.entries(adapter).map(([name, method]) => [name, (...args: unknown[]) =>
    passingAsUnavailable(() => (method as (...a: unknown[]) => Promise<unknown>)(...args))]);
  return Object.fromEntries(methods) as Adapter;
}

function adapterFor(model: string, documents: ExpiringDocuments, clock: Clock, ownerOf: () => string | undefined, resumed: ReturnType<typeof resumedInteractions>): Adapter {
  const interaction = model === 'Interaction';
  return ({
    async upsert(id, payload, expiresIn) {
      // Written again after the resume took it: a later destroy must delete it.
      if (interaction) resumed.release(id);
      const expiresAt = expiresIn ? new Date(clock() + expiresIn * 1000) : undefined;
      await documents.upsert(model, id, payload as Record<string, unknown>, expiresAt, ownerOf());
    },
    async find(id) {
      if (interaction && resumed.resuming()) {
        const payload = await documents.take(model, id);
        if (payload) resumed.took(id);
        return payload as AdapterPayload | undefined;
      }
      return (await documents.find(model, id)) as AdapterPayload | undefined;
    },
    async findByUid(uid) {
      return (await documents.findByUid(model, uid)) as AdapterPayload | undefined;
    },
    async findByUserCode(userCode) {
      return (await documents.findByUserCode(model, userCode)) as AdapterPayload | undefined;
    },
    async consume(id) {
      if (await documents.consume(model, id)) return;
      // Another request redeemed the same code or refresh token between its read and this write:
      // treat it exactly like a sequential reuse, revoking everything the grant issued.
      const payload = await documents.find(model, id);
      const grantId = typeof payload?.grantId === 'string' ? payload.grantId : undefined;
      if (grantId) {
        await revokeGrant(documents, grantId);
      }
      throw new errors.InvalidGrant(`${model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    },
    async destroy(id) {
      if (interaction && resumed.release(id)) return;
      await documents.destroy(model, id);
    },
    async revokeByGrantId(grantId) {
      await documents.revokeByGrantId(model, grantId);
    },
  });
}

/** oidc-provider's adapter factory with `model`'s adapter changed by `change`; every other model's as it was. */
export function changingModel(factory: (model: string) => Adapter, model: string, change: (adapter: Adapter) => Adapter): (model: string) => Adapter {
  return (name) => {
    const adapter = factory(name);
    return name === model ? change(adapter) : adapter;
  };
}
