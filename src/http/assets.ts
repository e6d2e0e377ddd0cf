import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Serves the page assets from `dir`, plus `extra` files (name → path, e.g. a browser library from
 * node_modules), under `/assets/`, read once at start-up; nothing else is reachable.
 */
export function assetsRouter(dir: string, extra: Record<string, string> = {}): Router {
  const files = new Map<string, { type: string; body: Buffer }>();
  const entries = [...readdirSync(dir).map((name) => [name, path.join(dir, name)]), ...Object.entries(extra)];
  for (const [name, file] of entries) {
    const type = TYPES[path.extname(name!)];
    if (type) files.set(name!, { type, body: readFileSync(file!) });
  }
  const router = new Router();
  // Browsers and crawlers ask for /favicon.ico whatever the page says.
  router.get('/favicon.ico', (ctx) => {
    ctx.status = 301;
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.redirect('/assets/favicon.svg');
  });
  router.get('/assets/:name', (ctx) => {
    const file = files.get(ctx.params.name!);
    if (!file) return;
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = file.body;
  });
  return router;
}
