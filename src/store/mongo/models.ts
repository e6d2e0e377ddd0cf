import { Schema, type Connection, type Model, type mongo } from 'mongoose';
import type { Member, Passkey } from '../port.ts';
import { passingErrors } from './unavailable.ts';

/**
 * One expiring document. The payload is kept as JSON text: oidc-provider puts client ids (which may
 * hold dots) and other arbitrary strings in object keys, and MongoDB field names cannot hold every
 * such key faithfully. The fields the store looks up by are copied out of it.
 */
export type DocumentRecord = {
  /** `[kind, id]` as JSON: unambiguous for any kind and id. */
  _id: string;
  kind: string;
  payload: string;
  grantId?: string;
  uid?: string;
  userCode?: string;
  /** Epoch seconds. */
  consumedAt?: number;
  expiresAt?: Date;
  /** For the bounded kinds (sign-ins in progress): the client's network that first wrote it, and when it arrived (an ObjectId orders the arrivals). */
  owner?: string;
  written?: mongo.ObjectId;
};

/** A member as stored; `_id` is the member id. */
export type MemberRecord = {
  _id: string;
  number: string;
  name: string;
  phone: string;
  country: string;
  status: string;
  passwordHash: string;
  /** Absent on members stored before it existed: read as 0. */
  deviceGeneration?: number;
  createdAt: Date;
  updatedAt: Date;
};

/** A passkey; `_id` is the credential id. */
export type PasskeyRecord = Omit<Passkey, 'id' | 'publicKey' | 'lastUsedAt' | 'lastUsedFrom'> & {
  _id: string;
  /** Stored as BSON binary; a lean read gives it back as a `Binary`, a write takes a `Buffer`. */
  publicKey: Buffer | mongo.Binary;
  lastUsedAt?: Date;
  lastUsedFrom?: string;
};

/** A fixed-window counter; `_id` is the key. */
export type CounterRecord = { _id: string; count: number; resetAt: Date };

/** An audit event; `detail` is JSON text for the same reason as a payload. */
export type AuditRecord = {
  memberId?: string;
  at: Date;
  type: string;
  outcome: string;
  ip?: string;
  userAgent?: string;
  clientId?: string;
  detail?: string;
};

const options = { versionKey: false, autoIndex: false, autoCreate: false } as const;
const present = { $exists: true };

const documentSchema = new Schema<DocumentRecord>({
  _id: { type: String, required: true },
  kind: String,
  payload: String,
  grantId: String,
  uid: String,
  userCode: String,
  consumedAt: Number,
  expiresAt: Date,
  owner: String,
  written: Schema.Types.ObjectId,
}, { ...options, collection: 'documents' });
// The TTL monitor only cleans up (about once a minute); reads filter on expiresAt themselves.
documentSchema.index({ expiresAt: 1 }, { name: 'expiry', expireAfterSeconds: 0 });
documentSchema.index({ kind: 1, grantId: 1 }, { name: 'grant', partialFilterExpression: { grantId: present } });
documentSchema.index({ kind: 1, uid: 1 }, { name: 'uid', unique: true, partialFilterExpression: { uid: present } });
documentSchema.index({ kind: 1, userCode: 1 }, { name: 'user_code', unique: true, partialFilterExpression: { userCode: present } });
// An owner's share of a bounded kind, newest first: the count per client network lives here.
documentSchema.index({ kind: 1, owner: 1, written: -1 }, { name: 'owner_share', partialFilterExpression: { owner: present } });

const memberSchema = new Schema<MemberRecord>({
  _id: { type: String, required: true },
  number: String,
  name: String,
  phone: String,
  country: String,
  status: String,
  passwordHash: String,
  deviceGeneration: Number,
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
}, { ...options, collection: 'members' });
memberSchema.index({ number: 1 }, { name: 'number', unique: true });

const passkeySchema = new Schema<PasskeyRecord>({
  _id: { type: String, required: true },
  memberId: { type: String, required: true },
  userHandle: String,
  publicKey: { type: Buffer, required: true },
  counter: { type: Number, required: true },
  transports: [String],
  synced: { type: Boolean, required: true },
  backedUp: { type: Boolean, required: true },
  aaguid: String,
  name: String,
  createdAt: { type: Date, required: true },
  lastUsedAt: Date,
  lastUsedFrom: String,
}, { ...options, collection: 'passkeys' });
passkeySchema.index({ memberId: 1, createdAt: 1 }, { name: 'member_created' });

const counterSchema = new Schema<CounterRecord>({
  _id: { type: String, required: true },
  count: { type: Number, required: true },
  resetAt: { type: Date, required: true },
}, { ...options, collection: 'counters' });
// A counter outlives its window by at most the TTL monitor's period; `get` ignores ended windows.
counterSchema.index({ resetAt: 1 }, { name: 'expiry', expireAfterSeconds: 0 });

const auditSchema = new Schema<AuditRecord>({
  memberId: String,
  at: { type: Date, required: true },
  type: { type: String },
  outcome: String,
  ip: String,
  userAgent: String,
  clientId: String,
  detail: String,
}, { ...options, collection: 'audit' });
auditSchema.index({ memberId: 1, at: -1, _id: -1 }, { name: 'member_time' });
// Pruning removes events past the retention by time.
auditSchema.index({ at: 1 }, { name: 'time' });

for (const schema of [documentSchema, memberSchema, passkeySchema, counterSchema, auditSchema]) passingErrors(schema);

/** The store's models, bound to one connection. */
export type StoreModels = {
  documents: Model<DocumentRecord>;
  members: Model<MemberRecord>;
  passkeys: Model<PasskeyRecord>;
  counters: Model<CounterRecord>;
  audit: Model<AuditRecord>;
};

/** Compiles the models on `connection`; nothing is created in the database yet. */
export function defineModels(connection: Connection): StoreModels {
  return {
    documents: connection.model<DocumentRecord>('Document', documentSchema),
    members: connection.model<MemberRecord>('Member', memberSchema),
    passkeys: connection.model<PasskeyRecord>('Passkey', passkeySchema),
    counters: connection.model<CounterRecord>('Counter', counterSchema),
    audit: connection.model<AuditRecord>('AuditEvent', auditSchema),
  };
}

/** Creates every index the store relies on (never drops one); returns the index names per collection. */
export async function createStoreIndexes(models: StoreModels): Promise<Record<string, string[]>> {
  const created: Record<string, string[]> = {};
  for (const model of Object.values(models) as Model<unknown>[]) {
    await model.createIndexes();
    created[model.collection.collectionName] = model.schema.indexes().map(([, indexOptions]) => String(indexOptions.name));
  }
  return created;
}

/** True when `error` is MongoDB's duplicate-key error on a unique index over `field`. */
export function isDuplicateKey(error: unknown, field: string): boolean {
  const { code, keyPattern, message } = error as { code?: unknown; keyPattern?: Record<string, unknown>; message?: unknown };
  if (code !== 11000) return false;
  return keyPattern ? field in keyPattern : String(message).includes(`dup key: { ${field}:`);
}

/** A member from its document (also read for a passkey log-in, mongo-passkeys.ts). */
export function toMember(record: MemberRecord | null): Member | undefined {
  return record ? {
    id: record._id,
    number: record.number,
    name: record.name,
    phone: record.phone,
    country: record.country,
    status: record.status as Member['status'],
    passwordHash: record.passwordHash,
    deviceGeneration: record.deviceGeneration ?? 0,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  } : undefined;
}
