import type { Context } from 'koa';
import Provider from 'oidc-provider';
import type { Logger } from '../log.ts';
import type { AuditLog, Clock, ExpiringDocuments } from '../store/port.ts';
import { describeUserAgent } from '../auth/user-agent.ts';
import { revokeGrant } from './adapter.ts';

/** One place a member is logged in: a browser's IdP session. */
export type MemberSession = {
  /** The session's stable id (oidc-provider's `uid`; its `jti` changes at every log-in). */
  uid: string;
  userAgent: string | undefined;
  ip: string | undefined;
  startedAt: Date;
  lastActiveAt: Date;
};

type Entry = { uid: string; userAgent?: string; ip?: string; startedAt: number; lastActiveAt: number };

/** Who ended a session, for the audit trail. */
export type Ender = { by: 'member'; ip: string; userAgent?: string } | { by: 'operator'; operator: string; reason?: string };

/** One document per session, id `<member id>/<session uid>`, kept as long as the session. */
const KIND = 'MemberSession';
/** Where the list of a member's sessions was one document (id: the member id) before. */
const LEGACY_KIND = 'MemberSessions';
/** Sessions read per member at once. */
const READ_AT_MOST = 1000;
/** Last activity is written at most this often per session. */
const ACTIVITY_STEP_MS = 60_000;

const entryId = (memberId: string, uid: string) => `${memberId}/${uid}`;

/**
 * Where each member is logged in. The sessions themselves are oidc-provider's; this keeps, per
 * session, a small record of its member, browser, address and times, written whenever the session is
 * saved and kept as long as the session. Every live session of the member is listed, however many:
 * the one least recently used (a stolen phone's, say) is never pushed out by newer ones. Ending a
 * session ends it for good: every grant it holds is revoked (codes, access and refresh tokens),
 * relying parties with back-channel logout are told, and the session is deleted.
 */
export function createMemberSessions({ documents, audit, clock }: { documents: ExpiringDocuments; audit: AuditLog; clock: Clock }) {
  /**
   * The member's entries, most recently active first (with those of the earlier single list, while
   * it lasts), and the uids that have a record of their own.
   */
  const entriesOf = async (memberId: string): Promise<{ entries: Entry[]; recorded: Set<string> }> => {
    const [own, legacy] = await Promise.all([
      documents.listByIdPrefix(KIND, `${memberId}/`, READ_AT_MOST),
      documents.find(LEGACY_KIND, memberId),
    ]);
    const byUid = new Map<string, Entry>();
    const recorded = new Set<string>();
    for (const entry of Array.isArray(legacy?.sessions) ? (legacy.sessions as Entry[]) : []) byUid.set(entry.uid, entry);
    for (const { id, payload } of own) {
      const entry = { ...payload, uid: id.slice(memberId.length + 1) } as Entry;
      recorded.add(entry.uid);
      const earlier = byUid.get(entry.uid);
      byUid.set(entry.uid, earlier ? { ...entry, startedAt: Math.min(entry.startedAt, earlier.startedAt) } : entry);
    }
    return { entries: [...byUid.values()].sort((a, b) => b.lastActiveAt - a.lastActiveAt), recorded };
  };

  /** The live sessions of `memberId` in `provider`, with the registry's entries for them. */
  async function live(provider: Provider, memberId: string) {
    const { entries, recorded } = await entriesOf(memberId);
    const sessions = await Promise.all(entries.map(async (entry) => ({ entry, session: await provider.Session.findByUid(entry.uid) })));
    // Records of sessions that ended elsewhere (a log-out at a relying party, say) go now rather
    // than at their expiry, so that they never crowd live ones out of a reading.
    // Only tidying: a store that cannot write right now does not keep the list from being shown.
    // Entries of the earlier list have no record to delete; they go with that list.
    const gone = sessions.filter(({ session, entry }) => !session && recorded.has(entry.uid));
    await Promise.all(gone.map(({ entry }) => documents.destroy(KIND, entryId(memberId, entry.uid)).catch(() => undefined)));
    return sessions.filter(({ session }) => session?.accountId === memberId) as { entry: Entry; session: NonNullable<Awaited<ReturnType<Provider['Session']['findByUid']>>> }[];
  }

  /** `scope`: this session alone, every one but the member's own, or every one (the desk). */
  async function endOne(provider: Provider, memberId: string, found: Awaited<ReturnType<typeof live>>[number], ender: Ender, scope: 'one' | 'others' | 'all'): Promise<void> {
    const { session, entry } = found;
    const authorizations = Object.entries(session.authorizations ?? {});
    await Promise.all(authorizations.map(async ([clientId, authorization]) => {
      const client = await provider.Client.find(clientId).catch(() => undefined);
      if (client?.backchannelLogoutUri) {
        // The same logout token oidc-provider sends at RP-initiated logout (its Client model has the method; the typings do not).
        const notify = (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout.bind(client);
        await notify(memberId, authorization.sid ?? '').then(
          () => provider.emit('backchannel.success', undefined, client, memberId, authorization.sid),
          (error: unknown) => provider.emit('backchannel.error', undefined, error, client, memberId, authorization.sid),
        );
      }
      if (authorization.grantId) await revokeGrant(documents, authorization.grantId);
    }));
    await session.destroy();
    await documents.destroy(KIND, entryId(memberId, entry.uid));
    const who = ender.by === 'member' ? { ip: ender.ip, userAgent: ender.userAgent } : {};
    const detail = ender.by === 'operator' ? { by: ender.operator, ...(ender.reason && { reason: ender.reason }) } : { by: 'member' };
    // The ended session's browser and address, so that the member's history says which one it was.
    const ended = { scope, ...(entry.ip && { from: entry.ip }), ...(entry.userAgent && { device: describeUserAgent(entry.userAgent)! }) };
    await audit.append({ memberId, at: new Date(clock()), type: 'session.ended', outcome: 'info', ...who, detail: { ...detail, ...ended } });
  }

  return {
    /**
     * Notes that `memberId`'s session `uid` was used from this browser and address. `firstSave`: the
     * session was made by this request (oidc-provider's `session.new`), so its uid is fresh and no
     * record of it can exist yet: the record is written without being read first.
     */
    async touch(memberId: string, uid: string, expiresAt: Date, seen: { userAgent?: string; ip?: string }, firstSave = false): Promise<void> {
      const now = clock();
      const seenNow = { ...(seen.userAgent && { userAgent: seen.userAgent }), ...(seen.ip && { ip: seen.ip }) };
      if (firstSave) {
        await documents.upsert(KIND, entryId(memberId, uid), { startedAt: now, lastActiveAt: now, ...seenNow } satisfies Omit<Entry, 'uid'>, expiresAt);
        return;
      }
      // Read and written in one step, so that a save of the same session elsewhere is not undone.
      // The uid is in the record's id, not in its payload (where the store would index it as a session's).
      await documents.update(KIND, entryId(memberId, uid), (stored) => {
        const known = stored as Omit<Entry, 'uid'> | undefined;
        if (known && now - known.lastActiveAt < ACTIVITY_STEP_MS) return undefined;
        const record: Omit<Entry, 'uid'> = { ...(known ?? { startedAt: now }), lastActiveAt: now, ...seenNow };
        return { payload: record, expiresAt };
      });
    },

    /** The member's live sessions, most recently active first. */
    async list(provider: Provider, memberId: string): Promise<MemberSession[]> {
      return (await live(provider, memberId)).map(({ entry }) => ({
        uid: entry.uid,
        userAgent: entry.userAgent,
        ip: entry.ip,
        startedAt: new Date(entry.startedAt),
        lastActiveAt: new Date(entry.lastActiveAt),
      }));
    },

    /** Ends the member's session `uid`; false when there is no such live session. */
    async end(provider: Provider, memberId: string, uid: string, ender: Ender): Promise<boolean> {
      const found = (await live(provider, memberId)).find(({ entry }) => entry.uid === uid);
      if (!found) return false;
      await endOne(provider, memberId, found, ender, 'one');
      return true;
    },

    /** Ends every live session of the member but `keepUid` (if given); returns how many. */
    async endAll(provider: Provider, memberId: string, ender: Ender, keepUid?: string): Promise<number> {
      let ended = 0;
      // Read READ_AT_MOST at a time: each round's records go with their sessions, so the next round
      // reads those left, until none is.
      for (;;) {
        const others = (await live(provider, memberId)).filter(({ entry }) => entry.uid !== keepUid);
        if (others.length === 0) return ended;
        for (const found of others) await endOne(provider, memberId, found, ender, keepUid === undefined ? 'all' : 'others');
        ended += others.length;
      }
    },
  };
}

export type MemberSessions = ReturnType<typeof createMemberSessions>;

/** Notes each session the provider saves for a member in `sessions`: the browser and the client address it was saved from. */
export function noteSavedSessions(provider: Provider, sessions: MemberSessions, deps: { clientAddress: () => string | undefined; logger: Logger }): void {
  provider.on('session.saved', (session: { accountId?: string; uid: string; exp?: number; new?: boolean }) => {
    if (!session.accountId) return;
    const ctx = (Provider as unknown as { ctx?: Context }).ctx;
    const seen = { userAgent: ctx?.get('user-agent') || undefined, ip: deps.clientAddress() };
    sessions.touch(session.accountId, session.uid, new Date((session.exp ?? 0) * 1000), seen, session.new === true)
      .catch((error: unknown) => deps.logger.warn('a session could not be noted for its member', { error }));
  });
}
