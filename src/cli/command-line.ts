import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A refusal with its exit status: 1 for bad input, 2 for a malformed command line. */
export class CliError extends Error {
  readonly exitCode: 1 | 2;
  constructor(exitCode: 1 | 2, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A malformed command line (exit 2), pointing to the help of `tool` (its npm script). */
export const usage = (tool: string, message: string) => new CliError(2, `${message} (see "npm run ${tool} -- help")`);
/** Input refused before anything was written (exit 1). */
export const refused = (message: string) => new CliError(1, message);

/** The options of a command line, as parsed. */
export type Values = Record<string, string | boolean | undefined>;

/** The value of `--name`; a usage error of `tool` when it is missing. */
export function required(tool: string, values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string') throw usage(tool, `missing --${name}`);
  return value;
}

/** The accepted value, or the reason it was refused. */
export function checked<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!result.ok) throw refused(result.reason);
  return result.value;
}

/**
 * `args` parsed against `options` (and `--help`/`-h`); a usage error of `tool` otherwise, which never
 * echoes a stray value.
 */
export function parseCommandLine(tool: string, options: ParseArgsOptionsConfig, args: string[]): Values {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Node's message quotes the stray argument, which may be a mistyped password: never echo it.
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw usage(tool, 'unexpected argument: every value needs its --option');
    if (code?.startsWith('ERR_PARSE_ARGS')) throw usage(tool, (error as Error).message.split('\n')[0]!);
    throw error;
  }
}

/**
 * Runs a tool's command and prints the rows it returns, one JSON object per line on stdout. What
 * goes wrong is one line on stderr: a CliError (or an error `plain` accepts, the tool's own
 * refusals) as it is, with its exit status; anything else as "error: …", exit status 1.
 */
export async function printRows(run: () => object[] | Promise<object[]>, plain: (error: Error) => boolean = () => false): Promise<void> {
  try {
    const rows = await run();
    process.stdout.write(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    const message = error instanceof CliError || plain(error) ? error.message : `error: ${error.message}`;
    process.stderr.write(`${message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  }
}
