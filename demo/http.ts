import type { Context } from 'koa';

const FORM_LIMIT = 16 * 1024;

/**
 * True when the browser says a state-changing request came from the website's own pages:
 * `Sec-Fetch-Site: same-origin` where sent, and an `Origin` equal to the website's, where sent.
 * A request with neither is refused: every browser that can run the demo sends at least one.
 */
export function isSameOrigin(ctx: Context, origin: string): boolean {
  const site = ctx.get('sec-fetch-site');
  const from = ctx.get('origin');
  if (site && site !== 'same-origin') return false;
  if (from && from !== origin) return false;
  return Boolean(site || from);
}

/** Reads an urlencoded form of at most 16 KiB; undefined for another content type or a larger body. */
export async function readForm(ctx: Context): Promise<URLSearchParams | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
