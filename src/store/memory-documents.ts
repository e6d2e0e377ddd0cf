import type { Clock, ExpiringDocuments, KindBounds, Payload } from './port.ts';

type Entry = { kind: string; json: string; expiresAt: number | undefined; consumedAt: number | undefined; owner: string };

/**
 * Expiring documents in this process's memory, for state that lives minutes and is only ever
 * needed by the process that made it. Payloads are kept as JSON, so callers never share objects
 * with the store. Bounded (KindBounds): an owner past `perOwner` loses its own oldest, and past
 * `max` in all the oldest of whichever owner holds the most goes, so a flood from one address
 * pushes out that address's sign-ins, never a member's. The by-uid, by-user-code and by-grant
 * lookups scan; no short-lived kind uses them.
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
    owners.remove(entry.owner, key);
    return entry;
  };

  const upsert = (kind: string, id: string, payload: Payload, expiresAt: Date | undefined, owner = '') => {
    const key = keyOf(kind, id);
    // Re-inserted so that the order is the order of last writes.
    remove(key);
    entries.set(key, { kind, json: JSON.stringify(payload), expiresAt: expiresAt?.getTime(), consumedAt: undefined, owner });
    owners.add(owner, key);
    if (owners.count(owner) > bounds.perOwner) {
      remove(owners.oldestOf(owner)!);
      evicted++;
    }
    while (entries.size > bounds.max) {
      remove(owners.oldestOfHeaviest()!);
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
    async update(kind, id, change) {
      const entry = entries.get(keyOf(kind, id));
      const next = change(live(entry) ? read(entry) : undefined);
      if (next) upsert(kind, id, next.payload, next.expiresAt, entry?.owner);
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

/**
 * Which keys each owner holds, oldest first, and which owner holds the most, each step O(1): owners
 * are kept in buckets by how many they hold.
 */
function createOwnerShares() {
  const keys = new Map<string, Set<string>>();
  const byCount = new Map<number, Set<string>>();
  let most = 0;
  const move = (owner: string, from: number, to: number) => {
    const bucket = byCount.get(from);
    bucket?.delete(owner);
    if (bucket?.size === 0) byCount.delete(from);
    if (to > 0) {
      let target = byCount.get(to);
      if (!target) byCount.set(to, (target = new Set()));
      target.add(owner);
    }
    if (to > most) most = to;
    while (most > 0 && !byCount.has(most)) most--;
  };
  return {
    add(owner: string, key: string) {
      let held = keys.get(owner);
      if (!held) keys.set(owner, (held = new Set()));
      held.add(key);
      move(owner, held.size - 1, held.size);
    },
    remove(owner: string, key: string) {
      const held = keys.get(owner);
      if (!held?.delete(key)) return;
      move(owner, held.size + 1, held.size);
      if (held.size === 0) keys.delete(owner);
    },
    count: (owner: string) => keys.get(owner)?.size ?? 0,
    oldestOf: (owner: string) => keys.get(owner)?.values().next().value,
    oldestOfHeaviest() {
      const owner = byCount.get(most)?.values().next().value;
      return owner === undefined ? undefined : keys.get(owner)?.values().next().value;
    },
  };
}

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
    update: (kind, id, change) => pick(kind).update(kind, id, change),
    listByIdPrefix: (kind, prefix, limit) => pick(kind).listByIdPrefix(kind, prefix, limit),
    async prune() {
      const counts = await Promise.all([durable.prune(), ...[...inMemory.values()].map((documents) => documents.prune())]);
      return counts.reduce((sum, count) => sum + count, 0);
    },
  };
}
