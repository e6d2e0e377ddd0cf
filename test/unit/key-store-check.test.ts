import test from 'ava';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseKeyStore, type Jwk } from '../../src/config/load.ts';
import { generateSigningKey, type KeyStore, type ScheduledJwk } from '../../src/config/signing-keys.ts';
import { providerJwks } from '../../src/oidc/provider-keys.ts';
import { runKeys } from '../helpers/keys-cli.ts';

const now = Date.now();
const rsa = generateSigningKey('RSA', now - 1000);
const ec = generateSigningKey('EC P-256', now - 1000);
const good: KeyStore = { keys: [rsa, ec] };
const otherRsa = generateSigningKey('RSA', now);
const otherEc = generateSigningKey('EC P-256', now);
const exported = (type: 'ec' | 'ed25519' | 'rsa', options: object = {}) =>
  generateKeyPairSync(type as 'ec', options as { namedCurve: string }).privateKey.export({ format: 'jwk' }) as Jwk;
const { p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rsaWithoutCrt } = otherRsa;

/** Every malformed kind of key, each added to a good store under a kid of its own (or none). */
const malformed: { name: string; key: Record<string, unknown>; reason: RegExp }[] = [
  { name: 'an RSA key without its CRT parameters', key: { ...rsaWithoutCrt, kid: 'rsa-no-crt' }, reason: /CRT parameters \(p, q, dp, dq, qi missing\)/ },
  { name: 'an RSA key with alg RS384', key: { ...otherRsa, kid: 'rsa-rs384', alg: 'RS384' }, reason: /alg "RS384": RSA keys sign RS256/ },
  { name: 'an RSA key with alg PS256', key: { ...otherRsa, kid: 'rsa-ps256', alg: 'PS256' }, reason: /alg "PS256"/ },
  { name: 'an RSA key of 1024 bits', key: { ...exported('rsa', { modulusLength: 1024 }), kid: 'rsa-1024' }, reason: /1024 bits: RS256 needs at least 2048/ },
  { name: 'an RSA key whose private part is another key\'s', key: { ...otherRsa, kid: 'rsa-mixed', n: rsa.n, e: rsa.e }, reason: /does not match its public part/ },
  { name: 'an RSA key with a member that is not base64url', key: { ...otherRsa, kid: 'rsa-garbage', n: `${String(otherRsa.n).slice(0, 40)}+/=` }, reason: /n must be base64url/ },
  { name: 'an RSA key with numbers for members', key: { ...otherRsa, kid: 'rsa-numbers', d: 12345678901234, e: 65537 }, reason: /e, d must be base64url/ },
  { name: 'a multi-prime RSA key', key: { ...otherRsa, kid: 'rsa-oth', oth: [{ r: String(otherRsa.p), d: String(otherRsa.dp), t: String(otherRsa.qi) }] }, reason: /multi-prime/ },
  { name: 'an EC key for encryption', key: { ...otherEc, kid: 'ec-enc', use: 'enc' }, reason: /use "enc": a key in the store signs/ },
  { name: 'an EC key on P-384', key: { ...exported('ec', { namedCurve: 'P-384' }), kid: 'ec-p384' }, reason: /crv "P-384": EC keys must be on P-256/ },
  { name: 'an EC key on secp256k1', key: { ...exported('ec', { namedCurve: 'secp256k1' }), kid: 'ec-k1' }, reason: /crv "secp256k1"/ },
  { name: 'an EC key with alg ES384', key: { ...otherEc, kid: 'ec-es384', alg: 'ES384' }, reason: /alg "ES384": EC keys sign ES256/ },
  { name: 'an EC key whose point is not on the curve', key: { ...otherEc, kid: 'ec-off-curve', y: otherEc.x }, reason: /cannot be imported/ },
  { name: 'an EC key whose private part is another key\'s', key: { ...otherEc, kid: 'ec-mixed', d: ec.d }, reason: /does not match its public part \(x, y\)/ },
  { name: 'an EC key without its private part', key: { ...otherEc, kid: 'ec-public', d: undefined }, reason: /missing d/ },
  { name: 'a symmetric key', key: { kty: 'oct', kid: 'hmac', alg: 'HS256', k: 'cXVpdGUgYSBsb25nIHNoYXJlZCBzZWNyZXQgZm9yIEhTMjU2', d: String(otherEc.d) }, reason: /symmetric \("oct"\) key is never allowed/ },
  { name: 'an OKP key', key: { ...exported('ed25519'), kid: 'okp-ed25519' }, reason: /kty "OKP" is not used/ },
  { name: 'a key without kty', key: { ...otherEc, kid: 'no-kty', kty: undefined }, reason: /kty \(none\) is not used/ },
  { name: 'a key with key_ops of its own', key: { ...otherEc, kid: 'ec-ops', key_ops: ['sign'] }, reason: /leave out key_ops/ },
  { name: 'a key whose signs_from holds a key member pasted by mistake', key: { ...otherEc, kid: 'ec-pasted', signs_from: String(otherRsa.d) }, reason: /signs_from must be an ISO 8601 time$/ },
  { name: 'a key without a kid', key: { ...otherEc, kid: undefined }, reason: /^JWKS_FILE: keys\[2\] \(no "kid"\): every key needs a "kid"/ },
  { name: 'a key whose kid is not a string', key: { ...otherEc, kid: 42 }, reason: /^JWKS_FILE: keys\[2\] \(no "kid"\)/ },
  { name: 'a key with the kid of another', key: { ...otherEc, kid: ec.kid }, reason: new RegExp(`key "${ec.kid}": the same "kid" appears 2 times \\(keys\\[1\\], keys\\[2\\]\\)`) },
];

/** The values of every key involved, public and private: none may appear in what is printed. */
const material = [...good.keys, otherRsa, otherEc, ...malformed.map(({ key }) => key)].flatMap((key) =>
  Object.entries(key).filter(([name, value]) => typeof value === 'string' && value.length >= 16 && (!['kid', 'kty', 'alg', 'use', 'crv', 'added_at', 'signs_from'].includes(name) || key.kid === 'ec-pasted')).map(([, value]) => value as string));
const holdsMaterial = (text: string) => material.find((value) => text.includes(value) || text.includes(value.slice(0, 12)));

test('each malformed key is refused in one line that names it and the reason, and quotes nothing of any key', (t) => {
  t.deepEqual(parseProblems(good), [], 'the keys the IdP generates pass');
  for (const { name, key, reason } of malformed) {
    const problems = parseProblems({ keys: [...good.keys, key as ScheduledJwk] });
    t.is(problems.length, 1, `${name}: ${problems.join(' | ')}`);
    const [line = ''] = problems;
    t.regex(line, reason, name);
    const kid = typeof key.kid === 'string' ? key.kid : undefined;
    t.true(line.startsWith(kid ? `JWKS_FILE: key "${kid}": ` : 'JWKS_FILE: keys[2] (no "kid"): '), `${name}: ${line}`);
    t.is(holdsMaterial(line), undefined, `${name}: the line quotes key material`);
  }
});

test('a store is refused when it would leave no RS256 or no ES256 signer, the refused keys named too', (t) => {
  const problems = parseProblems({ keys: [{ ...rsa, alg: 'RS384' }, { ...ec, use: 'enc' }] });
  t.deepEqual(problems.map((line) => line.replace(/:.*$/s, '')), ['JWKS_FILE', 'JWKS_FILE', 'JWKS_FILE', 'JWKS_FILE']);
  t.regex(problems[0]!, new RegExp(`^JWKS_FILE: key "${rsa.kid}": alg "RS384"`));
  t.regex(problems[1]!, new RegExp(`^JWKS_FILE: key "${ec.kid}": use "enc"`));
  t.regex(problems[2]!, /must include an RSA key: RS256/);
  t.regex(problems[3]!, /must include an EC P-256 key/);
  t.is(holdsMaterial(problems.join('\n')), undefined);
});

test('a key without alg signs only the algorithm of its kind', (t) => {
  const { alg: _rsaAlg, ...rsaNoAlg } = rsa;
  const { alg: _ecAlg, use: _use, ...ecNoAlg } = ec;
  const store = { keys: [rsaNoAlg, ecNoAlg] } as KeyStore;
  t.deepEqual(parseProblems(store), []);
  t.deepEqual(providerJwks(store, now).keys.map((key) => key.alg), ['RS256', 'ES256']);
});

test('a key store that is not JSON is refused without quoting the file', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-key-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'jwks.json');
  // An unquoted member: JSON.parse's own message would quote the text around it. It starts with a
  // letter: a random key's first character may be a digit or '-', which JSON.parse reports by
  // position instead, without quoting, and the test would pass without testing anything.
  writeFileSync(file, `{"keys": [{"kty": "EC", "kid": "${ec.kid}", "d": k${String(ec.d)}}]}`);
  const error = t.throws(() => loadConfig({ DATA_DIR: dir, JWKS_FILE: file }), { instanceOf: ConfigError });
  const line = error!.problems.find((problem) => problem.startsWith('JWKS_FILE'));
  // Where the fault is may be said (a position), never what is there.
  t.regex(line ?? '', /^JWKS_FILE: cannot read JSON from ".*" \(not valid JSON(: at position \d+( \(line \d+ column \d+\))?)?\)$/);
  t.false(error!.message.includes(String(ec.d).slice(0, 6)));
});

test('the IdP does not start with a bad key store: it exits non-zero, one line per refused key, and prints no key material', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-key-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'jwks.json');
  const bad = [{ ...rsaWithoutCrt, kid: 'rsa-no-crt' }, { ...otherEc, kid: 'ec-enc', use: 'enc' }, { kty: 'oct', kid: 'hmac', k: 'cXVpdGUgYSBsb25nIHNoYXJlZCBzZWNyZXQgZm9yIEhTMjU2', d: String(otherEc.d) }];
  writeFileSync(file, JSON.stringify({ keys: [...good.keys, ...bad] }));
  const result = spawnSync(process.execPath, ['src/main.ts'], {
    env: { PATH: process.env.PATH, DATA_DIR: dir, JWKS_FILE: file, PORT: '0' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(result.status, 1, result.stderr);
  t.notRegex(result.stdout, /listening/);
  for (const kid of ['rsa-no-crt', 'ec-enc', 'hmac']) t.is(result.stderr.split('\n').filter((line) => line.includes(`key "${kid}"`)).length, 1, kid);
  t.notRegex(result.stderr, /\bat \S+ \(|\[cause\]/, 'no stack trace');
  t.is(holdsMaterial(result.stderr + result.stdout), undefined, 'no key material');
});

test('npm run keys refuses a bad key store the same way, and writes nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-key-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'jwks.json');
  const text = JSON.stringify({ keys: [...good.keys, { ...rsaWithoutCrt, kid: 'rsa-no-crt' }] });
  writeFileSync(file, text);
  for (const command of ['status', 'rotate', 'retire']) {
    const run = await runKeys([command], { JWKS_FILE: file });
    t.is(run.code, 1, command);
    t.is(run.stdout, '', command);
    t.is(run.stderr.trim().split('\n').length, 1, `${command}: one line`);
    t.regex(run.stderr, /key "rsa-no-crt": an RSA private key without its CRT parameters/, command);
    t.is(holdsMaterial(run.stderr), undefined, `${command}: no key material`);
  }
  t.is(readFileSync(file, 'utf8'), text);
  writeFileSync(file, `{"keys": [{"kty": "EC", "d": ${String(ec.d)}}]}`);
  const broken = await runKeys(['status'], { JWKS_FILE: file });
  t.is(broken.code, 1);
  t.regex(broken.stderr, /not valid JSON/);
  t.false(broken.stderr.includes(String(ec.d).slice(0, 6)));
});

function parseProblems(store: unknown): string[] {
  const problems: string[] = [];
  const parsed = parseKeyStore('JWKS_FILE', JSON.parse(JSON.stringify(store)), problems, now);
  if (problems.length === 0 && parsed === undefined) problems.push('refused without a reason');
  return problems;
}
