import { randomUUID } from 'node:crypto';
import { DuplicateError, type Clock, type Member, type Members } from '../store/port.ts';
import { defaultPasswordHasher, type PasswordHasher } from './password.ts';
import {
  validateCountry,
  validateDisplayName,
  validateMemberNumber,
  validatePassword,
  validatePhone,
  validateStatus,
  type Validated,
} from './validate.ts';

/** Member input was refused; `problems` holds one line per reason, never a password. */
export class MemberInputError extends Error {
  readonly code = 'invalid_input';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.name = 'MemberInputError';
    this.problems = problems;
  }
}

/** What an operator or enrolment supplies to create a member. */
export type NewMember = {
  number: unknown;
  name: unknown;
  phone: unknown;
  country: unknown;
  password: unknown;
  status?: unknown;
};

/** A member without secrets, safe to print, log or return as JSON. */
export type PublicMember = Omit<Member, 'passwordHash' | 'deviceGeneration' | 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

/** The OIDC claims the IdP holds for a member. */
export type MemberClaims = {
  sub: string;
  name: string;
  phone_number: string;
  jmb_member_number: string;
};

/** Validates every field (reporting all problems at once), hashes the password and stores a new active member. */
export async function createMember(members: Members, input: NewMember, clock: Clock, passwords: PasswordHasher = defaultPasswordHasher): Promise<Member> {
  const problems: string[] = [];
  const take = <T>(result: Validated<T>): T => {
    if (!result.ok) problems.push(result.reason);
    return (result.ok ? result.value : undefined) as T;
  };
  const number = take(validateMemberNumber(input.number));
  const name = take(validateDisplayName(input.name));
  const phone = take(validatePhone(input.phone));
  const country = take(validateCountry(input.country));
  const password = take(validatePassword(input.password));
  const status = take(validateStatus(input.status ?? 'active'));
  if (problems.length) throw new MemberInputError(problems);

  const now = new Date(clock());
  try {
    return await members.create({
      // The id is the OIDC `sub`: random and stable, so relying parties never learn the member number from it.
      id: randomUUID(),
      number, name, phone, country, status,
      passwordHash: await passwords.hash(password),
      createdAt: now,
      updatedAt: now,
    });
  } catch (error) {
    if (error instanceof DuplicateError) throw new MemberInputError([`member number ${number} is already taken`]);
    throw error;
  }
}

/** The member with this number, or undefined (also for a malformed number). */
export async function findMemberByNumber(members: Members, number: string): Promise<Member | undefined> {
  const valid = validateMemberNumber(number);
  return valid.ok ? members.findByNumber(valid.value) : undefined;
}

// Every change below that ends what a device cookie vouched for (the password, the phone, the right to
// log in) raises the member's device generation in the same write: the member's browsers are unknown
// to the password log-in until the member logs in there again, and a copied cookie is worth nothing.

/** Changes a member's phone, ending their device cookies; undefined when there is no such member. */
export async function setPhone(members: Members, id: string, phone: unknown): Promise<Member | undefined> {
  return members.update(id, { phone: accepted(validatePhone(phone)), nextDeviceGeneration: true });
}

/** Replaces a member's password with a fresh hash, ending their device cookies; undefined when there is no such member. */
export async function setPassword(members: Members, id: string, password: unknown, passwords: PasswordHasher = defaultPasswordHasher): Promise<Member | undefined> {
  return members.update(id, { passwordHash: await passwords.hash(accepted(validatePassword(password))), nextDeviceGeneration: true });
}

/**
 * Sets a member's status (e.g. `disabled`); any status but `active` also ends their device cookies.
 * Undefined when there is no such member.
 */
export async function setStatus(members: Members, id: string, status: unknown): Promise<Member | undefined> {
  const valid = accepted(validateStatus(status));
  return members.update(id, { status: valid, ...(valid !== 'active' && { nextDeviceGeneration: true }) });
}

/**
 * Ends every device cookie of the member ("Log out everywhere"): each browser they logged in from
 * counts as unknown to the password log-in until they log in there again. Undefined when there is no
 * such member.
 */
export async function endDeviceTrust(members: Members, id: string): Promise<Member | undefined> {
  return members.update(id, { nextDeviceGeneration: true });
}

/** The member as a JSON-safe object without the password hash. */
export function publicView(member: Member): PublicMember {
  return {
    id: member.id,
    number: member.number,
    name: member.name,
    phone: member.phone,
    country: member.country,
    status: member.status,
    createdAt: member.createdAt.toISOString(),
    updatedAt: member.updatedAt.toISOString(),
  };
}

/** The member number with all but its last 4 digits hidden, e.g. `•••••0001`. */
export function maskMemberNumber(number: string): string {
  return maskAllButLast4(number);
}

/**
 * The phone number with all but its last 4 digits hidden, as members write it: a Japanese mobile
 * number in national format (`+819012345678` → `090-••••-5678`), any other in E.164 (`+••••••••5678`).
 */
export function maskPhone(phone: string): string {
  const mobile = /^\+81([789]0)\d{4}(\d{4})$/.exec(phone);
  if (mobile) return `0${mobile[1]}-••••-${mobile[2]}`;
  return maskAllButLast4(phone);
}

/**
 * Every OIDC claim the IdP knows for the member: `sub` (the opaque id), `name`, `phone_number` and
 * `jmb_member_number`. Which of them a relying party receives is decided by the provider from the
 * scopes, the `claims` request parameter and the grant.
 */
export function memberClaims(member: Member): MemberClaims {
  return { sub: member.id, name: member.name, phone_number: member.phone, jmb_member_number: member.number };
}

function accepted<T>(result: Validated<T>): T {
  if (!result.ok) throw new MemberInputError([result.reason]);
  return result.value;
}

function maskAllButLast4(value: string): string {
  const digits = [...value].filter((c) => c >= '0' && c <= '9').length;
  // Too short to keep any digit back: hide them all rather than reveal the whole value.
  let hidden = digits > 4 ? digits - 4 : digits;
  return value.replace(/[0-9]/g, (digit) => (hidden-- > 0 ? '•' : digit));
}
