/** One versioned step of the PostgreSQL schema. */
export type Migration = { version: number; name: string; sql: string };

/**
 * The schema's steps, applied in order by `npm run db:migrate` (and on open outside production),
 * each recorded in `schema_migrations`. A step is never edited once released: a change is a new
 * step at the end. A fleet is upgraded one instance at a time, so a step must leave the schema
 * usable by the release before it (add first; drop only in a later release).
 *
 * Every key the store looks up by, ranges over or orders by is `COLLATE "C"`: byte order, the same
 * on every server whatever its locale, and what lets `id >= prefix AND id < end` use the primary key.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, members, passkeys, counters, audit',
    sql: `
    CREATE TABLE documents (
      kind text COLLATE "C" NOT NULL,
      id text COLLATE "C" NOT NULL,
      payload jsonb NOT NULL,
      grant_id text COLLATE "C",
      uid text COLLATE "C",
      user_code text COLLATE "C",
      consumed_at bigint,
      expires_at timestamptz,
      owner text COLLATE "C",
      written bigint,
      PRIMARY KEY (kind, id)
    ) WITH (fillfactor = 90);
    -- Consuming a code rewrites its row in place (no indexed column changes): the free tenth of each
    -- page keeps those updates on the same page.
    CREATE INDEX documents_uid ON documents (kind, uid) WHERE uid IS NOT NULL;
    CREATE INDEX documents_user_code ON documents (kind, user_code) WHERE user_code IS NOT NULL;
    CREATE INDEX documents_grant ON documents (kind, grant_id) WHERE grant_id IS NOT NULL;
    CREATE INDEX documents_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;
    -- A client address's share of a bounded kind (sign-ins in progress), in the order written.
    CREATE INDEX documents_owner_share ON documents (kind, owner, written) WHERE owner IS NOT NULL;
    CREATE SEQUENCE documents_written AS bigint;

    CREATE TABLE members (
      id text COLLATE "C" PRIMARY KEY,
      number text COLLATE "C" NOT NULL CONSTRAINT members_number_unique UNIQUE,
      name text NOT NULL,
      phone text NOT NULL,
      country text NOT NULL,
      status text NOT NULL,
      password_hash text NOT NULL,
      -- Raised when the member's credentials change: device cookies of an older generation count for nothing.
      device_generation integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );

    CREATE TABLE passkeys (
      id text COLLATE "C" PRIMARY KEY,
      member_id text COLLATE "C" NOT NULL,
      user_handle text NOT NULL,
      public_key bytea NOT NULL,
      counter bigint NOT NULL,
      transports text[] NOT NULL,
      synced boolean NOT NULL,
      backed_up boolean NOT NULL,
      aaguid text NOT NULL,
      name text NOT NULL,
      created_at timestamptz NOT NULL,
      last_used_at timestamptz,
      last_used_from text
    );
    CREATE INDEX passkeys_member ON passkeys (member_id, created_at, id);

    CREATE TABLE counters (
      key text COLLATE "C" PRIMARY KEY,
      count integer NOT NULL,
      reset_at timestamptz NOT NULL
    );
    CREATE INDEX counters_reset ON counters (reset_at);

    CREATE TABLE audit (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      member_id text COLLATE "C",
      at timestamptz NOT NULL,
      type text NOT NULL,
      outcome text NOT NULL,
      ip text,
      user_agent text,
      client_id text,
      detail jsonb
    );
    CREATE INDEX audit_member ON audit (member_id, at DESC, seq DESC) WHERE member_id IS NOT NULL;
    CREATE INDEX audit_time ON audit (at);

    CREATE TABLE write_check (
      id integer PRIMARY KEY,
      at timestamptz NOT NULL
    );
    `,
  },
];
