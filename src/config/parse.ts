import { readFileSync } from 'node:fs';
import { z } from 'zod';

// Each parser adds a one-line problem naming the setting, instead of throwing, so that every
// problem is reported at once.

export const positiveInt = z.coerce.number().int().positive();

/** A comma-separated list, trimmed, without empty items. */
export const list = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);

/** `value` checked against `schema`; on failure the first issue becomes a problem for `name`. */
export function parse<T>(name: string, value: unknown, schema: z.ZodType<T>, problems: string[]): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
  problems.push(`${name}${where}: ${issue?.message ?? 'invalid value'}`);
  return undefined;
}

/** Reads whole-number settings from `env`: `name`'s value checked against `schema` (a positive integer unless said), else `fallback`. */
export function numberSettings(env: NodeJS.ProcessEnv, problems: string[]): (name: string, fallback: number, schema?: z.ZodType<number>) => number {
  return (name, fallback, schema = positiveInt) => parse(name, env[name] ?? String(fallback), schema, problems) ?? fallback;
}

/** The parsed JSON content of `file`, or undefined with a problem saying why not. */
export function readJson(name: string, file: string, problems: string[]): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`${name}: cannot read JSON from "${file}" (${readProblem(error)})`);
    return undefined;
  }
}

/**
 * Why a file of secrets (keys, client secrets) could not be read, without its content: JSON.parse's
 * own message quotes the text around the fault, which would put part of a key in the log.
 */
export function readProblem(error: unknown): string {
  if (!(error instanceof SyntaxError)) return (error as Error).message;
  const where = /at position \d+(?: \(line \d+ column \d+\))?/.exec(error.message)?.[0];
  return `not valid JSON${where ? `: ${where}` : ''}`;
}
