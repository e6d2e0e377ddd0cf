import type { Clock, ExpiringDocuments, KindBounds, Payload } from '../port.ts';
import { deleteInBatches, type BatchOptions } from './batches.ts';
import type { Database, Query } from './connect.ts';
import { fromDb, jsonToDb, toDb } from './db-text.ts';
import { indexed, toPayload, type DocumentRow } from './document-row.ts';
import { updateDocument } from './postgres-update.ts';

const LIVE = '(expires_at IS NULL OR expires_at > $3)';
const COLUMNS = 'payload::text AS payload, consumed_at';

/**
 * The look-ups by a payload field, the id-prefix listing and the prune batch, each served by an index
 * (see migrations.ts). Exported so that a test can check each plan.
 */
export const DOCUMENT_QUERIES = {
  find: `SELECT ${COLUMNS} FROM documents WHERE kind = $1 AND id = $2 AND ${LIVE}`,
  findByUid: `SELECT ${COLUMNS} FROM documents WHERE kind = $1 AND uid = $2 AND uid IS NOT NULL AND ${LIVE} LIMIT 1`,
  findByUserCode: `SELECT ${COLUMNS} FROM documents WHERE kind = $1 AND user_code = $2 AND user_code IS NOT NULL AND ${LIVE} LIMIT 1`,
  revokeByGrantId: 'DELETE FROM documents WHERE kind = $1 AND grant_id = $2 AND grant_id IS NOT NULL',
  /** A range of the primary key: from the prefix up to (not including) the first string past every string it starts. */
  listByIdPrefix: `SELECT id, ${COLUMNS} FROM documents WHERE kind = $1 AND id >= $2 AND id < $4 AND ${LIVE} ORDER BY id LIMIT $5`,
  listByIdPrefixToEnd: `SELECT id, ${COLUMNS} FROM documents WHERE kind = $1 AND id >= $2 AND ${LIVE} ORDER BY id LIMIT $4`,
  // Rows a request holds locked are skipped, not waited for: the next round takes them.
  pruneBatch: `WITH expired AS (
      SELECT kind, id FROM documents WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
    ) DELETE FROM documents d USING expired e WHERE d.kind = e.kind AND d.id = e.id`,
} as const;

const UPSERT = `
  INSERT INTO documents (kind, id, payload, grant_id, uid, user_code, consumed_at, expires_at, owner, written)
  VALUES ($1, $2, $3::jsonb, $4, $5, $6, NULL, $7, NULL, NULL)
  ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
    user_code = excluded.user_code, consumed_at = NULL, expires_at = excluded.expires_at, owner = NULL, written = NULL`;

/**
 * A write of a bounded kind and the trim of its owner's share, as one statement: the owner keeps its
 * newest `$9` other documents of the kind and this one. A live document written again (a sign-in's
 * next step) keeps its first owner and its place, so a member moving on is never counted as a new
 * arrival nor in another network's share; an expired one arrives anew. Only an arrival (its place
 * the one drawn now) can take an owner past its share, so only an arrival trims: the trim walks the
 * owner's share. It reads the snapshot from before the write, so it leaves this document out by id.
 * Owners racing on several instances may hold a few more for a moment; the next arrival of that
 * owner trims them.
 */
const UPSERT_BOUNDED = `
  WITH drawn AS (
    SELECT nextval('documents_written') AS place
  ), written AS (
    INSERT INTO documents AS d (kind, id, payload, grant_id, uid, user_code, consumed_at, expires_at, owner, written)
    SELECT $1, $2, $3::jsonb, $4, $5, $6, NULL, $7, $8, place FROM drawn
    ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
      user_code = excluded.user_code, consumed_at = NULL, expires_at = excluded.expires_at,
      owner = CASE WHEN d.expires_at IS NULL OR d.expires_at > $10 THEN d.owner ELSE excluded.owner END,
      written = CASE WHEN d.expires_at IS NULL OR d.expires_at > $10 THEN d.written ELSE excluded.written END
    RETURNING d.owner, d.written = (SELECT place FROM drawn) AS arrived
  ), beyond AS (
    SELECT kind, id FROM documents WHERE EXISTS (SELECT FROM written WHERE arrived)
      AND kind = $1 AND owner = (SELECT owner FROM written) AND owner IS NOT NULL AND id <> $2
    ORDER BY written DESC OFFSET $9
  )
  DELETE FROM documents d USING beyond b WHERE d.kind = b.kind AND d.id = b.id`;

/** The write of a bounded kind, exported so that a test can check what it walks. */
export const BOUNDED_WRITE = UPSERT_BOUNDED;

type Row = DocumentRow & { id?: string; expires_at?: Date | null };

/**
 * ExpiringDocuments on one `documents` table, the payload as jsonb; every read leaves out documents
 * past `expires_at` (pruning deletes them later). Every single-use step is one conditional
 * statement, so of two instances racing for one code, refresh token or challenge exactly one wins.
 * A document of a bounded kind records its owner (client address): past `perOwner` that owner's
 * oldest go, whichever instance the owner reaches, and no other owner loses anything.
 */
export function postgresDocuments(db: Database, clock: Clock, bounded: Readonly<Record<string, KindBounds>>, batches: BatchOptions): ExpiringDocuments {
  const at = (ms: number) => new Date(ms).toISOString();
  const now = () => at(clock());

  const write = (query: Query, kind: string, id: string, payload: Payload, expiresAt: Date | undefined, owner: string | undefined) => {
    const values = [toDb(kind), toDb(id), jsonToDb(payload), indexed(payload.grantId), indexed(payload.uid), indexed(payload.userCode), expiresAt?.toISOString() ?? null];
    const bounds = bounded[kind];
    if (!bounds) return query(UPSERT, values);
    return query(UPSERT_BOUNDED, [...values, toDb(owner ?? ''), Math.max(0, bounds.perOwner - 1), now()]);
  };
  const first = async (sql: string, values: unknown[]) => toPayload((await db.query<Row>(sql, values)).rows[0]);

  return {
    async upsert(kind, id, payload, expiresAt, owner) {
      await write(db.query, kind, id, payload, expiresAt, owner);
    },
    async find(kind, id) {
      return first(DOCUMENT_QUERIES.find, [toDb(kind), toDb(id), now()]);
    },
    async findByUid(kind, uid) {
      return first(DOCUMENT_QUERIES.findByUid, [toDb(kind), toDb(uid), now()]);
    },
    async findByUserCode(kind, userCode) {
      return first(DOCUMENT_QUERIES.findByUserCode, [toDb(kind), toDb(userCode), now()]);
    },
    async listByIdPrefix(kind, prefix, limit) {
      if (limit <= 0) return [];
      const from = toDb(prefix);
      const end = endOfPrefix(from);
      const { rows } = end === undefined
        ? await db.query<Row>(DOCUMENT_QUERIES.listByIdPrefixToEnd, [toDb(kind), from, now(), limit])
        : await db.query<Row>(DOCUMENT_QUERIES.listByIdPrefix, [toDb(kind), from, now(), end, limit]);
      return rows.map((row) => ({ id: fromDb(row.id!), payload: toPayload(row)! }));
    },
    update(kind, id, change, owner) {
      return updateDocument(db, clock, { kind, id, bounds: bounded[kind] }, change, owner);
    },
    async consume(kind, id) {
      const current = clock();
      // The WHERE is checked again on the newest row version once a concurrent consumer's lock is
      // released, so the second finds consumed_at set and changes nothing.
      const result = await db.query(`UPDATE documents SET consumed_at = $4 WHERE kind = $1 AND id = $2 AND consumed_at IS NULL AND ${LIVE}`,
        [toDb(kind), toDb(id), at(current), Math.floor(current / 1000)]);
      return result.rowCount === 1;
    },
    async take(kind, id) {
      const { rows } = await db.query<Row>(`DELETE FROM documents WHERE kind = $1 AND id = $2 RETURNING ${COLUMNS}, expires_at`, [toDb(kind), toDb(id)]);
      const row = rows[0];
      if (!row || (row.expires_at && row.expires_at.getTime() <= clock())) return undefined;
      return toPayload(row);
    },
    async destroy(kind, id) {
      await db.query('DELETE FROM documents WHERE kind = $1 AND id = $2', [toDb(kind), toDb(id)]);
    },
    async revokeByGrantId(kind, grantId) {
      await db.query(DOCUMENT_QUERIES.revokeByGrantId, [toDb(kind), toDb(grantId)]);
    },
    async prune() {
      return deleteInBatches(db, DOCUMENT_QUERIES.pruneBatch, [now()], batches);
    },
  };
}

/**
 * The least string after every string that starts with `prefix`, in code point order (which is the
 * byte order of "C" on UTF-8): the prefix with its last code point one higher, after dropping
 * trailing code points that have no higher one. Undefined when none exists (then there is no end).
 */
export function endOfPrefix(prefix: string): string | undefined {
  const points = [...prefix].map((character) => character.codePointAt(0)!);
  while (points.length > 0) {
    let next = points.pop()! + 1;
    // Surrogates are not characters; UTF-8 has none.
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return String.fromCodePoint(...points, next);
  }
  return undefined;
}
