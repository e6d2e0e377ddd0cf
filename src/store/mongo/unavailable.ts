import { mongo, type Schema } from 'mongoose';
import { StoreUnavailableError } from '../port.ts';

/**
 * MongoDB server codes for "not now": no writable primary (a step-down or election), a node shutting
 * down or recovering, a write concern not met in time, the network, the disk full.
 */
const PASSING_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed / WriteConcernTimeout
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  14031, // OutOfDiskSpace
]);

/** How long a client should wait: about one replica-set election. */
const RETRY_AFTER_SECONDS = 15;

/** True when a MongoDB or driver error means the operation may succeed later (once a primary is back). */
export function isPassingMongoError(error: unknown): boolean {
  if (error instanceof mongo.MongoNetworkError || error instanceof mongo.MongoServerSelectionError) return true;
  if (error instanceof mongo.MongoError) {
    if (error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('TransientTransactionError')) return true;
    if (typeof error.code === 'number' && PASSING_CODES.has(error.code)) return true;
  }
  // mongoose wraps server selection failures in its own class.
  return error instanceof Error && error.name === 'MongooseServerSelectionError';
}

/** The error a store caller sees for an error from mongoose: StoreUnavailableError where it may pass. */
export function storeError(error: unknown): unknown {
  if (!isPassingMongoError(error)) return error;
  return new StoreUnavailableError(`MongoDB cannot take this now: ${(error as Error).message}`, { cause: error, retryAfter: RETRY_AFTER_SECONDS });
}

const QUERIES = [
  'find', 'findOne', 'countDocuments', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany',
  'findOneAndUpdate', 'findOneAndDelete', 'findOneAndReplace', 'replaceOne',
] as const;

/** Makes every operation on models of `schema` fail with StoreUnavailableError where the failure may pass. */
export function passingErrors(schema: Schema<any>): void {
  const translate = (error: Error, _result: unknown, next: (error?: Error) => void) => next(storeError(error) as Error);
  schema.post([...QUERIES], { errorHandler: true }, translate);
  schema.post('save', { errorHandler: true }, translate);
}
