import type { AuditEvent, AuditLog } from '../port.ts';
import type { Bulk } from './bulk.ts';
import type { Prepare, Row } from './counted.ts';
import type { GroupCommit } from './group-commit.ts';

/** The audit section: each member's security events, newest first. */
export function sqliteAudit(prepare: Prepare, commits: GroupCommit, bulk: Bulk): AuditLog {
  const insert = prepare(`
    INSERT INTO audit (member_id, at, type, outcome, ip, user_agent, client_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const list = prepare('SELECT * FROM audit WHERE member_id = ? ORDER BY at DESC, seq DESC LIMIT ?');
  return {
    async append(event) {
      await commits.write(() => insert.run(event.memberId ?? null, event.at.getTime(), event.type, event.outcome, event.ip ?? null,
        event.userAgent ?? null, event.clientId ?? null, event.detail ? JSON.stringify(event.detail) : null));
    },
    async listForMember(memberId, limit) {
      return (await commits.read(() => list.all(memberId, limit)) as Row[]).map((row): AuditEvent => ({
        memberId: row.member_id as string,
        at: new Date(row.at as number),
        type: row.type as string,
        outcome: row.outcome as AuditEvent['outcome'],
        ...(row.ip !== null && { ip: row.ip as string }),
        ...(row.user_agent !== null && { userAgent: row.user_agent as string }),
        ...(row.client_id !== null && { clientId: row.client_id as string }),
        ...(row.detail !== null && { detail: JSON.parse(row.detail as string) }),
      }));
    },
    async prune(before) {
      return bulk({ work: 'old-audit', before: before.getTime() });
    },
  };
}
