import type { Clock, ExpiringDocuments, Payload } from './port.ts';

type Entry = { kind: string; json: string; expiresAt: number | undefined; consumedAt: number | undefined };

export type MemoryDocumentsOptions = {
  /** Most documents held; past it the oldest written are dropped first. */
  limit: number;
};

/**
 * Expiring documents in this process's memory, for state that lives minutes and is only ever
 * needed by the process that made it. Payloads are kept as JSON, so callers never share objects
 * with the store. Bounded: past `limit` the oldest written go first. The by-uid, by-user-code and
 * by-grant lookups scan; no short-lived kind uses them.
 */
export function createMemoryDocuments(clock: Clock, options: MemoryDocumentsOptions): ExpiringDocuments & { size(): number } {
  const entries = new Map<string, Entry>();
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

  return {
    async upsert(kind, id, payload, expiresAt) {
      const key = keyOf(kind, id);
      // Re-inserted so that the map's order stays the order of last writes.
      entries.delete(key);
      entries.set(key, { kind, json: JSON.stringify(payload), expiresAt: expiresAt?.getTime(), consumedAt: undefined });
      while (entries.size > options.limit) entries.delete(entries.keys().next().value!);
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
      entries.delete(keyOf(kind, id));
    },
    async revokeByGrantId(kind, grantId) {
      for (const [key, entry] of entries) {
        if (entry.kind === kind && (JSON.parse(entry.json) as Payload).grantId === grantId) entries.delete(key);
      }
    },
    async take(kind, id) {
      const key = keyOf(kind, id);
      const entry = entries.get(key);
      entries.delete(key);
      return live(entry) ? read(entry) : undefined;
    },
    async prune() {
      let pruned = 0;
      for (const [key, entry] of entries) {
        if (!live(entry)) {
          entries.delete(key);
          pruned++;
        }
      }
      return pruned;
    },
    size: () => entries.size,
  };
}

/** Documents of a kind in `inMemory` go to that kind's own memory documents, every other kind to `durable`. */
export function splitDocuments(durable: ExpiringDocuments, inMemory: ReadonlyMap<string, ExpiringDocuments>): ExpiringDocuments {
  const pick = (kind: string) => inMemory.get(kind) ?? durable;
  return {
    upsert: (kind, id, payload, expiresAt) => pick(kind).upsert(kind, id, payload, expiresAt),
    find: (kind, id) => pick(kind).find(kind, id),
    findByUid: (kind, uid) => pick(kind).findByUid(kind, uid),
    findByUserCode: (kind, userCode) => pick(kind).findByUserCode(kind, userCode),
    consume: (kind, id) => pick(kind).consume(kind, id),
    destroy: (kind, id) => pick(kind).destroy(kind, id),
    revokeByGrantId: (kind, grantId) => pick(kind).revokeByGrantId(kind, grantId),
    take: (kind, id) => pick(kind).take(kind, id),
    async prune() {
      const counts = await Promise.all([durable.prune(), ...[...inMemory.values()].map((documents) => documents.prune())]);
      return counts.reduce((sum, count) => sum + count, 0);
    },
  };
}
