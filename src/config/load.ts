import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { ACCOUNT_CLIENT_ID, clientSchema } from './clients.ts';
import { defaultDatabaseUrl } from './database-url.ts';
import { DEMO_SITE_PORT, demoClients } from './demo-clients.ts';
import { keyStoreFileOf } from './key-store-file.ts';
import { loadMemberHelp, type MemberHelp } from './member-help.ts';
import { loadOpDocuments, type OpDocuments } from './op-documents.ts';
import { loadOperations, type OperationsSettings } from './operations.ts';
import { parse, readJson } from './parse.ts';
import { loadPasswordHashing, type PasswordHashing } from './passwords.ts';
import { loadLoginLimits, loadProtection, type LoginLimits, type ProtectionSettings } from './protection.ts';
import { loadApps, loadSms, loadStorage, loadWebAuthn } from './sections.ts';
import { generateSigningKey, keyStoreProblems, type KeyStore } from './signing-keys.ts';

export type ClientMetadata = Record<string, unknown> & { client_id: string };
export type Jwk = Record<string, unknown> & { kty: string; kid?: string };

/** The validated configuration the whole IdP runs on. */
export type Config = {
  production: boolean;
  port: number;
  issuer: string;
  databaseUrl: string;
  dataDir: string;
  clients: ClientMetadata[];
  cookieKeys: string[];
  /** The signing keys with their schedule, as read at start-up from `jwksFile`. */
  jwks: KeyStore;
  /** The signing key store: JWKS_FILE, or the development keys under DATA_DIR. */
  jwksFile: string;
  webauthn: WebAuthnSettings;
  sms: SmsSettings;
  apps: { android: { packageName: string; fingerprint: string }[]; ios: string[] };
  logLevel: LogLevel;
  loginLimits: LoginLimits;
  /** What new and changed passwords are hashed with (argon2id). */
  passwordHashing: PasswordHashing;
  protection: ProtectionSettings;
  documents: OpDocuments;
  /** The log-in page's help: the programme's reset path and the JMB desk's contact. */
  help: MemberHelp;
  operations: OperationsSettings;
  /** The port of the demo website (`npm run demo`), which the built-in website client's addresses follow. */
  demoPort: number;
  /** The passkey offered after a password log-in: whether it is made, and after "Not now" the days before it is made again. */
  passkeyOffer: { enabled: boolean; snoozeDays: number };
  storage: StorageSettings;
};

/** Upkeep and durability of the store, and how many connections to a database server it keeps. */
export type StorageSettings = {
  pruneIntervalSeconds: number;
  auditRetentionDays: number;
  sqliteSynchronous: 'full' | 'normal';
  databasePoolSize: number;
  databasePreparedStatements: boolean;
};

export type SmsLimits = {
  cooldownSeconds: number;
  /** Codes to one member within `burstWindowSeconds`, across steps. */
  burstPerMember: number;
  burstWindowSeconds: number;
  perMemberPerDay: number;
  perPhonePerDay: number;
  perIpPerHour: number;
  perHour: number;
};

/** How SMS messages leave the IdP, and the budgets that keep them from being abused. */
export type SmsSettings = {
  transport: 'outbox' | 'twilio';
  outboxFile: string;
  twilio: { accountSid: string; authToken: string; from?: string; messagingServiceSid?: string } | undefined;
  limits: SmsLimits;
};

/** Where passkeys are bound: one RP ID, and every origin a ceremony may come from. */
export type WebAuthnSettings = { rpId: string; rpName: string; origins: string[]; relatedOrigins: string[] };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Thrown with every problem found, so an operator fixes them all in one go. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

// Only the shape here: each key is checked on its own (signing-keys.ts), in a line naming its kid.
const jwksSchema = z.object({ keys: z.array(z.looseObject({}), 'must be a JSON object with a "keys" array of private JWKs').min(1) }, 'must be a JSON object with a "keys" array of private JWKs');

/**
 * Reads the settings from `env`, fills development defaults (generating keys under DATA_DIR once),
 * and validates everything. Throws ConfigError listing every problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const refuseInProduction = (name: string, what: string) => {
    if (production) problems.push(`${name} must be set in production (${what} is for development only)`);
  };

  const port = parse('PORT', env.PORT ?? '3000', z.coerce.number().int().min(0).max(65535), problems) ?? 3000;
  const dataDir = path.resolve(env.DATA_DIR ?? './data');

  const issuer = (env.ISSUER ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const issuerUrl = URL.parse(issuer);
  if (!issuerUrl || !['http:', 'https:'].includes(issuerUrl.protocol)) {
    problems.push(`ISSUER must be an http(s) URL, got "${issuer}"`);
  } else if (issuerUrl.search || issuerUrl.hash) {
    problems.push('ISSUER must not have a query or fragment');
  } else if (production && issuerUrl.protocol === 'http:' && !isLoopback(issuerUrl.hostname)) {
    problems.push(`ISSUER must be https in production, got "${issuer}"`);
  }

  const databaseUrl = env.DATABASE_URL ?? defaultDatabaseUrl(env);
  if (!/^sqlite:.+/.test(databaseUrl) && !/^postgres(ql)?:\/\/.+/.test(databaseUrl) && !/^mongodb(\+srv)?:\/\/.+/.test(databaseUrl)) {
    problems.push('DATABASE_URL must be "sqlite:<path>", "sqlite::memory:", "postgres://…" or "mongodb://…"');
  }

  const demoPort = parse('DEMO_PORT', env.DEMO_PORT ?? String(DEMO_SITE_PORT), z.coerce.number().int().min(1).max(65535), problems) ?? DEMO_SITE_PORT;
  let clients: ClientMetadata[] = [];
  if (env.OIDC_CLIENTS_FILE) {
    const raw = readJson('OIDC_CLIENTS_FILE', env.OIDC_CLIENTS_FILE, problems);
    if (raw !== undefined) clients = parse('OIDC_CLIENTS_FILE', raw, z.array(clientSchema).min(1), problems) as ClientMetadata[] ?? [];
  } else {
    refuseInProduction('OIDC_CLIENTS_FILE', 'the built-in demo client list');
    clients = demoClients(`http://localhost:${demoPort}`);
  }
  const ids = clients.map((c) => c.client_id);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) problems.push(`OIDC_CLIENTS_FILE lists client_id "${duplicate}" twice`);
  if (ids.includes(ACCOUNT_CLIENT_ID)) problems.push(`OIDC_CLIENTS_FILE: client_id "${ACCOUNT_CLIENT_ID}" is reserved for the account page`);

  let cookieKeys: string[] = [];
  if (env.COOKIE_KEYS) {
    cookieKeys = env.COOKIE_KEYS.split(',').map((k) => k.trim()).filter(Boolean);
    if (cookieKeys.length === 0) problems.push('COOKIE_KEYS must hold at least one key');
    if (cookieKeys.some((k) => k.length < 32)) problems.push('COOKIE_KEYS: every key must be at least 32 characters');
  } else {
    refuseInProduction('COOKIE_KEYS', 'a generated key');
    if (!production) cookieKeys = developmentSecret(dataDir, 'cookie-keys.json', () => [randomBytes(32).toString('base64url')], problems) ?? [];
  }

  let jwks: KeyStore = { keys: [] };
  const jwksFile = keyStoreFileOf(env);
  if (env.JWKS_FILE) {
    const raw = readJson('JWKS_FILE', env.JWKS_FILE, problems);
    if (raw !== undefined) jwks = parseKeyStore('JWKS_FILE', raw, problems) ?? jwks;
  } else {
    refuseInProduction('JWKS_FILE', 'a generated signing key');
    const raw = production ? undefined : developmentSecret(dataDir, 'jwks.json', generateJwks, problems);
    if (raw !== undefined) jwks = parseKeyStore(jwksFile, raw, problems) ?? jwks;
  }

  const webauthn = loadWebAuthn(env, issuerUrl, problems);
  const apps = loadApps(env, problems);
  const sms = loadSms(env, dataDir, production, problems);
  const logLevel = parse('LOG_LEVEL', env.LOG_LEVEL ?? 'info', z.enum(['debug', 'info', 'warn', 'error', 'silent']), problems) ?? 'info';
  const loginLimits = loadLoginLimits(env, problems);
  const passwordHashing = loadPasswordHashing(env, problems);
  const protection = loadProtection(env, problems);

  const documents = loadOpDocuments(env, production, problems);
  const help = loadMemberHelp(env, production, problems);
  const passkeyOffer = {
    enabled: (parse('PASSKEY_OFFER', env.PASSKEY_OFFER ?? 'on', z.enum(['on', 'off']), problems) ?? 'on') === 'on',
    snoozeDays: parse('PASSKEY_OFFER_SNOOZE_DAYS', env.PASSKEY_OFFER_SNOOZE_DAYS ?? '30', z.coerce.number().int().positive(), problems) ?? 30,
  };

  const operations = loadOperations(env, port, problems);
  if ((operations.workers > 1 || operations.workersAuto) && databaseUrl.startsWith('sqlite:')) {
    problems.push('WORKERS needs a shared store (DATABASE_URL=postgres://…): the embedded SQLite store is one process per file');
  }
  const storage = loadStorage(env, problems);

  if (problems.length) throw new ConfigError(problems);
  return { production, port, issuer, databaseUrl, dataDir, clients, cookieKeys, jwks, jwksFile, webauthn, sms, apps, logLevel, loginLimits, passwordHashing, protection, documents, help, demoPort, passkeyOffer, storage, operations };
}

/** loadConfig for a command's entry point: on a ConfigError, prints every problem and exits 1 before anything listens. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`jmb-idp: ${error.message}\n`);
    process.exit(1);
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Reads a development secret from DATA_DIR, creating it (owner-only) the first time. */
function developmentSecret<T>(dataDir: string, file: string, create: () => T, problems: string[]): T | undefined {
  const full = path.join(dataDir, file);
  if (existsSync(full)) return readJson('DATA_DIR', full, problems) as T | undefined;
  mkdirSync(dataDir, { recursive: true });
  const value = create();
  writeFileSync(full, JSON.stringify(value, null, 2), { mode: 0o600, flag: 'wx' });
  return value;
}

/** A fresh private JWKS: ES256 (our own clients') and RS256 (the spec default). */
export function generateJwks(): KeyStore {
  return { keys: [generateSigningKey('EC P-256', Date.now()), generateSigningKey('RSA', Date.now())] };
}

/**
 * A signing key store read from `name` (JWKS_FILE, or the development key file): private JWKs with
 * their schedule (signing-keys.ts), of which an RSA and an EC P-256 key may sign now. Used at start-up
 * and by the running IdP when the file changes.
 */
export function parseKeyStore(name: string, raw: unknown, problems: string[], now = Date.now()): KeyStore | undefined {
  const store = parse(name, raw, jwksSchema, problems) as KeyStore | undefined;
  if (!store) return undefined;
  const found = keyStoreProblems(store, now);
  for (const problem of found) problems.push(`${name}: ${problem}`);
  return found.length ? undefined : store;
}
