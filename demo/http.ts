import type { Context } from 'koa';

const FORM_LIMIT = 16 * 1024;

/**
 * True when the browser says a state-changing request came from the website's own pages:
 * `Sec-Fetch-Site: same-origin` where sent (browsers set it; pages cannot), else an `Origin` equal to
 * the website's. A request with neither is refused: every browser that can run the demo sends one.
 */
export function isSameOrigin(ctx: Context, origin: string): boolean {
  const site = ctx.get('sec-fetch-site');
  // Under `Referrer-Policy: no-referrer` browsers post forms with `Origin: null`, so the fetch
  // metadata header decides whenever it is present.
  if (site) return site === 'same-origin';
  return ctx.get('origin') === origin;
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
