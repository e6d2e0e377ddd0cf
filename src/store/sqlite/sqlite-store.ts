import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import {
  DuplicateError,
  type AuditEvent,
  type AuditLog,
  type Clock,
  type CommitObserver,
  type Count,
  type Counters,
  type ExpiringDocuments,
  type KindBounds,
  type Member,
  type MemberChanges,
  type Members,
  type Passkey,
  type Passkeys,
  type Payload,
  type Store,
} from '../port.ts';
import { createMemoryDocuments, splitDocuments } from '../memory-documents.ts';
import { DEFAULT_CHECKPOINTS, startCheckpointer, type CheckpointOptions } from './checkpointer.ts';
import { GroupCommit } from './group-commit.ts';
import { createWalFlush } from './wal-flush.ts';
import { holdOwnerLock } from './owner-lock.ts';
import { prepareDatabase } from './prepare.ts';
import { bulkBatches, type BulkWork } from './bulk.ts';
import { startBulkThread } from './bulk-thread.ts';
import { createWriteGate } from './write-gate.ts';
import { countingPrepare, type Prepare } from './counted.ts';
import { DEFAULT_SLICES, inSlices, type SliceOptions } from './slices.ts';

type Row = Record<string, SQLInputValue>;

/** How the embedded store is opened: by the serving IdP or a tool, and its upkeep and durability. */
export type SqliteStoreOptions = {
  checkpoints?: CheckpointOptions;
  /**
   * This is the IdP process serving the file: it takes the file's owner lock (a second IdP process
   * refuses to start), and converts an older file to incremental vacuum. Tools leave it unset.
   */
  owner?: boolean;
  /**
   * `normal` (the default): the WAL is flushed at checkpoints only (a crash of the IdP loses
   * nothing, a power loss or OS crash may lose the last commits); `full`: nothing is answered before
   * the WAL holding it is flushed to disk (it survives a power loss).
   */
  synchronous?: 'full' | 'normal';
  /** Told of each commit (its time and statements) and of failures that may pass. */
  commits?: CommitObserver;
  /** How pruning and space reclaiming divide their work into short transactions. */
  slices?: SliceOptions;
  /**
   * Called with the serving connection once it is open. Tests use it to make writes fail the way a
   * full or read-only disk does (`PRAGMA max_page_count`, `PRAGMA query_only`).
   */
  connected?: (db: DatabaseSync) => void;
  /**
   * Kinds of documents kept in this process's memory instead of the file, each within its own bounds:
   * sign-in state that lives minutes and is only needed by the one IdP process that serves this file.
   * Each kind has its own bounds, so a flood of one kind cannot push out another.
   */
  signInKinds?: Readonly<Record<string, KindBounds>>;
};

/**
 * The embedded store on node:sqlite: WAL so readers never wait for the writer, a busy timeout so a
 * second process (the members tool) waits instead of failing, the schema migrated on open.
 * Every statement is a single atomic step, which is what makes consume/take/increment race-free;
 * the statements of one turn of the event loop share a transaction (see GroupCommit), and none is
 * answered before it is committed (and, with `full`, flushed). Throws DatabaseInUseError when
 * `owner` is set and another IdP process serves the file.
 */
export function openSqliteStore(file: string, clock: Clock, options: SqliteStoreOptions = {}): Store {
  const onDisk = file !== ':memory:';
  if (onDisk) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const lock = options.owner && onDisk ? holdOwnerLock(path.resolve(file)) : undefined;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file);
    prepareDatabase(db, onDisk, options);
  } catch (error) {
    lock?.release();
    throw error;
  }
  // `full`: answered only once the WAL is flushed, which a thread-pool thread does (see createWalFlush).
  const walFlush = onDisk && options.synchronous === 'full' ? createWalFlush(`${file}-wal`) : undefined;
  // Shared with the bulk worker (pruning) of a file the IdP serves; see startBulkThread.
  const gate = onDisk && options.owner ? createWriteGate() : undefined;
  const commits = new GroupCommit(db, { durable: walFlush?.flush, observe: options.commits, gate });
  const slices = options.slices ?? DEFAULT_SLICES;
  // Set as closing starts, so that pruning in progress stops at its next slice.
  let closed = false;
  const closing = () => closed || !db.isOpen;
  let checkpointer: ReturnType<typeof startCheckpointer> | undefined;
  if (onDisk) checkpointer = startCheckpointer(db, file, options.checkpoints ?? DEFAULT_CHECKPOINTS, commits);
  // Pruning and reclaiming: short transactions, paced by the checkpointer, stopping when the store
  // closes; on a worker thread for a file the IdP serves (see startBulkThread), else on this connection.
  let bulkThread: ReturnType<typeof startBulkThread> | undefined;
  const batchHere = bulkBatches(db);
  const bulk: Bulk = (work) => inSlices(async (batch) => {
    if (closing()) return { done: 0 };
    if (gate) bulkThread ??= startBulkThread(file, gate);
    if (bulkThread && !bulkThread.broken) {
      try {
        return await bulkThread.run(work, batch);
      } catch (error) {
        if (!bulkThread.broken) throw error;
      }
    }
    return { done: await commits.alone(() => batchHere(work, batch), { durable: false }) };
  }, slices, closing, checkpointer?.caughtUp);
  options.connected?.(db);
  const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
  const writeCheck = db.prepare('INSERT INTO write_check (data) VALUES (zeroblob(?))');
  const clearWriteCheck = db.prepare('DELETE FROM write_check');
  const vacuumMode = db.prepare('PRAGMA auto_vacuum');

  const inMemory = new Map(Object.entries(options.signInKinds ?? {}).map(([kind, bounds]) => [kind, createMemoryDocuments(clock, bounds)]));
  const tally = { ran: 0 };
  const prepare = countingPrepare(db, tally);

  return {
    kind: 'sqlite',
    documents: splitDocuments(sqliteDocuments(prepare, commits, clock, bulk), inMemory),
    members: sqliteMembers(prepare, commits, clock),
    passkeys: sqlitePasskeys(prepare, commits),
    counters: sqliteCounters(prepare, commits, clock, bulk),
    audit: sqliteAudit(prepare, commits, bulk),
    statementsRun: () => tally.ran,
    async ping() {
      await commits.read(() => db.prepare('SELECT 1').get());
    },
    inMemory: () => [...inMemory].map(([kind, documents]) => ({ kind, held: documents.size(), evicted: documents.evicted() })),
    ...(onDisk && { walBytes: () => statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0 }),
    async checkWrites() {
      // A page's worth, so the check needs the room a new document needs (a full disk or size
      // limit fails it), removed again in the same transaction.
      await commits.alone(() => {
        writeCheck.run(pageSize);
        clearWriteCheck.run();
      });
    },
    async reclaimSpace() {
      if ((vacuumMode.get() as { auto_vacuum: number }).auto_vacuum !== 2) return 0;
      return bulk({ work: 'free-pages' });
    },
    async close() {
      closed = true;
      await bulkThread?.stop();
      await checkpointer?.stop();
      if (db.isOpen) {
        await commits.flush();
        // A write may have come in while the last commit was being flushed.
        while (db.isOpen && db.isTransaction) await commits.flush();
        // `main.`: a bare checkpoint also covers the temp database, which (once a schema change has used
        // it) refuses with "database table is locked".
        if (onDisk) db.exec('PRAGMA main.wal_checkpoint(TRUNCATE)');
        db.close();
      }
      await walFlush?.close();
      lock?.release();
    },
  };
}

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

/** Runs bulk work in short transactions (see inSlices); resolves with how many rows (or pages) went. */
type Bulk = (work: BulkWork) => Promise<number>;

function sqliteDocuments(prepare: Prepare, commits: GroupCommit, clock: Clock, bulk: Bulk): ExpiringDocuments {
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

function sqliteMembers(prepare: Prepare, commits: GroupCommit, clock: Clock): Members {
  const insert = prepare(`
    INSERT INTO members (id, number, name, phone, country, status, password_hash, device_generation, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = prepare('SELECT * FROM members WHERE id = ?');
  const byNumber = prepare('SELECT * FROM members WHERE number = ?');
  const list = prepare('SELECT * FROM members WHERE number > ? ORDER BY number LIMIT ?');
  const columns: Record<Exclude<keyof MemberChanges, 'nextDeviceGeneration'>, string> = {
    name: 'name', phone: 'phone', country: 'country', status: 'status', passwordHash: 'password_hash',
  };

  const toMember = (row: Row | undefined): Member | undefined => row && {
    id: row.id as string,
    number: row.number as string,
    name: row.name as string,
    phone: row.phone as string,
    country: row.country as string,
    status: row.status as Member['status'],
    passwordHash: row.password_hash as string,
    deviceGeneration: Number(row.device_generation),
    createdAt: new Date(row.created_at as number),
    updatedAt: new Date(row.updated_at as number),
  };

  return {
    async create(member) {
      try {
        await commits.write(() => insert.run(member.id, member.number, member.name, member.phone, member.country, member.status,
          member.passwordHash, member.deviceGeneration ?? 0, member.createdAt.getTime(), member.updatedAt.getTime()));
      } catch (error) {
        if (String((error as Error).message).includes('UNIQUE constraint failed: members.number')) throw new DuplicateError('number');
        throw error;
      }
      return { ...member, deviceGeneration: member.deviceGeneration ?? 0 };
    },
    async findById(id) {
      return toMember(await commits.read(() => byId.get(id)) as Row | undefined);
    },
    async findByNumber(number) {
      return toMember(await commits.read(() => byNumber.get(number)) as Row | undefined);
    },
    async list({ limit, afterNumber }) {
      return (await commits.read(() => list.all(afterNumber ?? '', limit)) as Row[]).map((row) => toMember(row)!);
    },
    async update(id, changes) {
      const { nextDeviceGeneration, ...fields } = changes;
      const entries = Object.entries(fields).filter(([, value]) => value !== undefined) as [keyof typeof columns, string][];
      const sets = entries.map(([key]) => `${columns[key]} = ?`);
      // Added to the stored value in the same statement: simultaneous updates each add their one.
      if (nextDeviceGeneration) sets.push('device_generation = device_generation + 1');
      const update = prepare(`UPDATE members SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE id = ?`);
      const updated = await commits.write(() => update.run(...entries.map(([, value]) => value), clock(), id).changes === 1 ? byId.get(id) : undefined);
      return toMember(updated as Row | undefined);
    },
  };
}

function sqlitePasskeys(prepare: Prepare, commits: GroupCommit): Passkeys {
  const insert = prepare(`
    INSERT INTO passkeys (id, member_id, user_handle, public_key, counter, transports, synced, backed_up, aaguid, name, created_at, last_used_at, last_used_from)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = prepare('SELECT * FROM passkeys WHERE id = ?');
  const forMember = prepare('SELECT * FROM passkeys WHERE member_id = ? ORDER BY created_at, id');
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

function sqliteCounters(prepare: Prepare, commits: GroupCommit, clock: Clock, bulk: Bulk): Counters {
  const increment = prepare(`
    INSERT INTO counters (key, count, reset_at) VALUES (?, 1, ?)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN reset_at <= ? THEN 1 ELSE count + 1 END,
      reset_at = CASE WHEN reset_at <= ? THEN excluded.reset_at ELSE reset_at END
    RETURNING count, reset_at`);
  const get = prepare('SELECT count, reset_at FROM counters WHERE key = ? AND reset_at > ?');
  const reset = prepare('DELETE FROM counters WHERE key = ?');
  const toCount = (row: Row | undefined): Count | undefined =>
    row && { count: Number(row.count), resetAt: new Date(row.reset_at as number) };

  return {
    async increment(key, windowSeconds) {
      const now = clock();
      return toCount(await commits.write(() => increment.get(key, now + windowSeconds * 1000, now, now)) as Row)!;
    },
    async get(key) {
      return toCount(await commits.read(() => get.get(key, clock())) as Row | undefined);
    },
    async reset(key) {
      await commits.write(() => reset.run(key));
    },
    async prune() {
      return bulk({ work: 'ended-counters', now: clock() });
    },
  };
}

function sqliteAudit(prepare: Prepare, commits: GroupCommit, bulk: Bulk): AuditLog {
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
