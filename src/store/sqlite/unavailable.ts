import { StoreUnavailableError } from '../port.ts';

/**
 * SQLite's primary result codes (the low byte of an extended code) that mean the database cannot do
 * this now but may later: another process holds the write lock past the busy timeout, the file or
 * its folder is read-only, the disk failed or is full (or the size limit is reached).
 */
const PASSING: ReadonlyMap<number, string> = new Map([
  [5, 'busy'],
  [6, 'locked'],
  [8, 'read-only'],
  [10, 'I/O error'],
  [13, 'full'],
  [14, 'cannot open a file'],
  [15, 'locking protocol'],
]);

/** The error a store caller sees for an error from node:sqlite: StoreUnavailableError where it may pass. */
export function storeError(error: unknown): unknown {
  const code = (error as { errcode?: unknown } | undefined)?.errcode;
  if (typeof code !== 'number') return error;
  const reason = PASSING.get(code & 0xff);
  if (!reason) return error;
  return new StoreUnavailableError(`the database cannot write now (${reason}): ${(error as Error).message}`, { cause: error });
}
