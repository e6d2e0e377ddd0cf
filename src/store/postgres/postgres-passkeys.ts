import { DuplicateError, type Passkey, type Passkeys } from '../port.ts';
import type { Database } from './connect.ts';
import { fromDb, fromDbOrUndefined, toDb, toDbOrNull } from './db-text.ts';
import { isUniqueViolation, SELECTED as MEMBER_SELECTED, toMember, type MemberRow } from './postgres-members.ts';

type Row = {
  id: string; member_id: string; user_handle: string; public_key: Buffer; counter: string; transports: string[];
  synced: boolean; backed_up: boolean; aaguid: string; name: string; created_at: Date; last_used_at: Date | null; last_used_from: string | null;
};

/** What a passkey read returns, named (as members' reads are, see postgres-members.ts). */
const SELECTED = 'id, member_id, user_handle, public_key, counter, transports, synced, backed_up, aaguid, name, created_at, last_used_at, last_used_from';

/** Passkeys on one `passkeys` table, keyed by credential id. */
export function postgresPasskeys(db: Database): Passkeys {
  return {
    async create(passkey) {
      try {
        await db.query(`INSERT INTO passkeys (id, member_id, user_handle, public_key, counter, transports, synced, backed_up, aaguid, name,
            created_at, last_used_at, last_used_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, [
          toDb(passkey.id), toDb(passkey.memberId), toDb(passkey.userHandle), Buffer.from(passkey.publicKey), passkey.counter,
          passkey.transports.map(toDb), passkey.synced, passkey.backedUp, toDb(passkey.aaguid), toDb(passkey.name),
          passkey.createdAt.toISOString(), passkey.lastUsedAt?.toISOString() ?? null, toDbOrNull(passkey.lastUsedFrom),
        ]);
      } catch (error) {
        if (isUniqueViolation(error, 'passkeys_pkey')) throw new DuplicateError('id');
        throw error;
      }
    },
    async findById(id) {
      return toPasskey((await db.query<Row>(`SELECT ${SELECTED} FROM passkeys WHERE id = $1`, [toDb(id)])).rows[0]);
    },
    async listForMember(memberId) {
      const { rows } = await db.query<Row>(`SELECT ${SELECTED} FROM passkeys WHERE member_id = $1 ORDER BY created_at, id`, [toDb(memberId)]);
      return rows.map((row) => toPasskey(row)!);
    },
    async forLogIn(id) {
      // Every passkey of the credential's member, and the member once, as a JSON object beside each row.
      const { rows } = await db.query<Row & { member: MemberRow | null }>(`
        SELECT ${SELECTED.split(', ').map((column) => `p.${column}`).join(', ')},
          (SELECT row_to_json(m) FROM (SELECT ${MEMBER_SELECTED} FROM members WHERE id = p.member_id) m) AS member
        FROM passkeys p
        WHERE p.member_id = (SELECT member_id FROM passkeys WHERE id = $1)
        ORDER BY p.created_at, p.id`, [toDb(id)]);
      const memberPasskeys = rows.map((row) => toPasskey(row)!);
      const passkey = memberPasskeys.find((candidate) => candidate.id === id);
      if (!passkey) return undefined;
      const member = rows[0]!.member;
      return { passkey, member: member ? toMember({ ...member, created_at: new Date(member.created_at), updated_at: new Date(member.updated_at) }) : undefined, memberPasskeys };
    },
    async recordUse(id, use) {
      // Compare-and-set: of two uses that read the same counter, only the first to write still
      // matches it; the second waits for its row lock, then finds the counter moved on.
      const result = await db.query('UPDATE passkeys SET counter = $1, last_used_at = $2, last_used_from = $3 WHERE id = $4 AND counter = $5',
        [use.counter, use.at.toISOString(), toDbOrNull(use.from), toDb(id), use.expectedCounter]);
      return result.rowCount === 1;
    },
    async rename(memberId, id, name) {
      return (await db.query('UPDATE passkeys SET name = $1 WHERE member_id = $2 AND id = $3', [toDb(name), toDb(memberId), toDb(id)])).rowCount === 1;
    },
    async remove(memberId, id) {
      return (await db.query('DELETE FROM passkeys WHERE member_id = $1 AND id = $2', [toDb(memberId), toDb(id)])).rowCount === 1;
    },
    async countMembers() {
      // Over the member index alone.
      const { rows } = await db.query<{ members: string }>('SELECT count(DISTINCT member_id) AS members FROM passkeys');
      return Number(rows[0]!.members);
    },
  };
}

function toPasskey(row: Row | undefined): Passkey | undefined {
  return row && {
    id: fromDb(row.id),
    memberId: fromDb(row.member_id),
    userHandle: fromDb(row.user_handle),
    publicKey: new Uint8Array(row.public_key),
    counter: Number(row.counter),
    transports: row.transports.map(fromDb),
    synced: row.synced,
    backedUp: row.backed_up,
    aaguid: fromDb(row.aaguid),
    name: fromDb(row.name),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at ?? undefined,
    lastUsedFrom: fromDbOrUndefined(row.last_used_from),
  };
}
