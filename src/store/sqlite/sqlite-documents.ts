import type { Clock, ExpiringDocuments, Payload } from '../port.ts';
import type { Bulk } from './bulk.ts';
import type { Prepare, Row } from './counted.ts';
import type { GroupCommit } from './group-commit.ts';

const LIVE = '(expires_at IS NULL OR expires_at > ?)';

/**
 * The lookups by a payload field. Without statistics SQLite prefers the primary key's `kind` prefix
 * and would scan every document of the kind (every session); INDEXED BY holds them to their partial
 * indexes. Exported so a test can check each plan.
 */
export const INDEXED_LOOKUPS = {
  findByUid: `SELECT payload, consumed_at FROM documents INDEXED BY documents_uid WHERE kind = ? AND uid = ? AND uid IS NOT NULL AND ${LIVE}`,
  findByUserCode: `SELECT payload, consumed_at FROM documents INDEXED BY documents_user_code WHERE kind = ? AND user_code = ? AND user_code IS NOT NULL AND ${LIVE}`,
  revokeByGrantId: 'DELETE FROM documents INDEXED BY documents_grant WHERE kind = ? AND grant_id = ? AND grant_id IS NOT NULL',
} as const;

/** Documents by id prefix: a range of the key index, from the prefix to the prefix followed by U+FFFF. */
export const PREFIX_LISTING = `SELECT id, payload, consumed_at FROM documents WHERE kind = ? AND id >= ? AND id < ? AND ${LIVE} ORDER BY id LIMIT ?`;

/** The documents section: oidc-provider's models and challenges, with expiry. */
export function sqliteDocuments(prepare: Prepare, commits: GroupCommit, clock: Clock, bulk: Bulk): ExpiringDocuments {
  const live = LIVE;
  const upsert = prepare(`
    INSERT INTO documents (kind, id, payload, grant_id, uid, user_code, consumed_at, expires_at)
    VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
    ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
      uid = excluded.uid, user_code = excluded.user_code, consumed_at = NULL, expires_at = excluded.expires_at`);
  const find = prepare(`SELECT payload, consumed_at FROM documents WHERE kind = ? AND id = ? AND ${live}`);
  const findByUid = prepare(INDEXED_LOOKUPS.findByUid);
  const findByUserCode = prepare(INDEXED_LOOKUPS.findByUserCode);
  const consume = prepare(`UPDATE documents SET consumed_at = ? WHERE kind = ? AND id = ? AND consumed_at IS NULL AND ${live}`);
  const destroy = prepare('DELETE FROM documents WHERE kind = ? AND id = ?');
  const revoke = prepare(INDEXED_LOOKUPS.revokeByGrantId);
  const take = prepare(`DELETE FROM documents WHERE kind = ? AND id = ? RETURNING payload, consumed_at, expires_at`);
  const listByPrefix = prepare(PREFIX_LISTING);

  const toPayload = (row: Row | undefined): Payload | undefined => {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload as string) as Payload;
    if (row.consumed_at !== null) payload.consumed = row.consumed_at;
    return payload;
  };
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  const write = (kind: string, id: string, payload: Payload, expiresAt: Date | undefined) =>
    upsert.run(kind, id, JSON.stringify(payload), text(payload.grantId), text(payload.uid), text(payload.userCode), expiresAt?.getTime() ?? null);

  return {
    async upsert(kind, id, payload, expiresAt) {
      await commits.write(() => write(kind, id, payload, expiresAt));
    },
    async listByIdPrefix(kind, prefix, limit) {
      const rows = await commits.read(() => listByPrefix.all(kind, prefix, `${prefix}\uffff`, clock(), limit)) as Row[];
      return rows.map((row) => ({ id: row.id as string, payload: toPayload(row)! }));
    },
    async update(kind, id, change) {
      // One statement's worth of work for the shared transaction: nothing runs between the read and the write.
      await commits.write(() => {
        const next = change(toPayload(find.get(kind, id, clock()) as Row | undefined));
        if (next) write(kind, id, next.payload, next.expiresAt);
      });
    },
    async find(kind, id) {
      return toPayload(await commits.read(() => find.get(kind, id, clock())) as Row | undefined);
    },
    async findByUid(kind, uid) {
      return toPayload(await commits.read(() => findByUid.get(kind, uid, clock())) as Row | undefined);
    },
    async findByUserCode(kind, userCode) {
      return toPayload(await commits.read(() => findByUserCode.get(kind, userCode, clock())) as Row | undefined);
    },
    async consume(kind, id) {
      const now = clock();
      return (await commits.write(() => consume.run(Math.floor(now / 1000), kind, id, now))).changes === 1;
    },
    async destroy(kind, id) {
      await commits.write(() => destroy.run(kind, id));
    },
    async revokeByGrantId(kind, grantId) {
      await commits.write(() => revoke.run(kind, grantId));
    },
    async take(kind, id) {
      const row = await commits.write(() => take.get(kind, id)) as Row | undefined;
      if (!row || (row.expires_at !== null && (row.expires_at as number) <= clock())) return undefined;
      return toPayload(row);
    },
    async prune() {
      return bulk({ work: 'expired-documents', now: clock() });
    },
  };
}
