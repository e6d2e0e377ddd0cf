import { createOwnerShares } from './owner-shares.ts';
import type { Clock, ExpiringDocuments, KindBounds, Payload } from './port.ts';

type Entry = { kind: string; json: string; expiresAt: number | undefined; consumedAt: number | undefined; owner: string };

/**
 * Expiring documents in this process's memory, for state that lives minutes and is only ever
 * needed by the process that made it. Payloads are kept as JSON, so callers never share objects
 * with the store. Bounded (KindBounds, owner-shares.ts): an owner past `perOwner` loses its own
 * oldest, and past `max` in all the owner holding the most loses its most recent arrival (between
 * owners holding the same, the one that arrived last), so a flood pushes out its own sign-ins, never
 * one a member started before it. A document belongs to the owner that first wrote it and keeps its
 * place when written again. The by-uid, by-user-code and by-grant lookups scan; no short-lived kind
 * uses them.
 */
export function createMemoryDocuments(clock: Clock, bounds: KindBounds): ExpiringDocuments & InMemoryStats {
  const entries = new Map<string, Entry>();
  let evicted = 0;
  const owners = createOwnerShares();
  const keyOf = (kind: string, id: string) => `${kind}\u0000${id}`;
  const live = (entry: Entry | undefined): entry is Entry => entry !== undefined && (entry.expiresAt === undefined || entry.expiresAt > clock());
  const read = (entry: Entry): Payload => {
    const payload = JSON.parse(entry.json) as Payload;
    if (entry.consumedAt !== undefined) payload.consumed = entry.consumedAt;
    return payload;
  };
  const findBy = (kind: string, field: string, value: string) => {
    for (const entry of entries.values()) {
      if (entry.kind !== kind || !live(entry)) continue;
      const payload = read(entry);
      if (payload[field] === value) return payload;
    }
    return undefined;
  };
  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    entries.delete(key);
    owners.remove(key);
    return entry;
  };

  const upsert = (kind: string, id: string, payload: Payload, expiresAt: Date | undefined, owner = '') => {
    const key = keyOf(kind, id);
    // Written already expired: absent to every read, so it goes now rather than hold a place in the
    // bound until the next prune.
    if (expiresAt !== undefined && expiresAt.getTime() <= clock()) {
      remove(key);
      return;
    }
    const existing = entries.get(key);
    // Written again (a sign-in's next step): still its first owner's, in its place among what that
    // owner holds. Only an arrival can push anything out.
    if (live(existing)) {
      entries.set(key, { kind, json: JSON.stringify(payload), expiresAt: expiresAt?.getTime(), consumedAt: undefined, owner: existing.owner });
      return;
    }
    remove(key);
    entries.set(key, { kind, json: JSON.stringify(payload), expiresAt: expiresAt?.getTime(), consumedAt: undefined, owner });
    owners.add(owner, key);
    if (owners.count(owner) > bounds.perOwner) {
      remove(owners.oldestOf(owner)!);
      evicted++;
    }
    while (entries.size > bounds.max) {
      remove(owners.toEvict()!);
      evicted++;
    }
  };

  return {
    async upsert(kind, id, payload, expiresAt, owner) {
      upsert(kind, id, payload, expiresAt, owner);
    },
    async listByIdPrefix(kind, prefix, limit) {
      const found: { id: string; payload: Payload }[] = [];
      const start = keyOf(kind, prefix);
      for (const [key, entry] of entries) {
        if (key.startsWith(start) && live(entry)) found.push({ id: key.slice(kind.length + 1), payload: read(entry) });
      }
      return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
    },
    async update(kind, id, change, owner) {
      const entry = entries.get(keyOf(kind, id));
      const next = change(live(entry) ? read(entry) : undefined);
      if (next) upsert(kind, id, next.payload, next.expiresAt, owner ?? entry?.owner);
    },
    async find(kind, id) {
      const entry = entries.get(keyOf(kind, id));
      return live(entry) ? read(entry) : undefined;
    },
    async findByUid(kind, uid) {
      return findBy(kind, 'uid', uid);
    },
    async findByUserCode(kind, userCode) {
      return findBy(kind, 'userCode', userCode);
    },
    async consume(kind, id) {
      const entry = entries.get(keyOf(kind, id));
      if (!live(entry) || entry.consumedAt !== undefined) return false;
      entry.consumedAt = Math.floor(clock() / 1000);
      return true;
    },
    async destroy(kind, id) {
      remove(keyOf(kind, id));
    },
    async revokeByGrantId(kind, grantId) {
      for (const [key, entry] of entries) {
        if (entry.kind === kind && (JSON.parse(entry.json) as Payload).grantId === grantId) remove(key);
      }
    },
    async take(kind, id) {
      const entry = remove(keyOf(kind, id));
      return live(entry) ? read(entry) : undefined;
    },
    async prune() {
      let pruned = 0;
      for (const [key, entry] of entries) {
        if (!live(entry)) {
          remove(key);
          pruned++;
        }
      }
      return pruned;
    },
    size: () => entries.size,
    evicted: () => evicted,
  };
}

/** What memory documents report for the metrics: documents held now, and how many bounds pushed out since start. */
export type InMemoryStats = { size(): number; evicted(): number };

/** Documents of a kind in `inMemory` go to that kind's own memory documents, every other kind to `durable`. */
export function splitDocuments(durable: ExpiringDocuments, inMemory: ReadonlyMap<string, ExpiringDocuments>): ExpiringDocuments {
  const pick = (kind: string) => inMemory.get(kind) ?? durable;
  return {
    upsert: (kind, id, payload, expiresAt, owner) => pick(kind).upsert(kind, id, payload, expiresAt, owner),
    find: (kind, id) => pick(kind).find(kind, id),
    findByUid: (kind, uid) => pick(kind).findByUid(kind, uid),
    findByUserCode: (kind, userCode) => pick(kind).findByUserCode(kind, userCode),
    consume: (kind, id) => pick(kind).consume(kind, id),
    destroy: (kind, id) => pick(kind).destroy(kind, id),
    revokeByGrantId: (kind, grantId) => pick(kind).revokeByGrantId(kind, grantId),
    take: (kind, id) => pick(kind).take(kind, id),
    update: (kind, id, change, owner) => pick(kind).update(kind, id, change, owner),
    listByIdPrefix: (kind, prefix, limit) => pick(kind).listByIdPrefix(kind, prefix, limit),
    async prune() {
      const counts = await Promise.all([durable.prune(), ...[...inMemory.values()].map((documents) => documents.prune())]);
      return counts.reduce((sum, count) => sum + count, 0);
    },
  };
}
