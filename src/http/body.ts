import type { Context } from 'koa';
import { HttpError } from './http-error.ts';

const FORM_LIMIT = 16 * 1024;
const JSON_LIMIT = 64 * 1024;

/** Reads an `application/x-www-form-urlencoded` body (16 KiB at most) into a plain string map. */
export async function readForm(ctx: Context): Promise<Record<string, string>> {
  const params = await readFormParams(ctx);
  const form: Record<string, string> = {};
  // First occurrence wins: a repeated field cannot smuggle a second value past validation.
  for (const [key, value] of params) if (!(key in form)) form[key] = value;
  return form;
}

/** Reads an `application/x-www-form-urlencoded` body as it came, repeated fields included. */
export async function readFormParams(ctx: Context, limit = FORM_LIMIT): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new HttpError(415, 'unsupported_media_type', 'expected a form submission');
  return new URLSearchParams(await readText(ctx, limit));
}

/** Reads an `application/json` body (64 KiB at most). Malformed JSON is a 400, never a 500. */
export async function readJson(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'expected application/json');
  const text = await readText(ctx, JSON_LIMIT);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_request', 'the request body is not valid JSON');
  }
}

async function readText(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new HttpError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new HttpError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away or broke off mid-body (a phone losing its signal): nothing to act on.
    throw new HttpError(400, 'incomplete_request', 'the request body did not arrive whole');
  }
  return Buffer.concat(chunks).toString('utf8');
}
