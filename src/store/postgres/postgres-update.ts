import type { Clock, DocumentChange, KindBounds, Payload } from '../port.ts';
import type { Database, Query } from './connect.ts';
import { fromDb, jsonToDb, toDb } from './db-text.ts';
import { indexed, toPayload, type DocumentRow } from './document-row.ts';

/** Optimistic attempts before an update takes the document's row lock and waits its turn. */
const OPTIMISTIC_ATTEMPTS = 3;
/** Rounds of the locked update that may each find the document made by another writer meanwhile. */
const LOCKED_ROUNDS = 5;

/** A stored document as an update reads it: `version` is its row version (xmin), which every write changes. */
type Stored = DocumentRow & { expires_at: Date | null; owner: string | null; version: string };

const INSERT = `INSERT INTO documents (kind, id, payload, grant_id, uid, user_code, expires_at)
  VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) ON CONFLICT (kind, id) DO NOTHING RETURNING owner`;
const INSERT_BOUNDED = `INSERT INTO documents (kind, id, payload, grant_id, uid, user_code, expires_at, owner, written)
  VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, nextval('documents_written')) ON CONFLICT (kind, id) DO NOTHING RETURNING owner`;

/**
 * A write named `arrived`, and for a document of a bounded kind that arrives (a new owner and
 * place), the trim of that owner's share to its newest `$9` other documents and this one, in the
 * same statement (as postgres-documents.ts's bounded upsert does).
 */
const arriving = (write: string, bounded: boolean) => `arrived AS (${write})` + (!bounded ? '' : `, beyond AS (
    SELECT kind, id FROM documents WHERE EXISTS (SELECT FROM arrived)
      AND kind = $1 AND owner = (SELECT owner FROM arrived) AND owner IS NOT NULL AND id <> $2
    ORDER BY written DESC OFFSET $9
  ), trimmed AS (
    DELETE FROM documents d USING beyond b WHERE d.kind = b.kind AND d.id = b.id
  )`);

/**
 * Makes the document unless one with its key exists (live or not), and reads the one that exists
 * instead, in one statement: `made` is true when it was made; otherwise the row comes back as
 * stored. The read sees the table as it was when the statement began, so it finds the row that
 * stopped the insert, or nothing when that row was made by a transaction that committed since.
 */
const makeOrRead = (bounded: boolean) => `
  WITH ${arriving(bounded ? INSERT_BOUNDED : INSERT, bounded)}
  SELECT true AS made, NULL::text AS payload, NULL::bigint AS consumed_at, NULL::timestamptz AS expires_at, NULL::text AS owner, NULL::text AS version FROM arrived
  UNION ALL
  SELECT false, payload::text, consumed_at, expires_at, owner, xmin::text FROM documents
  WHERE kind = $1 AND id = $2 AND NOT EXISTS (SELECT FROM arrived)`;

const SQL = {
  read: 'SELECT payload::text AS payload, consumed_at, expires_at, owner, xmin::text AS version FROM documents WHERE kind = $1 AND id = $2',
  readLocked: 'SELECT payload::text AS payload, consumed_at, expires_at, owner, xmin::text AS version FROM documents WHERE kind = $1 AND id = $2 FOR UPDATE',
  makeOrRead: makeOrRead(false),
  makeOrReadBounded: makeOrRead(true),
  /** The row as read, changed: its owner and place stay (a live document written again, or a kind without bounds). */
  rewrite: `UPDATE documents SET payload = $3::jsonb, grant_id = $4, uid = $5, user_code = $6, consumed_at = NULL, expires_at = $7
    WHERE kind = $1 AND id = $2 AND xmin = $8::xid`,
  /** The row as read, expired, written over by a document of a bounded kind that arrives now. */
  rearrive: `WITH ${arriving(`UPDATE documents SET payload = $3::jsonb, grant_id = $4, uid = $5, user_code = $6, consumed_at = NULL, expires_at = $7,
      owner = $8, written = nextval('documents_written') WHERE kind = $1 AND id = $2 AND xmin = $10::xid RETURNING owner`, true)}
    SELECT owner FROM arrived`,
} as const;

/** The document an update is about: its key, and its kind's bounds where it has any. */
export type UpdateTarget = { kind: string; id: string; bounds: KindBounds | undefined };

/**
 * ExpiringDocuments.update on PostgreSQL without a transaction in the usual case: the first statement
 * makes the document from `change(undefined)` if none exists, or reads the one that does with its
 * row version; a second, if the change writes anything, writes it only if the row is still that
 * version (compare-and-set on xmin, which every write of the row changes). A document new to the
 * store costs one round trip, a change of one that exists two, a change that writes nothing one.
 * When another writer wins the compare-and-set, the update reads again; after a few lost rounds it
 * takes the row lock (SELECT … FOR UPDATE) in a transaction and cannot lose again.
 */
export async function updateDocument(db: Database, clock: Clock, target: UpdateTarget, change: DocumentChange, owner: string | undefined): Promise<void> {
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const found = await makeOrReadDocument(db.query, target, change, owner);
    if (await attemptUpdate(db.query, clock, target, change, owner, found) === 'done') return;
  }
  await db.transaction(async (query) => {
    for (let round = 0; round < LOCKED_ROUNDS; round++) {
      const { rows: [row] } = await query<Stored>(SQL.readLocked, [toDb(target.kind), toDb(target.id)]);
      const found = row ? { row } : await makeOrReadDocument(query, target, change, owner);
      // Locked, the row cannot change before the write: only a document made meanwhile sends this round back.
      if (await attemptUpdate(query, clock, target, change, owner, found) === 'done') return;
    }
    throw new Error(`${target.kind} document kept being made and removed under ${LOCKED_ROUNDS} locked updates`);
  });
}

/**
 * What the first statement found: 'done' when it made the document (or there is none and the change
 * makes nothing), the row to change, or 'again' when a document made meanwhile is not visible yet.
 */
type Found = 'done' | 'again' | { row: Stored };

/** The first statement: makes the document from `change(undefined)` unless one exists, else reads it. */
async function makeOrReadDocument(query: Query, target: UpdateTarget, change: DocumentChange, owner: string | undefined): Promise<Found> {
  const fresh = change(undefined);
  if (!fresh) {
    const { rows: [row] } = await query<Stored>(SQL.read, [toDb(target.kind), toDb(target.id)]);
    return row ? { row } : 'done';
  }
  const { rows: [row] } = target.bounds
    ? await query<Stored & { made: boolean }>(SQL.makeOrReadBounded, [...written(target, fresh), toDb(owner ?? ''), Math.max(0, target.bounds.perOwner - 1)])
    : await query<Stored & { made: boolean }>(SQL.makeOrRead, written(target, fresh));
  if (!row) return 'again';
  return row.made ? 'done' : { row };
}

/**
 * The rest of an update after its first statement: the change of the live payload (or of nothing,
 * for an expired document), written by compare-and-set. 'lost' when the row is gone or changed since
 * it was read, or a document made meanwhile was not visible yet.
 */
async function attemptUpdate(query: Query, clock: Clock, target: UpdateTarget, change: DocumentChange, owner: string | undefined, found: Found): Promise<'done' | 'lost'> {
  if (found === 'done') return 'done';
  if (found === 'again') return 'lost';
  const { row } = found;
  const live = !row.expires_at || row.expires_at.getTime() > clock();
  const next = change(live ? toPayload(row) : undefined);
  if (!next) return 'done';
  const values = written(target, next);
  if (live || !target.bounds) {
    const result = await query(SQL.rewrite, [...values, row.version]);
    return result.rowCount === 1 ? 'done' : 'lost';
  }
  // Over an expired document, it arrives now: the owner given, else the one the row had.
  const newOwner = owner ?? (row.owner === null ? undefined : fromDb(row.owner));
  const { rows } = await query(SQL.rearrive, [...values, toDb(newOwner ?? ''), Math.max(0, target.bounds.perOwner - 1), row.version]);
  return rows.length === 1 ? 'done' : 'lost';
}

/** The columns a write sets from the change: $1 to $7. */
function written(target: UpdateTarget, next: { payload: Payload; expiresAt: Date | undefined }): unknown[] {
  const { payload, expiresAt } = next;
  return [toDb(target.kind), toDb(target.id), jsonToDb(payload), indexed(payload.grantId), indexed(payload.uid), indexed(payload.userCode), expiresAt?.toISOString() ?? null];
}
