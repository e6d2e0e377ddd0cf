import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, generateJwks, loadConfig } from '../../src/config/load.ts';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'jmb-config-'));

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

function productionFiles(dir: string) {
  const clients = path.join(dir, 'clients.json');
  writeFileSync(clients, JSON.stringify([{ client_id: 'website', client_secret: 's', redirect_uris: ['https://www.example.jp/cb'] }]));
  const jwks = path.join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify(generateJwks()));
  return { OIDC_CLIENTS_FILE: clients, JWKS_FILE: jwks, COOKIE_KEYS: 'k'.repeat(40) };
}

test('a fresh machine gets working development defaults, generated once and kept', (t) => {
  const dir = tempDir();
  const first = loadConfig({ DATA_DIR: dir });
  t.is(first.port, 3000);
  t.is(first.issuer, 'http://localhost:3000');
  t.is(first.databaseUrl, `sqlite:${path.join(dir, 'jmb-idp.db')}`);
  t.false(first.production);
  t.deepEqual(first.clients.map((c) => c.client_id), ['jmb-website', 'jmb-app']);
  t.true(first.jwks.keys.some((k) => k.kty === 'EC' && k.crv === 'P-256'));
  t.true(first.jwks.keys.some((k) => k.kty === 'RSA'));
  const second = loadConfig({ DATA_DIR: dir });
  t.deepEqual(second.cookieKeys, first.cookieKeys, 'cookie keys survive a restart');
  t.deepEqual(second.jwks, first.jwks, 'signing keys survive a restart');
});

test('production refuses every unsafe development default, naming the variable to set', (t) => {
  const problems = problemsOf({ NODE_ENV: 'production', DATA_DIR: tempDir(), ISSUER: 'http://idp.example.jp' });
  t.true(problems.some((p) => p.startsWith('ISSUER must be https in production')));
  t.true(problems.some((p) => p.startsWith('OIDC_CLIENTS_FILE must be set in production')));
  t.true(problems.some((p) => p.startsWith('COOKIE_KEYS must be set in production')));
  t.true(problems.some((p) => p.startsWith('JWKS_FILE must be set in production')));
  t.true(problems.some((p) => p.startsWith('SMS_TRANSPORT must be "twilio" in production')));
  t.is(problems.length, 5, 'every problem is reported at once');
});

test('production with real settings loads', (t) => {
  const dir = tempDir();
  const config = loadConfig({
    NODE_ENV: 'production', DATA_DIR: dir, ISSUER: 'https://idp.example.jp/', TRUST_PROXY: '1', ...productionFiles(dir),
    SMS_TRANSPORT: 'twilio', TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'token', TWILIO_FROM: 'JMB',
  });
  t.true(config.production);
  t.is(config.issuer, 'https://idp.example.jp', 'a trailing slash is dropped');
  t.deepEqual(config.protection.trustProxy, { hops: 1 });
});

test('bad values are reported together with what was expected', (t) => {
  const dir = tempDir();
  const badJwks = path.join(dir, 'rsa-only.json');
  const { keys } = generateJwks();
  writeFileSync(badJwks, JSON.stringify({ keys: keys.filter((k) => k.kty === 'RSA') }));
  const problems = problemsOf({
    DATA_DIR: dir,
    PORT: 'eighty',
    DATABASE_URL: 'mysql://db/idp',
    TRUST_PROXY: 'maybe',
    COOKIE_KEYS: 'short',
    JWKS_FILE: badJwks,
    OIDC_CLIENTS_FILE: path.join(dir, 'missing.json'),
    LOGIN_MAX_FAILURES_PER_MEMBER: '0',
  });
  for (const name of ['PORT', 'DATABASE_URL', 'TRUST_PROXY', 'COOKIE_KEYS', 'JWKS_FILE', 'OIDC_CLIENTS_FILE', 'LOGIN_MAX_FAILURES_PER_MEMBER']) {
    t.true(problems.some((p) => p.startsWith(name)), `${name} is named`);
  }
});

test('DATABASE_URL names SQLite, PostgreSQL or MongoDB, and a wrong one is told every form', (t) => {
  const dir = tempDir();
  for (const url of ['postgres://idp@db:5432/idp', 'postgresql://idp:secret@db/idp?sslmode=require', 'mongodb://mongo:27017/idp', 'sqlite::memory:']) {
    t.is(loadConfig({ DATA_DIR: dir, DATABASE_URL: url }).databaseUrl, url);
  }
  const problem = problemsOf({ DATA_DIR: dir, DATABASE_URL: 'mysql://db/idp' }).find((p) => p.startsWith('DATABASE_URL'));
  t.regex(problem ?? '', /"sqlite:<path>".*"postgres:\/\/…".*"mongodb:\/\/…"/);
});

test('a JWKS without an RSA key or without an EC P-256 key is refused, saying what each is for', (t) => {
  const dir = tempDir();
  const { keys } = generateJwks();
  for (const [kty, reason] of [['RSA', /RSA key: RS256/], ['EC', /EC P-256 key: .*ES256/]] as const) {
    const file = path.join(dir, `without-${kty}.json`);
    writeFileSync(file, JSON.stringify({ keys: keys.filter((k) => k.kty !== kty) }));
    const problems = problemsOf({ DATA_DIR: dir, JWKS_FILE: file });
    t.true(problems.some((p) => p.startsWith('JWKS_FILE') && reason.test(p)), `without ${kty}: ${problems.join('; ')}`);
  }
});

test('clients may use only the code response type and the query response mode', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'clients.json');
  const client = { client_id: 'website', client_secret: 's', redirect_uris: ['https://x/cb'] };
  writeFileSync(file, JSON.stringify([{ ...client, response_types: ['code'], response_modes: ['query'] }]));
  t.deepEqual(problemsOf({ DATA_DIR: dir, OIDC_CLIENTS_FILE: file }), []);
  for (const refused of [{ response_types: ['none'] }, { response_types: ['code id_token'] }, { response_modes: ['form_post'] }, { response_modes: ['query', 'fragment'] }]) {
    writeFileSync(file, JSON.stringify([{ ...client, ...refused }]));
    t.true(problemsOf({ DATA_DIR: dir, OIDC_CLIENTS_FILE: file }).some((p) => p.startsWith('OIDC_CLIENTS_FILE') && /only the "code" response type|only the "query" response mode/.test(p)), JSON.stringify(refused));
  }
});

test('the documents discovery points to must be URLs, https in production', (t) => {
  const dir = tempDir();
  const config = loadConfig({ DATA_DIR: dir, SERVICE_DOCUMENTATION: 'https://developers.jmb.example/idp', OP_POLICY_URI: 'http://localhost:3001/privacy' });
  t.deepEqual(config.documents, { serviceDocumentation: 'https://developers.jmb.example/idp', policyUri: 'http://localhost:3001/privacy' });
  t.true(problemsOf({ DATA_DIR: dir, OP_TOS_URI: 'terms.html' }).some((p) => p.startsWith('OP_TOS_URI must be an http(s) URL')));
  const production = problemsOf({ NODE_ENV: 'production', DATA_DIR: dir, ...productionFiles(dir), OP_POLICY_URI: 'http://jmb.example/privacy' });
  t.true(production.some((p) => p.startsWith('OP_POLICY_URI must be an https URL')));
});

test('client ids with dots are refused (they would be unsafe as MongoDB keys)', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'clients.json');
  writeFileSync(file, JSON.stringify([{ client_id: 'jp.jmb.web', redirect_uris: ['https://x/cb'] }]));
  t.true(problemsOf({ DATA_DIR: dir, OIDC_CLIENTS_FILE: file }).some((p) => p.includes('client_id')));
});

test('the server exits non-zero before listening when the configuration is wrong', (t) => {
  const result = spawnSync(process.execPath, ['src/main.ts'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', DATA_DIR: tempDir(), PORT: '0' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(result.status, 1);
  t.regex(result.stderr, /COOKIE_KEYS must be set in production/);
  t.regex(result.stderr, /JWKS_FILE must be set in production/);
  t.notRegex(result.stdout, /listening/);
});

test('metrics are served only on a port of their own, and a token for them must be long', (t) => {
  const dir = tempDir();
  t.is(loadConfig({ DATA_DIR: dir }).operations.metricsPort, undefined, 'no metrics listener unless asked for');
  t.like(loadConfig({ DATA_DIR: dir, METRICS_PORT: '9464', METRICS_TOKEN: 'x'.repeat(32) }).operations, { metricsPort: 9464, metricsToken: 'x'.repeat(32) });
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: '3000', METRICS_PORT: '3000' }, /^METRICS_PORT must differ from PORT/],
    [{ METRICS_PORT: 'ninety' }, /^METRICS_PORT/],
    [{ METRICS_PORT: '9464', METRICS_TOKEN: 'short' }, /^METRICS_TOKEN must be at least 32 characters/],
    [{ METRICS_TOKEN: 'x'.repeat(32) }, /^METRICS_TOKEN is set but METRICS_PORT is not/],
    [{ SMS_PRICE_PER_SEGMENT: '-1' }, /^SMS_PRICE_PER_SEGMENT/],
  ];
  for (const [env, problem] of cases) t.true(problemsOf({ DATA_DIR: dir, ...env }).some((p) => problem.test(p)), JSON.stringify(env));
});

test('WORKERS: one process unless asked; a number or auto; more than one needs a shared store, refused on SQLite in one line', (t) => {
  const dir = tempDir();
  const postgres = { DATA_DIR: dir, DATABASE_URL: 'postgres://idp@db/jmb_idp' };
  t.like(loadConfig({ DATA_DIR: dir }).operations, { workers: 1, signingKeyCheckSeconds: 60 });
  t.is(loadConfig({ ...postgres, WORKERS: '4' }).operations.workers, 4);
  t.is(loadConfig({ ...postgres, WORKERS: 'auto' }).operations.workers, availableParallelism());
  t.is(loadConfig({ DATA_DIR: dir, WORKERS: '1' }).operations.workers, 1, 'one process is the embedded store\'s own way');
  const refusal = 'WORKERS needs a shared store (DATABASE_URL=postgres://…): the embedded SQLite store is one process per file';
  t.deepEqual(problemsOf({ DATA_DIR: dir, WORKERS: '2' }), [refusal]);
  t.deepEqual(problemsOf({ DATA_DIR: dir, WORKERS: 'auto' }), [refusal]);
  t.true(problemsOf({ ...postgres, WORKERS: 'all' }).some((p) => /^WORKERS: must be a number of processes or "auto"/.test(p)));
  t.true(problemsOf({ ...postgres, WORKERS: '0' }).some((p) => /^WORKERS/.test(p)));
  t.is(loadConfig({ DATA_DIR: dir, SIGNING_KEY_CHECK_SECONDS: '2' }).operations.signingKeyCheckSeconds, 2);
  t.true(problemsOf({ DATA_DIR: dir, SIGNING_KEY_CHECK_SECONDS: '0' }).some((p) => /^SIGNING_KEY_CHECK_SECONDS/.test(p)));
});

test('storage upkeep: pruning every ten minutes, audit kept 400 days, durability normal, statements prepared by default; bad values named', (t) => {
  const dir = tempDir();
  t.deepEqual(loadConfig({ DATA_DIR: dir }).storage,
    { pruneIntervalSeconds: 600, auditRetentionDays: 400, sqliteSynchronous: 'normal', databasePoolSize: 10, databasePreparedStatements: true });
  t.deepEqual(loadConfig({ DATA_DIR: dir, PRUNE_INTERVAL_SECONDS: '60', AUDIT_RETENTION_DAYS: '0', SQLITE_SYNCHRONOUS: 'full', DATABASE_POOL_SIZE: '40', DATABASE_PREPARED_STATEMENTS: 'off' }).storage,
    { pruneIntervalSeconds: 60, auditRetentionDays: 0, sqliteSynchronous: 'full', databasePoolSize: 40, databasePreparedStatements: false });
  const problems = problemsOf({ DATA_DIR: dir, PRUNE_INTERVAL_SECONDS: '0', AUDIT_RETENTION_DAYS: '-1', SQLITE_SYNCHRONOUS: 'off', DATABASE_POOL_SIZE: '0', DATABASE_PREPARED_STATEMENTS: 'yes' });
  for (const name of ['PRUNE_INTERVAL_SECONDS', 'AUDIT_RETENTION_DAYS', 'SQLITE_SYNCHRONOUS', 'DATABASE_POOL_SIZE', 'DATABASE_PREPARED_STATEMENTS']) t.true(problems.some((p) => p.startsWith(name)), name);
});

test('connections and pushed requests: seconds-long server timeouts, a per-address share of an eighth, a few KB per pushed request; bad values named', (t) => {
  const dir = tempDir();
  const { protection } = loadConfig({ DATA_DIR: dir });
  t.deepEqual(protection.server, { headersSeconds: 10, requestSeconds: 30, keepAliveSeconds: 65 });
  t.like(protection.shedding, { maxInFlight: 512, maxInFlightPerAddress: 64 });
  t.like(protection.pushedRequests, { perClientAndAddressPerMinute: 300, maxBytes: 4096 });
  t.is(loadConfig({ DATA_DIR: dir, SHED_MAX_REQUESTS_IN_FLIGHT: '80' }).protection.shedding.maxInFlightPerAddress, 10, 'the share follows the whole');
  t.deepEqual(problemsOf({ DATA_DIR: dir, SHED_MAX_REQUESTS_IN_FLIGHT: '32', SHED_MAX_IN_FLIGHT_PER_ADDRESS: '32' }),
    ['SHED_MAX_IN_FLIGHT_PER_ADDRESS must be below SHED_MAX_REQUESTS_IN_FLIGHT: otherwise one address alone could make the IdP refuse every new sign-in']);
  t.deepEqual(problemsOf({ DATA_DIR: dir, HTTP_HEADERS_TIMEOUT_SECONDS: '40' }), ['HTTP_REQUEST_TIMEOUT_SECONDS must be at least HTTP_HEADERS_TIMEOUT_SECONDS']);
  const problems = problemsOf({ DATA_DIR: dir, HTTP_REQUEST_TIMEOUT_SECONDS: '0', HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: 'x', PAR_MAX_BYTES: '-1', PAR_PER_CLIENT_AND_ADDRESS_PER_MINUTE: '1.5' });
  for (const name of ['HTTP_REQUEST_TIMEOUT_SECONDS', 'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', 'PAR_MAX_BYTES', 'PAR_PER_CLIENT_AND_ADDRESS_PER_MINUTE']) t.true(problems.some((p) => p.startsWith(name)), name);
});

test('passwords are hashed at OWASP\'s argon2id parameters unless set, and never weaker than OWASP\'s weakest', (t) => {
  const dir = tempDir();
  t.deepEqual(loadConfig({ DATA_DIR: dir }).passwordHashing, { memoryKib: 19456, passes: 2, parallelism: 1 });
  t.deepEqual(loadConfig({ DATA_DIR: dir, PASSWORD_ARGON2_MEMORY_KIB: '47104', PASSWORD_ARGON2_PASSES: '1' }).passwordHashing, { memoryKib: 47104, passes: 1, parallelism: 1 });
  t.deepEqual(problemsOf({ DATA_DIR: dir, PASSWORD_ARGON2_MEMORY_KIB: '8192' }), [
    'PASSWORD_ARGON2_MEMORY_KIB × PASSWORD_ARGON2_PASSES must be at least OWASP\'s weakest argon2id (7168 KiB × 5 passes, and at least 7168 KiB), got 8192 KiB × 2',
  ]);
  const problems = problemsOf({ DATA_DIR: dir, PASSWORD_ARGON2_MEMORY_KIB: '2000000', PASSWORD_ARGON2_PASSES: 'two', PASSWORD_ARGON2_PARALLELISM: '0' });
  t.deepEqual(problems.map((problem) => problem.split(':')[0]), ['PASSWORD_ARGON2_MEMORY_KIB', 'PASSWORD_ARGON2_PASSES', 'PASSWORD_ARGON2_PARALLELISM']);
});
