import mongoose, { type Connection } from 'mongoose';

const defaultServerSelectionTimeoutMs = 10_000;

/**
 * Opens a dedicated connection (no global mongoose state) and waits until a server answers.
 * Rejects with a one-line reason, credentials removed, when none does within the selection timeout
 * (10 s unless the URL sets `serverSelectionTimeoutMS`).
 */
export async function connectMongo(url: string): Promise<Connection> {
  const connection = mongoose.createConnection(url, {
    ...(!hasUrlOption(url, 'serverSelectionTimeoutMS') && { serverSelectionTimeoutMS: defaultServerSelectionTimeoutMs }),
    // A write interrupted by a primary step-down or a network error is retried once on the new
    // primary (each store write is a single-document or idempotent operation, which the driver can
    // retry). A write is acknowledged once a majority of the replica set has it in its journal, so
    // neither a failover nor a power loss takes back what a member was told. The URL may override these.
    ...(!hasUrlOption(url, 'retryWrites') && { retryWrites: true }),
    ...(!hasUrlOption(url, 'retryReads') && { retryReads: true }),
    ...(!hasUrlOption(url, 'w') && !hasUrlOption(url, 'journal') && { writeConcern: { w: 'majority' as const, journal: true } }),
    // Fail fast instead of queueing operations while disconnected; indexes are created on purpose only.
    bufferCommands: false,
    autoIndex: false,
    autoCreate: false,
  });
  try {
    return await connection.asPromise();
  } catch (error) {
    await connection.close(true).catch(() => undefined);
    throw new Error(`cannot connect to MongoDB at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
}

/** The URL without its user name and password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/)[^@/]*@/, '$1');
}

function hasUrlOption(url: string, name: string): boolean {
  const query = url.split('?')[1] ?? '';
  return [...new URLSearchParams(query).keys()].some((key) => key.toLowerCase() === name.toLowerCase());
}
