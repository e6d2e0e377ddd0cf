import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Member } from '../../store/port.ts';

/** Members a browser is remembered for at once (a shared family computer). */
const MEMBERS_PER_BROWSER = 3;
const DAY_MS = 24 * 3600 * 1000;
/** A generation after the first, in base 36 without leading zeros (the first has no part of its own). */
const LATER_GENERATION = /^[1-9a-z][0-9a-z]{0,9}$/;

export type DeviceTrustOptions = {
  /** Signing keys, newest first: tokens are made with the first and accepted under any. */
  keys: readonly Buffer[];
  /** How long a token is honoured after it was made. */
  days: number;
};

/** What a device token is checked against: the member and the generation their tokens must carry. */
export type TrustedMember = Pick<Member, 'id' | 'deviceGeneration'>;

/**
 * Device cookies (OWASP "Slow down online guessing attacks with device cookies"): after a log-in the
 * browser is given a signed token naming the member (by a keyed tag, not the member id) and a random
 * nonce that identifies this browser. Password failures from a browser holding a valid token for the
 * member count against that browser alone, so a stranger's failures elsewhere never pause the member
 * here.
 *
 * A token also carries the member's device generation when it was made, under the signature. The
 * generation goes up when what the token vouched for ends (a new password, a log-out everywhere…),
 * and a token of an earlier generation counts for nothing: a copy taken from the member's browser
 * stops working with the credentials it came with.
 *
 * A cookie value holds up to three tokens, `tag.nonce.issued[.generation].mac`, joined by `~`; the
 * generation part is left out for generation 0, which is how tokens made before generations read.
 */
export function createDeviceTrust({ keys: secrets, days }: DeviceTrustOptions, clock: () => number = Date.now) {
  if (secrets.length === 0) throw new Error('device trust needs a key');
  // Made once: a raw key given to createHmac is imported again on every call.
  const keys = secrets.map((secret) => createSecretKey(secret));
  const mac = (key: KeyObject, text: string) => createHmac('sha256', key).update(text).digest('base64url').slice(0, 32);
  const tagOf = (key: KeyObject, memberId: string) => mac(key, `member:${memberId}`).slice(0, 22);
  const today = () => Math.floor(clock() / DAY_MS);

  /**
   * The parts of a token, and the key that made it, when one of the keys did and it is still fresh.
   * The signature covers every part, the generation included.
   */
  const valid = (token: string) => {
    const parts = token.split('.');
    if (parts.length !== 4 && parts.length !== 5) return undefined;
    const signature = parts.pop()!;
    const [tag = '', nonce = '', issued = '', later] = parts;
    const day = Number.parseInt(issued, 36);
    if (!tag || !nonce || !Number.isSafeInteger(day) || today() - day > days) return undefined;
    if (later !== undefined && !LATER_GENERATION.test(later)) return undefined;
    const presented = Buffer.from(signature);
    const signed = parts.join('.');
    const key = keys.find((candidate) => {
      const expected = Buffer.from(mac(candidate, signed));
      return expected.length === presented.length && timingSafeEqual(expected, presented);
    });
    return key ? { tag, nonce, generation: later === undefined ? 0 : Number.parseInt(later, 36), key } : undefined;
  };
  const isFor = (parts: { tag: string; key: KeyObject }, memberId: string) => parts.tag === tagOf(parts.key, memberId);
  const tokensIn = (cookie: string | undefined) => (cookie ?? '').split('~').filter(Boolean).slice(0, MEMBERS_PER_BROWSER);

  return {
    /**
     * The browser's nonce when `cookie` holds a valid token for the member, of their current device
     * generation; undefined for a browser the member has not logged in from (or whose token expired,
     * was forged, or was made before their generation went up).
     */
    nonceFor(cookie: string | undefined, member: TrustedMember): string | undefined {
      for (const token of tokensIn(cookie)) {
        const parts = valid(token);
        if (parts && isFor(parts, member.id) && parts.generation === member.deviceGeneration) return parts.nonce;
      }
      return undefined;
    },

    /**
     * The cookie value after the member logged in: a fresh token for them (of their generation as
     * read at the log-in) first, every earlier token of theirs dropped, other members' valid tokens kept.
     */
    issue(cookie: string | undefined, member: TrustedMember): string {
      const tag = tagOf(keys[0]!, member.id);
      const nonce = randomBytes(16).toString('base64url');
      const issued = today().toString(36);
      const generation = member.deviceGeneration > 0 ? [member.deviceGeneration.toString(36)] : [];
      const signed = [tag, nonce, issued, ...generation].join('.');
      const token = `${signed}.${mac(keys[0]!, signed)}`;
      const others = tokensIn(cookie).filter((other) => {
        const parts = valid(other);
        return parts !== undefined && !isFor(parts, member.id);
      });
      return [token, ...others].slice(0, MEMBERS_PER_BROWSER).join('~');
    },
  };
}

export type DeviceTrust = ReturnType<typeof createDeviceTrust>;
