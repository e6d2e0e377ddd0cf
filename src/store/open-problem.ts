import { StoreOpenError } from './port.ts';
import { DatabaseInUseError } from './sqlite/owner-lock.ts';

/**
 * The one line a person is shown when the store cannot be opened (another IdP process holds the
 * database file, the database server cannot be reached), or undefined for any other error, which
 * stays an error nothing expected.
 */
export function storeOpenProblem(error: unknown): string | undefined {
  return error instanceof DatabaseInUseError || error instanceof StoreOpenError ? error.message : undefined;
}
