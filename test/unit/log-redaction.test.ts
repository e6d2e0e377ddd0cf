import test from 'ava';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import Provider from 'oidc-provider';
import { createLogger, isoNow, type LogFields } from '../../src/log.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as Record<string, string>;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const opaque = () => randomBytes(32).toString('base64url');
const jwt = () => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: opaque() })).toString('base64url')}.${randomBytes(64).toString('base64url')}`;

/** Every kind of secret the IdP handles, each once, as a caller or a library might hand it to the logger. */
function secrets() {
  const s = {
    password: 'correct horse battery staple 42',
    newPassword: 'another passphrase 43',
    smsCode: '007331',
    otp: '482913',
    authorizationCode: opaque(),
    accessToken: opaque(),
    refreshToken: opaque(),
    idToken: jwt(),
    clientSecret: 'website-secret-for-tests-only-0123456789',
    sessionCookie: opaque(),
    cookieSignature: opaque(),
    bearer: opaque(),
    basic: Buffer.from('website:website-secret').toString('base64'),
    metricsToken: 'm'.repeat(8) + opaque(),
    hmacKey: opaque(),
  };
  return s;
}

function capture(level: 'debug' | 'error' = 'debug') {
  const lines: string[] = [];
  return { logger: createLogger(level, (line) => lines.push(line)), lines };
}

test('no secret handed to the logger, in fields or in errors, reaches the output', async (t) => {
  const s = secrets();
  const { logger, lines } = capture();
  const cases: [string, LogFields][] = [
    ['password', { password: s.password, member: { newPassword: s.newPassword } }],
    ['SMS code', { code: s.smsCode, form: { otp: s.otp, number: '12345678' } }],
    ['authorization code', { code: s.authorizationCode }],
    ['tokens', { tokens: { access_token: s.accessToken, refresh_token: s.refreshToken, id_token: s.idToken }, id_token_hint: s.idToken }],
    ['client secret', { client: { client_id: 'website', client_secret: s.clientSecret }, clientSecret: s.clientSecret }],
    ['cookie', { headers: { cookie: `_session=${s.sessionCookie}; _session.sig=${s.cookieSignature}` }, 'set-cookie': [`jmb.device=${s.sessionCookie}`] }],
    ['Authorization header', { headers: { authorization: `Bearer ${s.bearer}`, 'proxy-authorization': `Basic ${s.basic}` } }],
    ['a setting', { settings: { METRICS_TOKEN: s.metricsToken } }],
    ['private JWKs', { key: rsa, keys: [ec, { kty: 'oct', k: s.hmacKey }] }],
    ['secrets in text', {
      url: `https://rp.example.com/cb?code=${s.authorizationCode}&state=abc`,
      body: `grant_type=refresh_token&refresh_token=${s.refreshToken}&client_secret=${s.clientSecret}`,
      header: `Authorization: Bearer ${s.bearer}`,
      description: `the token ${s.idToken} has expired`,
    }],
    ['errors', {
      error: new Error(`cannot import ${JSON.stringify(rsa)}`),
      again: new Error(`cannot import ${inspect(ec)}`, { cause: rsa }),
      aggregate: new AggregateError([new Error(`request with Authorization: Bearer ${s.bearer} failed`), new Error(`token ${s.accessToken} unknown`)], 'several'),
      rejected: Object.assign(new Error(`invalid code ${s.authorizationCode}`), { code: s.smsCode }),
    }],
  ];
  for (const [what, fields] of cases) {
    logger.warn(what, fields);
    logger.error(what, fields);
  }
  // oidc-provider's own refusal of a key: its error carries the key itself as the cause.
  const { p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...withoutCrt } = rsa;
  const refusal = t.throws(() => new Provider('http://localhost:3000', { adapter: class {} as never, jwks: { keys: [{ ...withoutCrt, kid: 'rsa-no-crt' }] } }));
  t.like(refusal?.cause, { d: rsa.d }, 'the provider\'s error carries the private key');
  logger.error('oidc-provider refused a key', { error: refusal });

  const output = lines.join('');
  t.is(lines.length, cases.length * 2 + 1);
  for (const [what, secret] of Object.entries(s)) t.false(output.includes(secret), `the output holds the ${what}`);
  for (const key of [rsa, ec]) {
    for (const member of PRIVATE_MEMBERS) if (key[member]) t.false(output.includes(key[member]!.slice(0, 16)), `the output holds ${key.kty} ${member}`);
  }
  for (const line of lines) t.notThrows(() => JSON.parse(line), 'each line is JSON');
  t.true(output.includes('rsa-no-crt'), 'what is not secret stays: the kid of the refused key');
  t.true(output.includes('jwks.keys[0].p configuration must be a non-empty string'), 'and the reason');
});

test('what names an error stays: error codes, a Twilio code, whether a token is set', (t) => {
  const { logger, lines } = capture();
  logger.info('request refused', { code: 'invalid_credentials', status: 401 });
  logger.warn('twilio send failed', { code: 21211, status: 400 });
  logger.info('metrics listening', { port: 9464, token: true });
  logger.error('store failed', { error: Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' }) });
  logger.info('signing keys changed', { signing: ['rs256-20260601-a1b2c3'], path: '/interaction/abc/login' });
  const [refused, twilio, metrics, store, keys] = lines.map((line) => JSON.parse(line));
  t.like(refused, { code: 'invalid_credentials', status: 401 });
  t.like(twilio, { code: 21211 });
  t.like(metrics, { token: true });
  t.like(store.error, { name: 'Error', message: 'disk full', code: 'SQLITE_FULL' });
  t.deepEqual(keys.signing, ['rs256-20260601-a1b2c3']);
  t.is(keys.path, '/interaction/abc/login');
});

test('an error keeps its stack at error level only, and the stack never repeats the message', (t) => {
  const { logger, lines } = capture();
  const error = new Error(`cannot use ${JSON.stringify(ec)}`);
  logger.warn('passing', { error });
  logger.error('failing', { error });
  const [warned, failed] = lines.map((line) => JSON.parse(line));
  t.is(warned.error.stack, undefined);
  t.regex(failed.error.stack, /^\s+at /);
  t.false(failed.error.stack.includes('cannot use'));
  t.false(lines.join('').includes(ec.d!));
});

test('an error nothing caught stops the IdP with one redacted line, for a throw and for a rejection', (t) => {
  const log = new URL('../../src/log.ts', import.meta.url).href;
  const uncaught = new URL('../../src/uncaught.ts', import.meta.url).href;
  const run = (how: string, handled = true) => spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { createLogger } from '${log}';
      import { exitOnUncaughtErrors } from '${uncaught}';
      if (${handled}) exitOnUncaughtErrors(createLogger('error', (line) => process.stderr.write(line)));
      const error = new Error('jwks.keys[0].p configuration must be a non-empty string', { cause: ${JSON.stringify(rsa)} });
      ${how};`], { encoding: 'utf8', timeout: 30_000 });
  t.true(run('Promise.reject(error)', false).stderr.includes(rsa.d!), 'Node\'s own report prints the cause, private key and all');
  for (const how of ['setTimeout(() => { throw error; })', 'Promise.reject(error)']) {
    const result = run(how);
    t.is(result.status, 1, how);
    const lines = result.stderr.trim().split('\n');
    t.is(lines.length, 1, `${how}: ${result.stderr}`);
    t.like(JSON.parse(lines[0]!), { level: 'error', error: { message: 'jwks.keys[0].p configuration must be a non-empty string' } });
    t.false(PRIVATE_MEMBERS.some((member) => result.stderr.includes(rsa[member]!)), `${how}: no private key material`);
  }
});

test('the request line says what an info line would, byte for byte, with a secret in the path scrubbed and a worker\'s number', (t) => {
  const s = secrets();
  const lines = (base?: LogFields) => {
    const written: string[] = [];
    const logger = createLogger('info', (line) => written.push(line), base);
    const line = { method: 'GET', path: `/cb/access_token=${s.accessToken}/"\u2028\\`, status: 404, ms: 0.7, ip: '2001:db8::1' };
    logger.request(line);
    logger.info('request', line);
    return written.map((text) => text.replace(/"time":"[^"]+"/, '"time":"…"'));
  };
  for (const base of [undefined, { worker: 3 }]) {
    const [request, info] = lines(base);
    t.is(request, info);
    t.false(request!.includes(s.accessToken), 'the token in the path is not written');
    t.like(JSON.parse(request!), { msg: 'request', status: 404, ms: 0.7, ip: '2001:db8::1', ...base });
  }
  const quiet: string[] = [];
  createLogger('warn', (line) => quiet.push(line)).request({ method: 'GET', path: '/', status: 200, ms: 1, ip: '::1' });
  t.deepEqual(quiet, [], 'above info, no request line');
});

test('a line\'s time reads as toISOString would write it, across minutes, days, years, and a clock set back', (t) => {
  const times = [Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), Date.UTC(2027, 0, 1, 0, 0, 0, 5), Date.UTC(2026, 11, 31, 23, 59, 0, 40), 0, 1_000, 59_999, 60_000, Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
  for (let i = 0; i < 2_000; i++) times.push(Date.UTC(2026, 11, 7, 12) + i * 997);
  for (const time of times) t.is(isoNow(time), new Date(time).toISOString(), String(time));
  const { logger, lines } = capture();
  const before = Date.now();
  logger.info('now');
  const written = Date.parse(JSON.parse(lines[0]!).time);
  t.true(written >= before && written <= Date.now(), 'the line carries the time it was written');
});
