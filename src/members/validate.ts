import type { MemberStatus } from '../store/port.ts';

/** Either the accepted (normalised) value or a one-line reason it was refused. */
export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

const accept = <T>(value: T): Validated<T> => ({ ok: true, value });
const refuse = (reason: string): Validated<never> => ({ ok: false, reason });

// JSON quoting keeps an echoed value on one line and makes stray control characters visible.
const shown = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

/** A member number: 7 to 10 ASCII digits. */
export function validateMemberNumber(input: unknown): Validated<string> {
  if (typeof input !== 'string') return refuse('member number must be a string of digits');
  const number = input.trim();
  if (!/^[0-9]{7,10}$/.test(number)) return refuse(`member number must be 7 to 10 digits, got ${shown(number)}`);
  return accept(number);
}

/** A display name: trimmed, 1 to 100 characters, no control characters. */
export function validateDisplayName(input: unknown): Validated<string> {
  if (typeof input !== 'string') return refuse('name must be a string');
  const name = input.trim();
  if (name === '') return refuse('name must not be empty');
  if (/\p{Cc}/u.test(name)) return refuse('name must not contain control characters');
  // Counted in code points, so a name in a non-Latin script is not cut short by UTF-16 surrogates.
  if ([...name].length > 100) return refuse('name must be at most 100 characters');
  return accept(name);
}

/** A phone number in E.164: "+", then 8 to 15 digits, the first not 0. */
export function validatePhone(input: unknown): Validated<string> {
  if (typeof input !== 'string') return refuse('phone must be a string');
  const phone = input.trim();
  if (!/^\+[1-9][0-9]{7,14}$/.test(phone)) {
    return refuse(`phone must be E.164 ("+" then 8 to 15 digits, e.g. +819012345678), got ${shown(phone)}`);
  }
  return accept(phone);
}

/** An ISO 3166-1 alpha-2 country code in any case, returned in upper case. */
export function validateCountry(input: unknown): Validated<string> {
  if (typeof input !== 'string') return refuse('country must be a string');
  const country = input.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country) || !COUNTRY_CODES.has(country)) {
    return refuse(`country must be an ISO 3166-1 alpha-2 code such as JP, got ${shown(input.trim())}`);
  }
  return accept(country);
}

/** A password: 8 to 128 characters and not only whitespace. Never echoed, never trimmed. */
export function validatePassword(input: unknown): Validated<string> {
  if (typeof input !== 'string' || input === '') return refuse('password must not be empty');
  if (input.trim() === '') return refuse('password must not be only whitespace');
  const length = [...input].length;
  if (length < 8) return refuse('password must be at least 8 characters');
  if (length > 128) return refuse('password must be at most 128 characters');
  return accept(input);
}

/** A member status: active, locked or disabled. */
export function validateStatus(input: unknown): Validated<MemberStatus> {
  if (input === 'active' || input === 'locked' || input === 'disabled') return accept(input);
  return refuse(`status must be active, locked or disabled, got ${shown(String(input))}`);
}

/** Every officially assigned ISO 3166-1 alpha-2 code (249). */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(`
  AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
  BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
  CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
  DE DJ DK DM DO DZ
  EC EE EG EH ER ES ET
  FI FJ FK FM FO FR
  GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
  HK HM HN HR HT HU
  ID IE IL IM IN IO IQ IR IS IT
  JE JM JO JP
  KE KG KH KI KM KN KP KR KW KY KZ
  LA LB LC LI LK LR LS LT LU LV LY
  MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
  NA NC NE NF NG NI NL NO NP NR NU NZ
  OM
  PA PE PF PG PH PK PL PM PN PR PS PT PW PY
  QA
  RE RO RS RU RW
  SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
  TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
  UA UG UM US UY UZ
  VA VC VE VG VI VN VU
  WF WS
  YE YT
  ZA ZM ZW
`.trim().split(/\s+/));
