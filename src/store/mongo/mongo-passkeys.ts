import type { Model, mongo } from 'mongoose';
import { DuplicateError, type Passkey, type Passkeys } from '../port.ts';
import { isDuplicateKey, toMember, type MemberRecord, type PasskeyRecord } from './models.ts';

/**
 * Passkeys on one `passkeys` collection, `_id` = credential id. Every filter built from a caller's
 * string compares with `$eq`, so no value is ever read as a query operator.
 */
export function mongoPasskeys(passkeys: Model<PasskeyRecord>, members: Model<MemberRecord>): Passkeys {
  return {
    async create(passkey) {
      const { id, publicKey, transports, lastUsedAt, lastUsedFrom, ...fields } = passkey;
      try {
        await passkeys.create({
          _id: id,
          ...fields,
          publicKey: Buffer.from(publicKey),
          transports: [...transports],
          ...(lastUsedAt !== undefined && { lastUsedAt }),
          ...(lastUsedFrom !== undefined && { lastUsedFrom }),
        });
      } catch (error) {
        if (isDuplicateKey(error, '_id')) throw new DuplicateError('id');
        throw error;
      }
    },
    async findById(id) {
      return toPasskey(await passkeys.findOne({ _id: { $eq: id } }).lean<PasskeyRecord>());
    },
    async listForMember(memberId) {
      const records = await passkeys.find({ memberId: { $eq: memberId } }).sort({ createdAt: 1, _id: 1 }).lean<PasskeyRecord[]>();
      return records.map((record) => toPasskey(record)!);
    },
    async forLogIn(id) {
      // Two collections: the passkey first, then its member and the member's passkeys together.
      const passkey = toPasskey(await passkeys.findOne({ _id: { $eq: id } }).lean<PasskeyRecord>());
      if (!passkey) return undefined;
      const [member, memberPasskeys] = await Promise.all([
        members.findOne({ _id: { $eq: passkey.memberId } }).lean<MemberRecord>(),
        passkeys.find({ memberId: { $eq: passkey.memberId } }).sort({ createdAt: 1, _id: 1 }).lean<PasskeyRecord[]>(),
      ]);
      return { passkey, member: toMember(member), memberPasskeys: memberPasskeys.map((record) => toPasskey(record)!) };
    },
    async recordUse(id, use) {
      // The filter is re-checked inside the single-document write: of two uses that read the same
      // counter, only the first to write still matches it.
      const result = await passkeys.updateOne(
        { _id: { $eq: id }, counter: { $eq: use.expectedCounter } },
        {
          $set: { counter: use.counter, lastUsedAt: use.at, ...(use.from !== undefined && { lastUsedFrom: use.from }) },
          ...(use.from === undefined && { $unset: { lastUsedFrom: 1 } }),
        },
      );
      return result.matchedCount === 1;
    },
    async rename(memberId, id, name) {
      const result = await passkeys.updateOne({ _id: { $eq: id }, memberId: { $eq: memberId } }, { $set: { name } });
      return result.matchedCount === 1;
    },
    async remove(memberId, id) {
      const result = await passkeys.deleteOne({ _id: { $eq: id }, memberId: { $eq: memberId } });
      return result.deletedCount === 1;
    },
    async countMembers() {
      // Grouped on the server, over the memberId index: only the count comes back.
      const [result] = await passkeys.aggregate<{ members: number }>([{ $group: { _id: '$memberId' } }, { $count: 'members' }]);
      return result?.members ?? 0;
    },
  };
}

function toPasskey(record: PasskeyRecord | null): Passkey | undefined {
  if (!record) return undefined;
  return {
    id: record._id,
    memberId: record.memberId,
    userHandle: record.userHandle,
    publicKey: toBytes(record.publicKey),
    counter: record.counter,
    transports: [...(record.transports ?? [])],
    synced: record.synced,
    backedUp: record.backedUp,
    aaguid: record.aaguid,
    name: record.name,
    createdAt: record.createdAt,
    lastUsedAt: record.lastUsedAt ?? undefined,
    lastUsedFrom: record.lastUsedFrom ?? undefined,
  };
}

/**
 * A plain Uint8Array copy of stored bytes. A lean read gives BSON `Binary`, whose `value()` is
 * exactly the stored bytes (its backing buffer may be longer).
 */
function toBytes(value: Buffer | mongo.Binary | Uint8Array): Uint8Array {
  return new Uint8Array(value instanceof Uint8Array ? value : value.value());
}
