/**
 * PostgreSQL text and jsonb cannot hold U+0000, which a member may type or an authorization request
 * carry (a `state` of "%00" reaches a sign-in's payload). Every string goes in with U+0000 written as
 * U+E000 "0" and U+E000 itself as U+E000 "e" (a private-use character, so the second rule is almost
 * never needed), and comes back decoded. The mapping is a prefix code: a string starts with a prefix
 * exactly when their encodings do, so id-prefix look-ups keep working on encoded ids.
 */
const ESCAPE = '\uE000';

/** A string as stored. */
export function toDb(value: string): string {
  if (!value.includes('\u0000') && !value.includes(ESCAPE)) return value;
  return value.replace(/[\u0000\uE000]/g, (found) => (found === ESCAPE ? `${ESCAPE}e` : `${ESCAPE}0`));
}

/** A stored string as it was given. */
export function fromDb(value: string): string {
  if (!value.includes(ESCAPE)) return value;
  return value.replace(/\uE000([0e])/g, (_found, tag: string) => (tag === '0' ? '\u0000' : ESCAPE));
}

/** `toDb` for a string that may be absent. */
export function toDbOrNull(value: string | undefined | null): string | null {
  return typeof value === 'string' ? toDb(value) : null;
}

/** `fromDb` for a column that may be NULL. */
export function fromDbOrUndefined(value: string | null | undefined): string | undefined {
  return typeof value === 'string' ? fromDb(value) : undefined;
}

/**
 * JSON text for a jsonb column: JSON.stringify writes U+0000 as the escape `\u0000`, which jsonb
 * refuses; it becomes the stored form above, inside the string it belongs to. A `\\` pair is taken
 * as a whole, so the text `\\u0000` (a backslash, then "u0000") is left alone.
 */
export function jsonToDb(value: unknown): string {
  const json = JSON.stringify(value);
  if (!json.includes('\\u0000') && !json.includes(ESCAPE)) return json;
  return json.replace(/\\\\|\\u0000|\uE000/g, (found) => (found === '\\\\' ? found : found === ESCAPE ? `${ESCAPE}e` : `${ESCAPE}0`));
}

/** A jsonb column read as text (`payload::text`), parsed, with its strings as they were given. */
export function jsonFromDb<T>(text: string): T {
  if (!text.includes(ESCAPE)) return JSON.parse(text) as T;
  return JSON.parse(text.replace(/\uE000([0e])/g, (_found, tag: string) => (tag === '0' ? '\\u0000' : ESCAPE))) as T;
}
