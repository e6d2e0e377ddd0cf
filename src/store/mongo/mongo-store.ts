import type { Model } from 'mongoose';
import {
  DuplicateError,
  type AuditEvent,
  type AuditLog,
  type Clock,
  type Count,
  type Counters,
  type KindBounds,
  type Members,
  type Store,
  StoreUnavailableError,
} from '../port.ts';
import { connectMongo } from './connect.ts';
import { createStoreIndexes, defineModels, isDuplicateKey, type AuditRecord, type CounterRecord, type MemberRecord, toMember } from './models.ts';
import { mongoDocuments } from './mongo-documents.ts';
import { mongoPasskeys } from './mongo-passkeys.ts';
import { storeError } from './unavailable.ts';

/**
 * The production store on MongoDB. Indexes are created on open only when asked (development);
 * production creates them beforehand with `npm run db:migrate`. Every write that must be race-free
 * (consume, take, increment, a passkey's recordUse) is a single conditional operation on one document.
 */
export async function openMongoStore(url: string, clock: Clock, options: { ensureIndexes: boolean; signInKinds?: Readonly<Record<string, KindBounds>> }): Promise<Store> {
  const connection = await connectMongo(url);
  const models = defineModels(connection);
  if (options.ensureIndexes) {
    try {
      await createStoreIndexes(models);
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  return {
    kind: 'mongodb',
    documents: mongoDocuments(models.documents, clock, options.signInKinds),
    members: mongoMembers(models.members, clock),
    passkeys: mongoPasskeys(models.passkeys, models.members),
    counters: mongoCounters(models.counters, clock),
    audit: mongoAudit(models.audit),
    async ping() {
      if (!connection.db) throw new Error('the MongoDB connection is closed');
      await connection.db.admin().ping();
    },
    async checkWrites() {
      if (!connection.db) throw new StoreUnavailableError('the MongoDB connection is closed');
      try {
        // Acknowledged by a majority (the connection's write concern): what every store write needs.
        await connection.db.collection<{ _id: string; at: Date }>('write_check').updateOne({ _id: 'write-check' }, { $set: { at: new Date(clock()) } }, { upsert: true });
      } catch (error) {
        throw storeError(error);
      }
    },
    async reclaimSpace() {
      // WiredTiger reuses the space of deleted documents itself; giving it back to the file system
      // is an operator's `compact`, not something to run beside requests.
      return 0;
    },
    async close() {
      await connection.close();
    },
  };
}

/** Creates every MongoDB index the store needs, for `npm run db:migrate`; returns the index names per collection. */
export async function ensureMongoIndexes(url: string): Promise<Record<string, string[]>> {
  const connection = await connectMongo(url);
  try {
    return await createStoreIndexes(defineModels(connection));
  } finally {
    await connection.close();
  }
}

/** Drops the database `url` names; only for test teardown. */
export async function dropMongoDatabase(url: string): Promise<void> {
  const connection = await connectMongo(url);
  try {
    await connection.dropDatabase();
  } finally {
    await connection.close();
  }
}

function mongoMembers(members: Model<MemberRecord>, clock: Clock): Members {
  return {
    async create(member) {
      const { id, ...fields } = member;
      const deviceGeneration = member.deviceGeneration ?? 0;
      try {
        await members.create({ _id: id, ...fields, deviceGeneration });
      } catch (error) {
        if (isDuplicateKey(error, 'number')) throw new DuplicateError('number');
        throw error;
      }
      return { ...member, deviceGeneration };
    },
    async findById(id) {
      return toMember(await members.findOne({ _id: { $eq: id } }).lean<MemberRecord>());
    },
    async findByNumber(number) {
      return toMember(await members.findOne({ number: { $eq: number } }).lean<MemberRecord>());
    },
    async list({ limit, afterNumber }) {
      // limit(0) means "no limit" to MongoDB.
      if (limit <= 0) return [];
      const filter = afterNumber === undefined ? {} : { number: { $gt: afterNumber } };
      const records = await members.find(filter).sort({ number: 1 }).limit(limit).lean<MemberRecord[]>();
      return records.map((record) => toMember(record)!);
    },
    async update(id, changes) {
      const { nextDeviceGeneration, ...fields } = changes;
      const set = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      // $inc adds to the stored value (from 0 where the field is absent), atomically with the $set.
      const record = await members.findOneAndUpdate(
        { _id: { $eq: id } },
        { $set: { ...set, updatedAt: new Date(clock()) }, ...(nextDeviceGeneration && { $inc: { deviceGeneration: 1 } }) },
        { returnDocument: 'after' },
      ).lean<MemberRecord>();
      return toMember(record);
    },
  };
}

function mongoCounters(counters: Model<CounterRecord>, clock: Clock): Counters {
  const toCount = (record: CounterRecord | null): Count | undefined =>
    record ? { count: record.count, resetAt: record.resetAt } : undefined;

  return {
    async increment(key, windowSeconds) {
      const now = new Date(clock());
      const running = { $gt: ['$resetAt', now] };
      // One pipeline update decides "same window or a new one" against the stored value, atomically.
      const update = [{
        $set: {
          count: { $cond: [running, { $add: ['$count', 1] }, 1] },
          resetAt: { $cond: [running, '$resetAt', new Date(now.getTime() + windowSeconds * 1000)] },
        },
      }];
      for (let attempt = 1; ; attempt++) {
        try {
          const record = await counters.findOneAndUpdate({ _id: key }, update,
            { upsert: true, returnDocument: 'after', updatePipeline: true }).lean<CounterRecord>();
          return toCount(record)!;
        } catch (error) {
          // Two first increments can both try to insert; the loser retries as an update.
          if (attempt >= 3 || !isDuplicateKey(error, '_id')) throw error;
        }
      }
    },
    async get(key) {
      return toCount(await counters.findOne({ _id: { $eq: key }, resetAt: { $gt: new Date(clock()) } }).lean<CounterRecord>());
    },
    async reset(key) {
      await counters.deleteOne({ _id: { $eq: key } });
    },
    async prune() {
      // The TTL index does this within a minute or so; pruning by hand just makes it prompt.
      return (await counters.deleteMany({ resetAt: { $lte: new Date(clock()) } })).deletedCount;
    },
  };
}

function mongoAudit(audit: Model<AuditRecord>): AuditLog {
  return {
    async append(event) {
      const { detail, memberId, ...rest } = event;
      await audit.create({
        ...rest,
        ...(memberId !== undefined && { memberId }),
        ...(detail !== undefined && { detail: JSON.stringify(detail) }),
      });
    },
    async listForMember(memberId, limit) {
      if (limit <= 0) return [];
      const records = await audit.find({ memberId: { $eq: memberId } }).sort({ at: -1, _id: -1 }).limit(limit).lean<AuditRecord[]>();
      return records.map((record): AuditEvent => ({
        memberId: record.memberId,
        at: record.at,
        type: record.type,
        outcome: record.outcome as AuditEvent['outcome'],
        ...(record.ip != null && { ip: record.ip }),
        ...(record.userAgent != null && { userAgent: record.userAgent }),
        ...(record.clientId != null && { clientId: record.clientId }),
        ...(record.detail != null && { detail: JSON.parse(record.detail) }),
      }));
    },
    async prune(before) {
      return (await audit.deleteMany({ at: { $lt: before } })).deletedCount;
    },
  };
}
