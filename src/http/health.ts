import Router from '@koa/router';
import type { Logger } from '../log.ts';
import type { Store } from '../store/port.ts';

/** `/healthz`: the process answers. `/readyz`: the store answers too (within two seconds). */
export function healthRouter(store: Store, logger: Logger): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await Promise.race([
        store.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('store ping timed out')), 2000).unref()),
      ]);
      ctx.body = { status: 'ready', store: store.kind };
    } catch (error) {
      logger.warn('store not ready', { error });
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.kind };
    }
  });
  return router;
}
