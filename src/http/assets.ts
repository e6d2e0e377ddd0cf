import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Context } from 'koa';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The page assets, read once at start-up: name → type and bytes. */
export type Assets = ReadonlyMap<string, { type: string; body: Buffer }>;

/**
 * The page assets in `dir`, plus `extra` files (name → path, e.g. a browser library from
 * node_modules), served under `/assets/`; nothing else is reachable.
 */
export function loadAssets(dir: string, extra: Record<string, string> = {}): Assets {
  const files = new Map<string, { type: string; body: Buffer }>();
  const entries = [...readdirSync(dir).map((name) => [name, path.join(dir, name)]), ...Object.entries(extra)];
  for (const [name, file] of entries) {
    const type = TYPES[path.extname(name!)];
    if (type) files.set(name!, { type, body: readFileSync(file!) });
  }
  return files;
}

/** GET /favicon.ico: browsers and crawlers ask for it whatever the page says. */
export function redirectFavicon(ctx: Context): void {
  ctx.status = 301;
  ctx.set('Cache-Control', 'public, max-age=86400');
  ctx.redirect('/assets/favicon.svg');
}

/** GET /assets/:name. */
export function serveAsset(ctx: Context, assets: Assets): void {
  const file = assets.get(ctx.params.name!);
  if (!file) return;
  ctx.type = file.type;
  ctx.set('Cache-Control', 'public, max-age=3600');
  ctx.body = file.body;
}
