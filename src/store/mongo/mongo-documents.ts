import { Types, type Model } from 'mongoose';
import type { Clock, ExpiringDocuments, KindBounds, Payload } from '../port.ts';
import { isDuplicateKey, type DocumentRecord } from './models.ts';

/** How often `update` reads again when another write came between its read and its write. */
const UPDATE_ATTEMPTS = 20;

/**
 * ExpiringDocuments on one `documents` collection; every read ignores documents past `expiresAt`.
 * A document of a bounded kind records its owner (the client's network, as the limits count it) and
 * when it arrived; past `perOwner` that owner's oldest arrivals are deleted, so one network cannot
 * fill the database with sign-ins in progress whichever IdP instance it reaches. As in memory
 * (memory-documents.ts), a document written again (a sign-in's next step) keeps its first owner and
 * its place. There is no bound in all here, so no owner ever pays for another's share.
 */
export function mongoDocuments(documents: Model<DocumentRecord>, clock: Clock, bounded: Readonly<Record<string, KindBounds>> = {}): ExpiringDocuments {
  const key = (kind: string, id: string) => JSON.stringify([kind, id]);
  // The TTL monitor runs about once a minute, so an expired document may still be there.
  const live = () => ({ $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date(clock()) } }] });

  const findOne = async (filter: Record<string, unknown>) =>
    toPayload(await documents.findOne({ ...filter, ...live() }, { payload: 1, consumedAt: 1 }).lean<DocumentRecord>());

  /** Deletes what `owner` holds of `kind` beyond its newest `keep`. */
  const trimShare = async (kind: string, owner: string, keep: number) => {
    const beyond = await documents.find({ kind, owner: { $eq: owner } }, { _id: 1 })
      .sort({ written: -1 }).skip(keep).limit(1000).lean<Pick<DocumentRecord, '_id'>[]>();
    if (beyond.length) await documents.deleteMany({ _id: { $in: beyond.map((record) => record._id) } });
  };

  /**
   * The fields of a document as written: those set, and those (no longer) present. A bounded kind's
   * owner and arrival are not among them: they are written when the document arrives (`arrival`).
   */
  const fieldsOf = (kind: string, payload: Payload, expiresAt: Date | undefined) => {
    const set: Partial<DocumentRecord> = { kind, payload: JSON.stringify(payload) };
    const unset: Record<string, 1> = { consumedAt: 1 };
    const looked = { grantId: text(payload.grantId), uid: text(payload.uid), userCode: text(payload.userCode), expiresAt };
    for (const [field, value] of Object.entries(looked)) {
      if (value === undefined) unset[field] = 1;
      else Object.assign(set, { [field]: value });
    }
    if (!bounded[kind]) Object.assign(unset, { owner: 1, written: 1 });
    return { set, unset };
  };
  /** The owner and arrival of a bounded kind's document that arrives now; nothing for other kinds. */
  const arrival = (kind: string, owner: string | undefined): Partial<DocumentRecord> =>
    (bounded[kind] ? { owner: owner ?? '', written: new Types.ObjectId() } : {});
  /** After `owner`'s document of `kind` arrived: its share trimmed to `perOwner`, where the kind is bounded. */
  const arrived = async (kind: string, owner: string | undefined) => {
    const bounds = bounded[kind];
    if (bounds) await trimShare(kind, owner ?? '', bounds.perOwner);
  };

  return {
    async upsert(kind, id, payload, expiresAt, owner) {
      const { set, unset } = fieldsOf(kind, payload, expiresAt);
      // A replacement, like an insert: an earlier consumed mark or expiry does not survive it.
      if (!bounded[kind]) {
        await documents.updateOne({ _id: key(kind, id) }, { $set: set, $unset: unset }, { upsert: true });
        return;
      }
      // A live document of a bounded kind keeps its owner and arrival; a new one is given them.
      try {
        const written = await documents.updateOne(
          { _id: key(kind, id), ...live() },
          { $set: set, $unset: unset, $setOnInsert: arrival(kind, owner) },
          { upsert: true },
        );
        if (written.upsertedCount === 1) await arrived(kind, owner);
      } catch (error) {
        if (!isDuplicateKey(error, '_id')) throw error;
        // An expired document the TTL monitor has not removed yet: replaced, as a new arrival.
        await documents.updateOne({ _id: key(kind, id) }, { $set: { ...set, ...arrival(kind, owner) }, $unset: unset }, { upsert: true });
        await arrived(kind, owner);
      }
    },
    async listByIdPrefix(kind, prefix, limit) {
      // Keys are JSON [kind, id]: the ids starting with `prefix` are the keys from `["kind","prefix`
      // up to the same followed by U+FFFF.
      const from = key(kind, prefix).slice(0, -2);
      const records = await documents.find({ _id: { $gte: from, $lt: `${from}\uffff` }, kind, ...live() }, { payload: 1, consumedAt: 1 })
        .sort({ _id: 1 }).limit(limit).lean<DocumentRecord[]>();
      return records.map((record) => ({ id: (JSON.parse(record._id) as [string, string])[1], payload: toPayload(record)! }));
    },
    async update(kind, id, change, owner) {
      // Optimistic: written only if the stored payload is still the one read (or, for a new
      // document, only if none was inserted meanwhile); otherwise read again and retry.
      for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
        const record = await documents.findOne({ _id: key(kind, id) }, { payload: 1, consumedAt: 1, expiresAt: 1, owner: 1 }).lean<DocumentRecord>();
        const current = record && (!record.expiresAt || record.expiresAt.getTime() > clock()) ? toPayload(record) : undefined;
        const next = change(current);
        if (!next) return;
        const { set, unset } = fieldsOf(kind, next.payload, next.expiresAt);
        // Written over an expired document, or inserted, it arrives now: the owner given, else the one it had.
        const arrives = !current;
        const arriving = owner ?? record?.owner;
        const fresh = arrives ? arrival(kind, arriving) : {};
        const written = record
          ? (await documents.updateOne({ _id: key(kind, id), payload: record.payload }, { $set: { ...set, ...fresh }, $unset: unset })).matchedCount
          : (await documents.updateOne({ _id: key(kind, id) }, { $setOnInsert: { ...set, ...fresh } }, { upsert: true })).upsertedCount;
        if (written === 1) {
          if (arrives) await arrived(kind, arriving);
          return;
        }
      }
      throw new Error(`${kind} ${id} kept changing under ${UPDATE_ATTEMPTS} attempts to update it`);
    },
    async find(kind, id) {
      return findOne({ _id: key(kind, id) });
    },
    async findByUid(kind, uid) {
      return findOne({ kind, uid: { $eq: uid } });
    },
    async findByUserCode(kind, userCode) {
      return findOne({ kind, userCode: { $eq: userCode } });
    },
    async consume(kind, id) {
      const now = clock();
      // The filter is re-checked inside the single-document write, so only one caller can match it.
      const result = await documents.updateOne(
        { _id: key(kind, id), consumedAt: null, ...live() },
        { $set: { consumedAt: Math.floor(now / 1000) } },
      );
      return result.modifiedCount === 1;
    },
    async destroy(kind, id) {
      await documents.deleteOne({ _id: key(kind, id) });
    },
    async revokeByGrantId(kind, grantId) {
      await documents.deleteMany({ kind, grantId: { $eq: grantId } });
    },
    async take(kind, id) {
      const record = await documents.findOneAndDelete({ _id: key(kind, id) }).lean<DocumentRecord>();
      if (!record || (record.expiresAt && record.expiresAt.getTime() <= clock())) return undefined;
      return toPayload(record);
    },
    async prune() {
      const result = await documents.deleteMany({ expiresAt: { $lte: new Date(clock()) } });
      return result.deletedCount;
    },
  };
}

function toPayload(record: Pick<DocumentRecord, 'payload' | 'consumedAt'> | null): Payload | undefined {
  if (!record) return undefined;
  const payload = JSON.parse(record.payload) as Payload;
  if (typeof record.consumedAt === 'number') payload.consumed = record.consumedAt;
  return payload;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
