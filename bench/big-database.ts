/**
 * A big embedded database for `npm run bench:prune` and `npm run bench:backup`: stored documents
 * as oidc-provider writes them, some expired, beside the members the benchmark logs in; and the
 * `npm run db:backup` command run against it as an operator would.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { BENCH_CLIENT } from './common.ts';

const day = 24 * 3600 * 1000;

/** Documents as oidc-provider writes them: kind, share of all documents, payload size in bytes. */
const KINDS = [
  { kind: 'Session', share: 0.3, bytes: 700 },
  { kind: 'Grant', share: 0.25, bytes: 500 },
  { kind: 'AccessToken', share: 0.2, bytes: 900 },
  { kind: 'RefreshToken', share: 0.15, bytes: 1100 },
  { kind: 'AuthorizationCode', share: 0.1, bytes: 800 },
] as const;

/**
 * Adds `documents` documents to the database at `file` (already holding the schema), `expired` of
 * them expired and spread evenly through the table; returns how many are expired now.
 */
export function fillDocuments(file: string, documents: number, expired: number): number {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA synchronous = OFF');
  const insert = db.prepare('INSERT INTO documents (kind, id, payload, grant_id, uid, user_code, consumed_at, expires_at) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)');
  const now = Date.now();
  const filler = randomBytes(2048).toString('base64url');
  const expiredEvery = documents / expired;
  db.exec('BEGIN');
  for (let i = 0; i < documents; i++) {
    const roll = (i * 0.618033988749895) % 1;
    let acc = 0;
    const spec = KINDS.find((k) => (acc += k.share) > roll) ?? KINDS[0];
    const id = randomBytes(16).toString('base64url');
    const grantId = spec.kind === 'Session' ? null : randomBytes(16).toString('base64url');
    const uid = spec.kind === 'Session' ? randomBytes(16).toString('base64url') : null;
    const payload = JSON.stringify({ kind: spec.kind, jti: id, grantId, uid, accountId: randomBytes(16).toString('hex'), clientId: BENCH_CLIENT.client_id, filler: filler.slice(0, spec.bytes - 200) });
    const isExpired = Math.floor(i / expiredEvery) !== Math.floor((i + 1) / expiredEvery);
    const expiresAt = isExpired ? now - 1000 - (i % 7) * day : now + 3600_000 + (i % 14) * day;
    insert.run(spec.kind, id, payload, grantId, uid, expiresAt);
    if (i % 50_000 === 49_999) {
      db.exec('COMMIT');
      db.exec('BEGIN');
    }
  }
  db.exec('COMMIT');
  const { count } = db.prepare('SELECT count(*) AS count FROM documents WHERE expires_at <= ?').get(now) as { count: number };
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  return Number(count);
}

/**
 * `npm run db:backup` of the database at `file` to `target` (with the command of another checkout
 * of the project at `checkout`, if given); resolves with what it printed.
 */
export function backUp(file: string, target: string, checkout = path.join(import.meta.dirname, '..')): Promise<string> {
  return new Promise((resolve, reject) => {
    // A checkout from before the tools moved to src/cli/ has the command under src/store/.
    const command = ['src/cli/backup.ts', 'src/store/backup-cli.ts'].map((file) => path.join(checkout, file)).find((file) => existsSync(file))!;
    const child = spawn(process.execPath, [command, '--to', target], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: `sqlite:${file}` },
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`db:backup exited with ${code}: ${out}`))));
  });
}
