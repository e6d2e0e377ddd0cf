import type { LogFields, Logger } from '../log.ts';

/**
 * `logger` with the worker's number on every line, so that the lines of one worker can be told from
 * another's (the primary logs each worker's number with its process id when it starts it).
 */
export function workerLogger(logger: Logger, worker: number): Logger {
  const tagged = (write: (message: string, fields?: LogFields) => void) => (message: string, fields: LogFields = {}) => write(message, { worker, ...fields });
  return { debug: tagged(logger.debug), info: tagged(logger.info), warn: tagged(logger.warn), error: tagged(logger.error) };
}
