/**
 * The storage port: the narrow interfaces the IdP's features need, each implemented by every adapter
 * (SQLite in `sqlite/`, PostgreSQL in `postgres/`, MongoDB in `mongo/`) and held to one contract suite
 * (test/contract).
 */

export type Payload = Record<string, unknown>;

/**
 * Documents that expire: oidc-provider's models (kind = model name) and short-lived challenges.
 * An expired document is never returned, whether or not it has been pruned yet.
 */
export interface ExpiringDocuments {
  /**
   * Inserts or replaces; `expiresAt` undefined means it never expires. `owner` (the network of the
   * client that caused the write) counts a new document against that owner's share where a kind is
   * bounded (see KindBounds); a live document written again keeps its first owner and its place.
   * Other kinds ignore it.
   */
  upsert(kind: string, id: string, payload: Payload, expiresAt: Date | undefined, owner?: string): Promise<void>;
  find(kind: string, id: string): Promise<Payload | undefined>;
  /** Finds by `payload.uid` (oidc-provider Session). */
  findByUid(kind: string, uid: string): Promise<Payload | undefined>;
  /** Finds by `payload.userCode` (oidc-provider DeviceCode). */
  findByUserCode(kind: string, userCode: string): Promise<Payload | undefined>;
  /**
   * Marks the document consumed (`payload.consumed` = epoch seconds). True only for the one call
   * that consumed it: of two simultaneous consumers exactly one wins.
   */
  consume(kind: string, id: string): Promise<boolean>;
  destroy(kind: string, id: string): Promise<void>;
  /** Removes every document of this kind whose `payload.grantId` is `grantId`. */
  revokeByGrantId(kind: string, grantId: string): Promise<void>;
  /** Reads and removes in one step: a single-use value goes to exactly one caller. */
  take(kind: string, id: string): Promise<Payload | undefined>;
  /**
   * Reads, changes and writes back in one step, so that simultaneous changes of one document all
   * count (none is lost to another's read). `change` gets the live payload (undefined when there is
   * none) and returns what to write, or undefined to leave the document as it is; it may be called
   * more than once, so it must only compute. Like `upsert`, a write clears the consumed mark. `owner`
   * is as for `upsert`: a document that arrives (none was live) counts against it where the kind is
   * bounded; a live one keeps its first owner.
   */
  update(kind: string, id: string, change: DocumentChange, owner?: string): Promise<void>;
  /** The live documents of `kind` whose id starts with `prefix`, at most `limit`, in id order. */
  listByIdPrefix(kind: string, prefix: string, limit: number): Promise<{ id: string; payload: Payload }[]>;
  /**
   * Deletes expired documents; returns how many. The embedded store deletes them in small
   * transactions, each bounded in time, and lets other work run between them.
   */
  prune(): Promise<number>;
}

/** What `ExpiringDocuments.update` makes of a document: its new payload and expiry, or nothing to write. */
export type DocumentChange = (current: Payload | undefined) => { payload: Payload; expiresAt: Date | undefined } | undefined;

/**
 * Bounds on a kind of short-lived document that anyone can create without proving anything (sign-ins
 * in progress, passkey challenges). `perOwner`: the most one owner (a client's network: an IPv4
 * address, an IPv6 /64) holds; past it that owner's oldest go. `max`: where the kind is kept in the
 * IdP process's memory, the most held in all; past it the most recent arrivals of the owner holding
 * the most go (of owners holding as many, the one that arrived last), never a fair share of anyone
 * else's and never what a member started before a flood.
 */
export type KindBounds = { max: number; perOwner: number };

export type MemberStatus = 'active' | 'locked' | 'disabled';

/** A programme member as stored. `id` is the opaque, stable OIDC `sub`. */
export type Member = {
  id: string;
  number: string;
  name: string;
  phone: string;
  country: string;
  status: MemberStatus;
  /** An encoded hash with its parameters (an argon2id PHC string, or scrypt from before), never the password. */
  passwordHash: string;
  /**
   * Goes up by one whenever what a device cookie vouches for ends (a new password or phone, a log-out
   * everywhere, a disabled account): device cookies made under an earlier value no longer count.
   */
  deviceGeneration: number;
  createdAt: Date;
  updatedAt: Date;
};

/** A member to store: a new member's device generation starts at 0 unless given. */
export type NewMemberRecord = Omit<Member, 'deviceGeneration'> & { deviceGeneration?: number };

export type MemberChanges = Partial<Pick<Member, 'name' | 'phone' | 'country' | 'status' | 'passwordHash'>> & {
  /**
   * Adds one to `deviceGeneration` in the same write as the other changes, against the stored value:
   * of two such updates at once, both count.
   */
  nextDeviceGeneration?: boolean;
};

export interface Members {
  /** Throws DuplicateError when the member number is taken. */
  create(member: NewMemberRecord): Promise<Member>;
  findById(id: string): Promise<Member | undefined>;
  findByNumber(number: string): Promise<Member | undefined>;
  /** Members in member-number order, `limit` at most, after `afterNumber` when given. */
  list(options: { limit: number; afterNumber?: string }): Promise<Member[]>;
  /** Applies the changes and returns the updated member, or undefined when there is none. */
  update(id: string, changes: MemberChanges): Promise<Member | undefined>;
}

export type Count = { count: number; resetAt: Date };

/** Fixed-window counters for rate limits, shared by every IdP instance on the same store. */
export interface Counters {
  /** Adds one to `key`, starting a new window of `windowSeconds` when the last one has ended. */
  increment(key: string, windowSeconds: number): Promise<Count>;
  /** The live window of `key`, if any. */
  get(key: string): Promise<Count | undefined>;
  reset(key: string): Promise<void>;
  /** Deletes counters whose window has ended (in small transactions, like documents); returns how many. */
  prune(): Promise<number>;
}

export type AuditEvent = {
  memberId: string | undefined;
  at: Date;
  type: string;
  outcome: 'success' | 'failure' | 'info';
  ip?: string;
  userAgent?: string;
  clientId?: string;
  detail?: Record<string, string | number | boolean>;
};

/** The append-only security activity trail. Never holds a secret. */
export interface AuditLog {
  append(event: AuditEvent): Promise<void>;
  /** Newest first. */
  listForMember(memberId: string, limit: number): Promise<AuditEvent[]>;
  /** Deletes events from before `before` (the retention); returns how many. */
  prune(before: Date): Promise<number>;
}

/** A member's WebAuthn credential (a passkey). */
export type Passkey = {
  /** The credential id, base64url. */
  id: string;
  memberId: string;
  /** The WebAuthn user handle the credential was created for, base64url. */
  userHandle: string;
  /** The COSE public key. */
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  /** True for a synced passkey (backup eligible), false for one bound to a single device. */
  synced: boolean;
  backedUp: boolean;
  aaguid: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | undefined;
  /** The app or browser it was last used from, in a few words. */
  lastUsedFrom: string | undefined;
};

/** A passkey, its member and the member's passkeys, as a log-in reads them (Passkeys.forLogIn). */
export type PasskeyLogInRead = { passkey: Passkey; member: Member | undefined; memberPasskeys: Passkey[] };

export interface Passkeys {
  /** Throws DuplicateError('id') when the credential id is already registered. */
  create(passkey: Passkey): Promise<void>;
  findById(id: string): Promise<Passkey | undefined>;
  /** Oldest first. */
  listForMember(memberId: string): Promise<Passkey[]>;
  /**
   * What a passkey log-in reads, in one read of the store: the passkey with this credential id, its
   * member (undefined if gone), and every passkey of that member, oldest first, itself among them.
   * Undefined when no passkey has this id.
   */
  forLogIn(id: string): Promise<PasskeyLogInRead | undefined>;
  /**
   * Records a successful use: sets the counter, last-used time and place, but only while the stored
   * counter still equals `expectedCounter` (compare-and-swap). False when another use got there first.
   */
  recordUse(id: string, use: { expectedCounter: number; counter: number; at: Date; from: string | undefined }): Promise<boolean>;
  /** False when the member has no such passkey. */
  rename(memberId: string, id: string, name: string): Promise<boolean>;
  /** False when the member has no such passkey. */
  remove(memberId: string, id: string): Promise<boolean>;
  /** How many members have at least one passkey. Reads every passkey's member: call it rarely. */
  countMembers(): Promise<number>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres' | 'mongodb';
  documents: ExpiringDocuments;
  members: Members;
  passkeys: Passkeys;
  counters: Counters;
  audit: AuditLog;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  /**
   * Makes a small real write, alone in its own transaction, and resolves once it is durable: rejects
   * with StoreUnavailableError while the store cannot write (disk full, read-only, no primary).
   */
  checkWrites(): Promise<void>;
  /**
   * Gives space freed by pruning back to the file system, a little at a time; returns how many
   * pages went back (0 where the store's engine manages its own space).
   */
  reclaimSpace(): Promise<number>;
  /**
   * The kinds of documents held in this process's memory (sign-ins in progress on the embedded store),
   * how many of each are held and how many their bounds pushed out since start. Absent where every
   * document is in the database.
   */
  inMemory?(): { kind: string; held: number; evicted: number }[];
  /** The size of the write-ahead log in bytes, where the store has one (the embedded store on a file). */
  walBytes?(): number;
  /**
   * How many statements the store has run for the IdP's features since it opened (reads and writes of
   * documents, members, passkeys, counters and audit; not health checks or upkeep), where it counts
   * them (the embedded store and PostgreSQL).
   */
  statementsRun?(): number;
  /**
   * How many times the store has waited for its database server for the IdP's features since it
   * opened (every statement, and a transaction's BEGIN and COMMIT), where it has a server to wait for
   * (PostgreSQL).
   */
  roundTripsRun?(): number;
  close(): Promise<void>;
}

/** What the embedded store reports of its commits, for the metrics. */
export type CommitObserver = {
  /** A shared transaction was committed (and flushed, where durability asks for it) and its statements answered. */
  committed(seconds: number, statements: number): void;
  /** A commit failed, or a statement failed for a reason that may pass (disk full, read-only, I/O). */
  failed(stage: 'commit' | 'statement'): void;
};

/** The clock a store reads expiry against; tests pass a controllable one. */
export type Clock = () => number;

/**
 * The store cannot do what a request needs right now (disk full, database read-only, an I/O error,
 * no writable MongoDB primary, no PostgreSQL server or only a standby): nothing of the failed transaction was kept, and a retry after
 * `retryAfter` seconds may succeed. Requests answer it with 503 and Retry-After.
 */
export class StoreUnavailableError extends Error {
  readonly retryAfter: number;
  constructor(message: string, options: { cause?: unknown; retryAfter?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'StoreUnavailableError';
    this.retryAfter = options.retryAfter ?? 60;
  }
}

/** `error`, or the first error in its chain of causes, when it is a StoreUnavailableError. */
export function storeUnavailable(error: unknown): StoreUnavailableError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof StoreUnavailableError) return current;
  }
  return undefined;
}

/**
 * The store cannot be opened as it is (another IdP process serves the embedded file, no database
 * server answers, or its schema is behind this IdP's): nothing was served, and the message is the
 * one line an operator sees.
 */
export class StoreOpenError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'StoreOpenError';
  }
}

/** A unique value (a member number) is already taken. */
export class DuplicateError extends Error {
  readonly field: string;
  constructor(field: string) {
    super(`${field} already exists`);
    this.field = field;
  }
}
