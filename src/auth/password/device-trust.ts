import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Members a browser is remembered for at once (a shared family computer). */
const MEMBERS_PER_BROWSER = 3;
const DAY_MS = 24 * 3600 * 1000;

export type DeviceTrustOptions = {
  /** Signing keys, newest first: tokens are made with the first and accepted under any. */
  keys: readonly Buffer[];
  /** How long a token is honoured after it was made. */
  days: number;
};

/**
 * Device cookies (OWASP "Slow down online guessing attacks with device cookies"): after a log-in the
 * browser is given a signed token naming the member (by a keyed tag, not the member id) and a random
 * nonce that identifies this browser. Password failures from a browser holding a valid token for the
 * member count against that browser alone, so a stranger's failures elsewhere never pause the member
 * here.
 *
 * A cookie value holds up to three tokens, `tag.nonce.issued.mac`, joined by `~`.
 */
export function createDeviceTrust({ keys: secrets, days }: DeviceTrustOptions, clock: () => number = Date.now) {
  if (secrets.length === 0) throw new Error('device trust needs a key');
  // Made once: a raw key given to createHmac is imported again on every call.
  const keys = secrets.map((secret) => createSecretKey(secret));
  const mac = (key: KeyObject, text: string) => createHmac('sha256', key).update(text).digest('base64url').slice(0, 32);
  const tagOf = (key: KeyObject, memberId: string) => mac(key, `member:${memberId}`).slice(0, 22);
  const today = () => Math.floor(clock() / DAY_MS);

  /** The parts of a token, and the key that made it, when one of the keys did and it is still fresh. */
  const valid = (token: string) => {
    const [tag = '', nonce = '', issued = '', signature = ''] = token.split('.');
    const day = Number.parseInt(issued, 36);
    if (!tag || !nonce || !Number.isSafeInteger(day) || today() - day > days) return undefined;
    const presented = Buffer.from(signature);
    const key = keys.find((candidate) => {
      const expected = Buffer.from(mac(candidate, `${tag}.${nonce}.${issued}`));
      return expected.length === presented.length && timingSafeEqual(expected, presented);
    });
    return key ? { tag, nonce, key } : undefined;
  };
  const isFor = (parts: { tag: string; key: KeyObject }, memberId: string) => parts.tag === tagOf(parts.key, memberId);
  const tokensIn = (cookie: string | undefined) => (cookie ?? '').split('~').filter(Boolean).slice(0, MEMBERS_PER_BROWSER);

  return {
    /**
     * The browser's nonce when `cookie` holds a valid token for `memberId`; undefined for a browser the
     * member has not logged in from (or whose token expired or was forged).
     */
    nonceFor(cookie: string | undefined, memberId: string): string | undefined {
      for (const token of tokensIn(cookie)) {
        const parts = valid(token);
        if (parts && isFor(parts, memberId)) return parts.nonce;
      }
      return undefined;
    },

    /** The cookie value after `memberId` logged in: a fresh token for them first, other members' valid tokens kept. */
    issue(cookie: string | undefined, memberId: string): string {
      const tag = tagOf(keys[0]!, memberId);
      const nonce = randomBytes(16).toString('base64url');
      const issued = today().toString(36);
      const token = `${tag}.${nonce}.${issued}.${mac(keys[0]!, `${tag}.${nonce}.${issued}`)}`;
      const others = tokensIn(cookie).filter((other) => {
        const parts = valid(other);
        return parts !== undefined && !isFor(parts, memberId);
      });
      return [token, ...others].slice(0, MEMBERS_PER_BROWSER).join('~');
    },
  };
}

export type DeviceTrust = ReturnType<typeof createDeviceTrust>;
