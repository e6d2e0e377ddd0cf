import { StoreOpenError } from './port.ts';

/**
 * The one line a person is shown when the store cannot be opened (another IdP process holds the
 * database file, the database server cannot be reached, a schema is behind), or undefined for any
 * other error, which stays an error nothing expected.
 */
export function storeOpenProblem(error: unknown): string | undefined {
  return error instanceof StoreOpenError ? error.message : undefined;
}
