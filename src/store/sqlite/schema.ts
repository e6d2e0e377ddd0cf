import type { DatabaseSync } from 'node:sqlite';

/**
 * Versioned schema steps, applied in order on open. A step is never edited once released:
 * a change is a new step at the end.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE documents (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    payload TEXT NOT NULL,
    grant_id TEXT,
    uid TEXT,
    user_code TEXT,
    consumed_at INTEGER,
    expires_at INTEGER,
    PRIMARY KEY (kind, id)
  ) WITHOUT ROWID;
  CREATE INDEX documents_grant ON documents (kind, grant_id) WHERE grant_id IS NOT NULL;
  CREATE INDEX documents_uid ON documents (kind, uid) WHERE uid IS NOT NULL;
  CREATE INDEX documents_user_code ON documents (kind, user_code) WHERE user_code IS NOT NULL;
  CREATE INDEX documents_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;

  CREATE TABLE members (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    country TEXT NOT NULL,
    status TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id TEXT,
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    client_id TEXT,
    detail TEXT
  );
  CREATE INDEX audit_member ON audit (member_id, at);
  `,
  `
  CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    public_key BLOB NOT NULL,
    counter INTEGER NOT NULL,
    transports TEXT NOT NULL,
    synced INTEGER NOT NULL,
    backed_up INTEGER NOT NULL,
    aaguid TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    last_used_from TEXT
  );
  CREATE INDEX passkeys_member ON passkeys (member_id, created_at);
  `,
  // Documents move to a rowid table keyed by a unique index. Their payloads run to a kilobyte or
  // more, so a table clustered on random ids held three or four to a page and split a page on most
  // writes; appended by rowid, new documents share the last page, and the key index stays small.
  // This halves the pages each write puts in the WAL.
  `
  CREATE TABLE documents_by_rowid (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    payload TEXT NOT NULL,
    grant_id TEXT,
    uid TEXT,
    user_code TEXT,
    consumed_at INTEGER,
    expires_at INTEGER
  );
  INSERT INTO documents_by_rowid (kind, id, payload, grant_id, uid, user_code, consumed_at, expires_at)
    SELECT kind, id, payload, grant_id, uid, user_code, consumed_at, expires_at FROM documents;
  DROP TABLE documents;
  ALTER TABLE documents_by_rowid RENAME TO documents;
  CREATE UNIQUE INDEX documents_key ON documents (kind, id);
  CREATE INDEX documents_grant ON documents (kind, grant_id) WHERE grant_id IS NOT NULL;
  CREATE INDEX documents_uid ON documents (kind, uid) WHERE uid IS NOT NULL;
  CREATE INDEX documents_user_code ON documents (kind, user_code) WHERE user_code IS NOT NULL;
  CREATE INDEX documents_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;
  `,
  // Pruning reaches ended counters and old audit events by time, a slice at a time, without a scan;
  // the write check has a table of its own.
  `
  CREATE INDEX counters_reset ON counters (reset_at);
  CREATE INDEX audit_time ON audit (at);
  CREATE TABLE write_check (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
  `,
  // Device cookies are made under the member's generation and count only while it is current.
  // Existing members start at 0, which is also what the cookies they already hold were made under.
  `
  ALTER TABLE members ADD COLUMN device_generation INTEGER NOT NULL DEFAULT 0;
  `,
];

/**
 * Brings the database to the newest schema version (or to `target`, for tests of a step), one
 * transaction per step (safe when two processes open it at once).
 */
export function migrate(db: DatabaseSync, target = migrations.length): number {
  for (;;) {
    db.exec('BEGIN IMMEDIATE');
    try {
      const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
      if (version > migrations.length) {
        throw new Error(`database schema version ${version} is newer than this IdP knows (${migrations.length}): upgrade the IdP`);
      }
      if (version >= target) {
        db.exec('COMMIT');
        return version;
      }
      db.exec(migrations[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}
