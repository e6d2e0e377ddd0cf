/**
 * `npm run keys -- status | rotate | retire`: the signing key store the IdP uses (JWKS_FILE, or the
 * development keys under DATA_DIR). Running IdPs read the store every minute: what this writes is
 * published, and starts or stops signing, without a restart.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { keyStoreFileOf } from '../config/key-store-file.ts';
import { parseKeyStore } from '../config/load.ts';
import { loadSigningKeyOverlapHours } from '../config/operations.ts';
import { readProblem } from '../config/parse.ts';
import { keyStates, kindOf, retireKeys, rotateKeys, RotationRefused, type KeyState, type KeyStore, type ScheduledJwk } from '../config/signing-keys.ts';
import { SIGNING_KEY_RETENTION_SECONDS } from '../oidc/lifetimes.ts';
import { CliError, parseCommandLine, printRows, refused, usage } from './command-line.ts';

const USAGE = `Usage: npm run --silent keys -- <command>

The signing key store: JWKS_FILE, or DATA_DIR/jwks.json (development keys).

Commands:
  status                      every key, one JSON line each: kid, kind, state and its times
  rotate [--overlap-hours H]  add a new RSA (RS256) and EC P-256 (ES256) key: published at once, signing
                              after SIGNING_KEY_OVERLAP_HOURS (default 24); refused while a rotation waits
  retire                      remove the keys nothing still valid can need: replaced as signers more than
                              ${SIGNING_KEY_RETENTION_SECONDS / 3600} hours ago (the longest an ID token can come back, as an id_token_hint)
  help

States: signing (the key of its kind that signs now), next (published, signs from signs_from),
verifying (replaced; kept so that what it signed still verifies, until retire_after).
Exit status: 0 done; 1 refused (nothing written); 2 usage error. The reason is one line on stderr.
`;

type Row = { kid: string; kind: string; alg: string | undefined; state: KeyState; added_at: string | null; signs_from: string | null; replaced_at: string | null; retire_after: string | null };

function rows(store: KeyStore, now: number): Row[] {
  const iso = (at: number | undefined) => (at === undefined ? null : new Date(at).toISOString());
  return keyStates(store.keys, now).map(({ key, state, replacedAt }) => ({
    kid: String(key.kid),
    kind: kindOf(key),
    alg: typeof key.alg === 'string' ? key.alg : undefined,
    state,
    added_at: key.added_at ?? null,
    signs_from: key.signs_from ?? null,
    replaced_at: iso(replacedAt),
    retire_after: iso(replacedAt === undefined ? undefined : replacedAt + SIGNING_KEY_RETENTION_SECONDS * 1000),
  }));
}

function read(file: string, now: number): KeyStore {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw refused(`cannot read the key store ${file}: ${readProblem(error)}`);
  }
  const problems: string[] = [];
  const store = parseKeyStore(file, raw, problems, now);
  if (!store) throw refused(problems.join('; '));
  return store;
}

/** Replaces the file in one step (a running IdP never reads half of it), readable by its owner only. */
function write(file: string, store: KeyStore): void {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw refused(`cannot write the key store ${file}: ${(error as Error).message}`);
  }
}

function main(args: string[], env: NodeJS.ProcessEnv): Row[] {
  const [command, ...rest] = args;
  if (command === undefined) throw usage('keys', 'missing command');
  if (command === 'help' || command === '--help' || command === '-h') return help();
  const values = parseCommandLine('keys', command === 'rotate' ? { 'overlap-hours': { type: 'string' } } : {}, rest);
  if (values.help) return help();
  const file = keyStoreFileOf(env);
  const now = Date.now();
  switch (command) {
    case 'status':
      return rows(read(file, now), now);
    case 'rotate': {
      const problems: string[] = [];
      const overlap = values['overlap-hours'];
      const hours = typeof overlap === 'string' ? Number(overlap) : loadSigningKeyOverlapHours(env, problems);
      if (problems.length) throw refused(problems.join('; '));
      if (!Number.isFinite(hours) || hours < 0) throw new CliError(2, '--overlap-hours must be a number of hours, 0 or more');
      if (hours < 1) process.stderr.write('warning: relying parties that cache the JWKS will not know the new keys when they start signing\n');
      try {
        const { store, added } = rotateKeys(read(file, now), now, hours * 3600_000);
        write(file, store);
        return rows(store, now).filter((row) => added.some((key: ScheduledJwk) => key.kid === row.kid));
      } catch (error) {
        if (error instanceof RotationRefused) throw refused(error.message);
        throw error;
      }
    }
    case 'retire': {
      const { store, removed } = retireKeys(read(file, now), now, SIGNING_KEY_RETENTION_SECONDS * 1000);
      if (removed.length) write(file, store);
      process.stderr.write(`retired ${removed.length} key(s)${removed.length ? `: ${removed.map((key) => key.kid).join(', ')}` : ''}\n`);
      return rows(store, now);
    }
    default:
      throw usage('keys', `unknown command ${JSON.stringify(command.slice(0, 40))}`);
  }
}

function help(): [] {
  process.stdout.write(USAGE);
  return [];
}

await printRows(() => main(process.argv.slice(2), process.env));
