import { open, type FileHandle } from 'node:fs/promises';
import { StoreUnavailableError } from '../port.ts';

/** Flushes a WAL file to disk off the serving thread; flushes asked for together share one. */
export type WalFlush = {
  /** Resolves once everything written to the WAL before the call is on disk. */
  flush(): Promise<void>;
  close(): Promise<void>;
};

/**
 * `fdatasync` of the database's WAL file on libuv's thread pool. The serving connection commits with
 * `synchronous=NORMAL` (no flush on its thread) and its callers are answered only after one of these
 * has finished: the guarantee of `synchronous=FULL` (what was answered survives a power loss)
 * without holding the event loop for the disk. A flush asked for while one runs waits for it and
 * then starts the next, which covers everyone who asked in the meantime.
 */
export function createWalFlush(walFile: string): WalFlush {
  let handle: FileHandle | undefined;
  let running: Promise<void> | undefined;
  let waiting: Promise<void> | undefined;

  const flushOnce = async () => {
    try {
      handle ??= await open(walFile, 'r+');
      await handle.datasync();
    } catch (error) {
      // No WAL yet means nothing was written to flush.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StoreUnavailableError(`the database log could not be flushed to disk: ${(error as Error).message}`, { cause: error });
    }
  };
  const start = () => {
    const started = flushOnce().finally(() => {
      if (running === started) running = undefined;
    });
    running = started;
    return started;
  };

  return {
    flush() {
      if (!running) return start();
      waiting ??= running.then(() => undefined, () => undefined).then(() => {
        waiting = undefined;
        return start();
      });
      return waiting;
    },
    async close() {
      await Promise.allSettled([running, waiting]);
      await handle?.close();
      handle = undefined;
    },
  };
}
