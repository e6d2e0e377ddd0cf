import { DuplicateError, type Passkey, type Passkeys } from '../port.ts';
import type { Prepare, Row } from './counted.ts';
import type { GroupCommit } from './group-commit.ts';
import { MEMBER_COLUMNS, toMember } from './sqlite-members.ts';

/** The passkeys section. */
export function sqlitePasskeys(prepare: Prepare, commits: GroupCommit): Passkeys {
  const insert = prepare(`
    INSERT INTO passkeys (id, member_id, user_handle, public_key, counter, transports, synced, backed_up, aaguid, name, created_at, last_used_at, last_used_from)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = prepare('SELECT * FROM passkeys WHERE id = ?');
  const forMember = prepare('SELECT * FROM passkeys WHERE member_id = ? ORDER BY created_at, id');
  // Every passkey of the credential's member, each row with the member's columns beside it (m_…).
  const forLogIn = prepare(`
    SELECT passkeys.*, ${MEMBER_COLUMNS.map((column) => `members.${column} AS m_${column}`).join(', ')}
    FROM passkeys LEFT JOIN members ON members.id = passkeys.member_id
    WHERE passkeys.member_id = (SELECT member_id FROM passkeys WHERE id = ?)
    ORDER BY passkeys.created_at, passkeys.id`);
  const recordUse = prepare('UPDATE passkeys SET counter = ?, last_used_at = ?, last_used_from = ? WHERE id = ? AND counter = ?');
  const rename = prepare('UPDATE passkeys SET name = ? WHERE member_id = ? AND id = ?');
  const remove = prepare('DELETE FROM passkeys WHERE member_id = ? AND id = ?');
  // Reads the member index alone (passkeys_member), never the rows.
  const countMembers = prepare('SELECT COUNT(DISTINCT member_id) AS members FROM passkeys');

  const toPasskey = (row: Row | undefined): Passkey | undefined => row && {
    id: row.id as string,
    memberId: row.member_id as string,
    userHandle: row.user_handle as string,
    publicKey: new Uint8Array(row.public_key as Uint8Array),
    counter: Number(row.counter),
    transports: JSON.parse(row.transports as string) as string[],
    synced: row.synced === 1,
    backedUp: row.backed_up === 1,
    aaguid: row.aaguid as string,
    name: row.name as string,
    createdAt: new Date(row.created_at as number),
    lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at as number),
    lastUsedFrom: (row.last_used_from as string | null) ?? undefined,
  };

  return {
    async create(passkey) {
      try {
        await commits.write(() => insert.run(passkey.id, passkey.memberId, passkey.userHandle, passkey.publicKey, passkey.counter, JSON.stringify(passkey.transports),
          passkey.synced ? 1 : 0, passkey.backedUp ? 1 : 0, passkey.aaguid, passkey.name, passkey.createdAt.getTime(),
          passkey.lastUsedAt?.getTime() ?? null, passkey.lastUsedFrom ?? null));
      } catch (error) {
        if (String((error as Error).message).includes('UNIQUE constraint failed: passkeys.id')) throw new DuplicateError('id');
        throw error;
      }
    },
    async findById(id) {
      return toPasskey(await commits.read(() => byId.get(id)) as Row | undefined);
    },
    async listForMember(memberId) {
      return (await commits.read(() => forMember.all(memberId)) as Row[]).map((row) => toPasskey(row)!);
    },
    async forLogIn(id) {
      const rows = await commits.read(() => forLogIn.all(id)) as Row[];
      const memberPasskeys = rows.map((row) => toPasskey(row)!);
      const passkey = memberPasskeys.find((candidate) => candidate.id === id);
      if (!passkey) return undefined;
      return { passkey, member: rows[0]!.m_id === null ? undefined : toMember(rows[0], 'm_'), memberPasskeys };
    },
    async recordUse(id, use) {
      return (await commits.write(() => recordUse.run(use.counter, use.at.getTime(), use.from ?? null, id, use.expectedCounter))).changes === 1;
    },
    async rename(memberId, id, name) {
      return (await commits.write(() => rename.run(name, memberId, id))).changes === 1;
    },
    async remove(memberId, id) {
      return (await commits.write(() => remove.run(memberId, id))).changes === 1;
    },
    async countMembers() {
      return Number((await commits.read(() => countMembers.get()) as Row).members);
    },
  };
}
