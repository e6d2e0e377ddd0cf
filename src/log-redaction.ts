/**
 * What a log line may hold: the logger passes every field through here, so a secret that a caller
 * (or a library's error) hands it by mistake is replaced by "[redacted]" before it is written.
 */
export const REDACTED = '[redacted]';

// Field names whose value is a secret, compared without case, "-" and "_". A boolean (or null) under
// such a name says only whether there is one, and stays.
const SECRET_NAMES = new Set([
  'password', 'passwd', 'passphrase', 'pin', 'otp', 'secret', 'clientsecret', 'token', 'accesstoken',
  'refreshtoken', 'idtoken', 'idtokenhint', 'logouttoken', 'registrationaccesstoken', 'codeverifier',
  'assertion', 'clientassertion', 'authorization', 'proxyauthorization', 'cookie', 'cookies', 'setcookie',
  'cookiekeys', 'csrf', 'xsrf', 'privatekey', 'apikey', 'authtoken', 'sessionid',
]);
const SECRET_SUFFIXES = ['password', 'secret', 'token', 'cookie'];
// The private members of a JWK (RFC 7518 section 6, and `priv` of AKP keys).
const JWK_PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'priv']);
// Codes that name an error (`invalid_grant`, `ERR_CRYPTO_INVALID_JWK`, Twilio's 21211) stay; any other
// `code` may be an authorization code or an SMS code.
const ERROR_CODE = /^(?:[a-z]+(?:[_.-][a-z]+)*|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)$/;

const normalised = (name: string) => {
  const lower = name.toLowerCase();
  return lower.includes('-') || lower.includes('_') ? lower.replace(/[-_]/g, '') : lower;
};
// Field names come from a few hundred places in the code and from libraries' errors: each is judged
// once. The memo stops growing at NAMES_KEPT, past which a name is judged every time.
const NAMES_KEPT = 1024;
const judged = new Map<string, boolean>();
const isSecretName = (name: string) => {
  let secret = judged.get(name);
  if (secret === undefined) {
    const plain = normalised(name);
    secret = SECRET_NAMES.has(plain) || SECRET_SUFFIXES.some((suffix) => plain.endsWith(suffix));
    if (judged.size < NAMES_KEPT) judged.set(name, secret);
  }
  return secret;
};

// Secrets as they appear inside text: after a name in JSON, util.inspect output, a query string or
// a header; as an Authorization scheme's credentials; as a JWT; as a PEM private key.
const TEXT_NAMES = 'password|passwd|passphrase|pin|otp|secret|client_secret|token|access_token|refresh_token|id_token|id_token_hint|logout_token|code|code_verifier|client_assertion|authorization|cookie|set-cookie|d|p|q|dp|dq|qi|k|priv';
const QUOTED_MEMBER = new RegExp(`(?<![\\w$-])(["']?)(${TEXT_NAMES})\\1(\\s*[:=]\\s*)(["'\`])(?:\\\\.|(?!\\4)[^\\\\])*\\4`, 'gi');
const BARE_MEMBER = new RegExp(`(?<![\\w$-])(${TEXT_NAMES})(=)[^\\s&;,"'\`]+`, 'gi');
const HEADER = /(?<![\w-])((?:proxy-)?authorization|(?:set-)?cookie)(\s*:\s*)[^\n]+/gi;
const SCHEME = /\b(Bearer|Basic|DPoP|Digest)\s+[\w.~+/=-]{6,}/g;
const JWT = /\beyJ[\w-]*\.[\w.-]*/g;
const PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;
// What each of the patterns above needs, in one cheap test: most text (paths, addresses) has none.
const MAY_HOLD_SECRET = /=|[:=]\s*["'`]|\b(?:Bearer|Basic|DPoP|Digest)\s|eyJ|-----BEGIN|authorization|cookie/i;
// In the text of an error (a message, a stack, a cause), any long base64url run: a key member,
// a token or a code quoted by a library that did not know it was one.
const OPAQUE_RUN = /[\w-]{40,}/g;

/** `text` with the secrets it holds replaced; `opaque` also replaces long base64url runs (for errors' text). */
export function scrubText(text: string, opaque = false): string {
  let scrubbed = text;
  if (MAY_HOLD_SECRET.test(scrubbed)) {
    scrubbed = scrubbed
      .replace(PEM, REDACTED)
      .replace(JWT, REDACTED)
      .replace(SCHEME, `$1 ${REDACTED}`)
      .replace(HEADER, `$1$2${REDACTED}`)
      .replace(QUOTED_MEMBER, `$1$2$1$3$4${REDACTED}$4`)
      .replace(BARE_MEMBER, `$1$2${REDACTED}`);
  }
  return opaque ? scrubbed.replace(OPAQUE_RUN, REDACTED) : scrubbed;
}

type Options = { stacks: boolean };
// `within` holds the objects being walked, outermost first: a value among them is a cycle.
type Walk = Options & { inError: boolean; within: object[] };
const MAX_DEPTH = 8;

/** The fields of a log line with every secret replaced, at any depth; errors keep their stack only with `stacks`. */
export function redactFields(fields: Record<string, unknown>, options: Options): Record<string, unknown> {
  return redactObject(fields, { stacks: options.stacks, inError: false, within: [fields] });
}

function redact(value: unknown, walk: Walk, name?: string): unknown {
  if (name !== undefined && secretValue(name, value)) return REDACTED;
  if (typeof value === 'string') return scrubText(value, walk.inError);
  if (typeof value === 'bigint') return String(value);
  if (typeof value !== 'object' || value === null) return value;
  if (walk.within.includes(value)) return '[circular]';
  if (walk.within.length > MAX_DEPTH) return '[nested too deep]';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  walk.within.push(value);
  try {
    if (value instanceof Error) return redactError(value, walk.inError ? walk : { ...walk, inError: true });
    if (Array.isArray(value)) return value.map((item) => redact(item, walk));
    if (value instanceof Map || value instanceof Set) return `[${value.constructor.name} of ${value.size}]`;
    if (value instanceof URL) return scrubText(value.href, walk.inError);
    return redactObject(value as Record<string, unknown>, walk);
  } finally {
    walk.within.pop();
  }
}

function redactObject(object: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  // A JWK (or what looks like one) keeps its public members only.
  const jwk = typeof object.kty === 'string' || (object.d !== undefined && ['n', 'x', 'crv'].some((member) => object[member] !== undefined));
  const result: Record<string, unknown> = {};
  for (const name of Object.keys(object)) {
    result[name] = jwk && JWK_PRIVATE.has(name) ? REDACTED : redact(object[name], walk, name);
  }
  return result;
}

function redactError(error: Error, walk: Walk): Record<string, unknown> {
  const { code, status } = error as Error & { code?: unknown; status?: unknown };
  const frames = walk.stacks ? (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).join('\n') : '';
  return {
    name: error.name,
    message: scrubText(error.message, true),
    ...(code !== undefined && { code: redact(code, walk, 'code') }),
    ...(typeof status === 'number' && { status }),
    ...(frames && { stack: scrubText(frames, true) }),
    ...(error.cause !== undefined && { cause: redact(error.cause, walk) }),
    ...(error instanceof AggregateError && { errors: redact(error.errors, walk) }),
  };
}

function secretValue(name: string, value: unknown): boolean {
  if (value === undefined || value === null || typeof value === 'boolean') return false;
  if (normalised(name) === 'code') return !(typeof value === 'number' || (typeof value === 'string' && value.length <= 48 && ERROR_CODE.test(value)));
  return isSecretName(name);
}
