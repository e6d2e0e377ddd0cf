import type { Context } from 'koa';
import type { Logger } from '../log.ts';
import type { Clock, Store } from '../store/port.ts';

/** Whether the store can write now, as `/readyz` answers it. */
export type Readiness = { ready(): Promise<boolean> };

/** How long one write check answers for: however often a load balancer asks, the store sees one. */
const WRITE_CHECK_FRESH_MS = 2000;
const WRITE_CHECK_TIMEOUT_MS = 2000;

/**
 * Whether the store can write, checked with a real, small write (a fresh one at most every two
 * seconds, answered within two seconds): what `/readyz` answers and the metrics report.
 */
export function createReadiness(store: Store, logger: Logger, clock: Clock = Date.now): Readiness {
  let last: { at: number; ready: boolean } | undefined;
  let checking: Promise<boolean> | undefined;

  const check = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        store.checkWrites(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('the write check did not finish within two seconds')), WRITE_CHECK_TIMEOUT_MS);
          timer.unref();
        }),
      ]);
      if (last && !last.ready) logger.info('store writes again: ready', { store: store.kind });
      return true;
    } catch (error) {
      if (!last || last.ready) logger.warn('store cannot write: not ready', { store: store.kind, error });
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  const ready = async (): Promise<boolean> => {
    if (last && clock() - last.at < WRITE_CHECK_FRESH_MS) return last.ready;
    checking ??= check().then((result) => {
      last = { at: clock(), ready: result };
      checking = undefined;
      return result;
    });
    return checking;
  };
  return { ready };
}

/** GET /healthz: the process answers. */
export function answerHealthz(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
}

/**
 * GET /readyz: the store can write (see createReadiness): 503 while it cannot, so a load balancer
 * takes the instance out, and 200 again once it can.
 */
export async function answerReadyz(ctx: Context, { store, readiness }: { store: Pick<Store, 'kind'>; readiness: Readiness }): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  if (await readiness.ready()) {
    ctx.body = { status: 'ready', store: store.kind };
  } else {
    ctx.status = 503;
    ctx.body = { status: 'unavailable', store: store.kind };
  }
}
