type Held = { key: string; arrival: number; share: Share; older: Held | undefined; newer: Held | undefined };
type Share = { owner: string; count: number; oldest: Held | undefined; newest: Held | undefined; at: number };

/**
 * Which keys each owner holds, in the order they arrived, and which key goes when a bound is
 * reached. Past its own share an owner loses its oldest (`oldestOf`). Past the bound in all
 * (`toEvict`), the owner holding the most loses its most recent arrival; between owners holding the
 * same, the one with the most recent arrival loses. So a flood, from one network or from many holding
 * one each, pushes out its own newest arrivals and never what members started before it.
 *
 * Each step is O(1) or O(log owners): every owner's keys form a list in arrival order, and the owners
 * a binary heap ordered by (keys held, most recent arrival).
 */
export function createOwnerShares() {
  const held = new Map<string, Held>();
  const shares = new Map<string, Share>();
  const heap: Share[] = [];
  let arrivals = 0;

  const above = (a: Share, b: Share) => a.count > b.count || (a.count === b.count && a.newest!.arrival > b.newest!.arrival);
  const place = (share: Share, at: number) => {
    heap[at] = share;
    share.at = at;
  };
  const up = (share: Share) => {
    let at = share.at;
    while (at > 0) {
      const parent = heap[(at - 1) >> 1]!;
      if (!above(share, parent)) break;
      place(parent, at);
      at = (at - 1) >> 1;
    }
    place(share, at);
  };
  const down = (share: Share) => {
    let at = share.at;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const child = left + 1 < heap.length && above(heap[left + 1]!, heap[left]!) ? left + 1 : left;
      if (!above(heap[child]!, share)) break;
      place(heap[child]!, at);
      at = child;
    }
    place(share, at);
  };
  const leave = (share: Share) => {
    const last = heap.pop()!;
    shares.delete(share.owner);
    if (last === share) return;
    place(last, share.at);
    up(last);
    down(last);
  };

  return {
    /** Notes `key` as the newest arrival of `owner`; a key already held keeps its owner and place. */
    add(owner: string, key: string): void {
      if (held.has(key)) return;
      let share = shares.get(owner);
      if (!share) {
        share = { owner, count: 0, oldest: undefined, newest: undefined, at: heap.length };
        shares.set(owner, share);
        heap.push(share);
      }
      const entry: Held = { key, arrival: ++arrivals, share, older: share.newest, newer: undefined };
      if (share.newest) share.newest.newer = entry;
      else share.oldest = entry;
      share.newest = entry;
      share.count++;
      held.set(key, entry);
      up(share);
    },
    /** Forgets `key`, whoever held it. */
    remove(key: string): void {
      const entry = held.get(key);
      if (!entry) return;
      held.delete(key);
      const { share } = entry;
      if (entry.older) entry.older.newer = entry.newer;
      else share.oldest = entry.newer;
      if (entry.newer) entry.newer.older = entry.older;
      else share.newest = entry.older;
      share.count--;
      if (share.count === 0) leave(share);
      else down(share);
    },
    /** How many keys `owner` holds. */
    count: (owner: string): number => shares.get(owner)?.count ?? 0,
    /** The key `owner` has held longest. */
    oldestOf: (owner: string): string | undefined => shares.get(owner)?.oldest?.key,
    /** The key to let go when the bound in all is reached: the most recent arrival of the owner holding the most. */
    toEvict: (): string | undefined => heap[0]?.newest?.key,
  };
}
