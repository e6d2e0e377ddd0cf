import type { Member, Members } from '../store/port.ts';

/** The members one request has read, by id: each read's promise, shared by every later reader. */
export type MemberReads = Map<string, Promise<Member | undefined>>;

/**
 * `members`, with each member read by id at most once per request: what oidc-provider's findAccount,
 * the log-in methods and the passkey offer read while serving one request is one read of the store.
 * `readsOf` gives the reads of the request being served (undefined outside one: every read then goes
 * to the store), so nothing here knows how requests are served. Nothing is kept past its request: a
 * member changed by another request is read afresh by the next one. A change made through this object
 * is seen by the rest of its own request; a read that failed is tried again by the next reader.
 */
export function memoizeMemberReads(members: Members, readsOf: () => MemberReads | undefined): Members {
  return {
    create: (member) => members.create(member),
    findByNumber: (number) => members.findByNumber(number),
    list: (options) => members.list(options),
    findById(id) {
      const reads = readsOf();
      if (!reads) return members.findById(id);
      let read = reads.get(id);
      if (!read) {
        read = members.findById(id);
        reads.set(id, read);
        read.catch(() => {
          if (reads.get(id) === read) reads.delete(id);
        });
      }
      return read;
    },
    async update(id, changes) {
      const reads = readsOf();
      reads?.delete(id);
      const updated = members.update(id, changes);
      reads?.set(id, updated);
      updated.catch(() => {
        if (reads?.get(id) === updated) reads.delete(id);
      });
      return updated;
    },
  };
}
