import type { Payload } from '../port.ts';
import { jsonFromDb, toDbOrNull } from './db-text.ts';

/** A document as the store reads it: the payload as text (`payload::text`) and its consumed mark. */
export type DocumentRow = { payload: string; consumed_at: string | null };

/** The payload of a row, with `consumed` where it was consumed; undefined for no row. */
export function toPayload(row: DocumentRow | undefined): Payload | undefined {
  if (!row) return undefined;
  const payload = jsonFromDb<Payload>(row.payload);
  if (row.consumed_at !== null) payload.consumed = Number(row.consumed_at);
  return payload;
}

/** A payload field the store indexes (grantId, uid, userCode) as stored: null unless a string. */
export function indexed(value: unknown): string | null {
  return typeof value === 'string' ? toDbOrNull(value) : null;
}
