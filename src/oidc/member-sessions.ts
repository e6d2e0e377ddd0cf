import type Provider from 'oidc-provider';
import type { AuditLog, Clock, ExpiringDocuments, Payload } from '../store/port.ts';
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

const KIND = 'MemberSessions';
/** Sessions remembered per member (the most recently active). */
const MOST = 30;
/** Last activity is written at most this often per session. */
const ACTIVITY_STEP_MS = 60_000;

/**
 * Where each member is logged in. The sessions themselves are oidc-provider's; this keeps, per
 * member, the list of their session ids with the browser, address and times, updated whenever a
 * session is saved. Ending a session ends it for good: every grant it holds is revoked (codes,
 * access and refresh tokens), relying parties with back-channel logout are told, and the session
 * is deleted.
 */
export function createMemberSessions({ documents, audit, clock }: { documents: ExpiringDocuments; audit: AuditLog; clock: Clock }) {
  const parse = (stored: Payload | undefined): { entries: Entry[]; until: number } => ({
    entries: Array.isArray(stored?.sessions) ? (stored.sessions as Entry[]) : [],
    until: typeof stored?.until === 'number' ? stored.until : 0,
  });
  const read = async (memberId: string) => parse(await documents.find(KIND, memberId));

  /** The live sessions of `memberId` in `provider`, with the registry's entries for them. */
  async function live(provider: Provider, memberId: string) {
    const { entries } = await read(memberId);
    const sessions = await Promise.all(entries.map(async (entry) => ({ entry, session: await provider.Session.findByUid(entry.uid) })));
    return sessions.filter(({ session }) => session?.accountId === memberId) as { entry: Entry; session: NonNullable<Awaited<ReturnType<Provider['Session']['findByUid']>>> }[];
  }

  async function endOne(provider: Provider, memberId: string, found: Awaited<ReturnType<typeof live>>[number], ender: Ender): Promise<void> {
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
    const who = ender.by === 'member' ? { ip: ender.ip, userAgent: ender.userAgent } : {};
    const detail = ender.by === 'operator' ? { by: ender.operator, ...(ender.reason && { reason: ender.reason }) } : { by: 'member' };
    await audit.append({ memberId, at: new Date(clock()), type: 'session.ended', outcome: 'info', ...who, detail: { ...detail, ...(entry.ip && { from: entry.ip }) } });
  }

  return {
    /** Notes that `memberId`'s session `uid` was used from this browser and address. */
    async touch(memberId: string, uid: string, expiresAt: Date, seen: { userAgent?: string; ip?: string }): Promise<void> {
      const now = clock();
      // In one step: two sessions of a member saved at the same moment (on two devices, or two IdP
      // instances) are both listed, so "log out everywhere" reaches both.
      await documents.update(KIND, memberId, (stored) => {
        const { entries, until } = parse(stored);
        const known = entries.find((entry) => entry.uid === uid);
        if (known && now - known.lastActiveAt < ACTIVITY_STEP_MS) return undefined;
        const entry: Entry = { ...(known ?? { uid, startedAt: now }), lastActiveAt: now, ...(seen.userAgent && { userAgent: seen.userAgent }), ...(seen.ip && { ip: seen.ip }) };
        // Kept as long as the longest-lived of the member's sessions.
        const latest = Math.max(expiresAt.getTime(), until);
        const sessions = [entry, ...entries.filter((other) => other.uid !== uid)].slice(0, MOST);
        return { payload: { sessions, until: latest }, expiresAt: new Date(latest) };
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
      await endOne(provider, memberId, found, ender);
      return true;
    },

    /** Ends every live session of the member but `keepUid` (if given); returns how many. */
    async endAll(provider: Provider, memberId: string, ender: Ender, keepUid?: string): Promise<number> {
      const others = (await live(provider, memberId)).filter(({ entry }) => entry.uid !== keepUid);
      for (const found of others) await endOne(provider, memberId, found, ender);
      return others.length;
    },
  };
}

export type MemberSessions = ReturnType<typeof createMemberSessions>;
