import type { AuditEvent, AuditLog } from '../port.ts';
import { deleteInBatches, type BatchOptions } from './batches.ts';
import type { Database } from './connect.ts';
import { fromDb, fromDbOrUndefined, jsonFromDb, jsonToDb, toDb, toDbOrNull } from './db-text.ts';

/** Events past the retention, oldest first through the time index. */
export const PRUNE_AUDIT = `WITH old AS (
    SELECT seq FROM audit WHERE at < $1 ORDER BY at LIMIT $2
  ) DELETE FROM audit a USING old o WHERE a.seq = o.seq`;

type Row = {
  member_id: string | null; at: Date; type: string; outcome: string; ip: string | null; user_agent: string | null;
  client_id: string | null; detail: string | null;
};

/** The audit trail on one append-only `audit` table. */
export function postgresAudit(db: Database, batches: BatchOptions): AuditLog {
  return {
    async append(event) {
      await db.query('INSERT INTO audit (member_id, at, type, outcome, ip, user_agent, client_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)', [
        toDbOrNull(event.memberId), event.at.toISOString(), toDb(event.type), toDb(event.outcome), toDbOrNull(event.ip),
        toDbOrNull(event.userAgent), toDbOrNull(event.clientId), event.detail ? jsonToDb(event.detail) : null,
      ]);
    },
    async listForMember(memberId, limit) {
      if (limit <= 0) return [];
      const { rows } = await db.query<Row>(`SELECT member_id, at, type, outcome, ip, user_agent, client_id, detail::text AS detail
        FROM audit WHERE member_id = $1 ORDER BY at DESC, seq DESC LIMIT $2`, [toDb(memberId), limit]);
      return rows.map((row): AuditEvent => ({
        memberId: fromDbOrUndefined(row.member_id),
        at: row.at,
        type: fromDb(row.type),
        outcome: fromDb(row.outcome) as AuditEvent['outcome'],
        ...(row.ip !== null && { ip: fromDb(row.ip) }),
        ...(row.user_agent !== null && { userAgent: fromDb(row.user_agent) }),
        ...(row.client_id !== null && { clientId: fromDb(row.client_id) }),
        ...(row.detail !== null && { detail: jsonFromDb<NonNullable<AuditEvent['detail']>>(row.detail) }),
      }));
    },
    async prune(before) {
      return deleteInBatches(db, PRUNE_AUDIT, [before.toISOString()], batches);
    },
  };
}
