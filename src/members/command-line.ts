import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { Member, Members, Store } from '../store/port.ts';
import { findMemberByNumber } from './members.ts';
import { validateMemberNumber } from './validate.ts';

/** A refusal with its exit status: 1 for bad input, 2 for a malformed command line. */
export class CliError extends Error {
  readonly exitCode: 1 | 2;
  constructor(exitCode: 1 | 2, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
/** A malformed command line (exit 2). */
export const usage = (message: string) => new CliError(2, `${message} (see "npm run members -- help")`);
/** Input refused before anything was written (exit 1). */
export const refused = (message: string) => new CliError(1, message);

/** The options of a command line, as parsed. */
export type Values = Record<string, string | boolean | undefined>;
/** What a command does once its command line is accepted: the rows it prints. */
export type Action = (store: Store) => Promise<object[]>;
/** A command: its options, and its command line checked (before the store is opened) into an action. */
export type Command = { options: ParseArgsOptionsConfig; prepare(values: Values, env: NodeJS.ProcessEnv): Promise<Action> };

/** The options that name one member. */
export const target = { number: { type: 'string' }, id: { type: 'string' } } as const;

/** The value of `--name`; a usage error when it is missing. */
export function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string') throw usage(`missing --${name}`);
  return value;
}

/** The accepted value, or the reason it was refused. */
export function checked<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!result.ok) throw refused(result.reason);
  return result.value;
}

/** The member named by exactly one of --number and --id; a lookup that finds none is refused. */
export function targetMember(values: Values): (members: Members) => Promise<Member> {
  if ((values.number === undefined) === (values.id === undefined)) throw usage('give exactly one of --number and --id');
  if (typeof values.id === 'string') {
    const id = values.id;
    return async (members) => (await members.findById(id)) ?? Promise.reject(refused(`no member with id ${JSON.stringify(id)}`));
  }
  const number = checked(validateMemberNumber(values.number));
  return async (members) => (await findMemberByNumber(members, number)) ?? Promise.reject(refused(`no member with number ${number}`));
}

/** The command line parsed against the command's options; a usage error never echoes a stray value. */
export function parseCommandLine(command: Command, args: string[]): Values {
  try {
    return parseArgs({ args, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Node's message quotes the stray argument, which may be a mistyped password: never echo it.
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw usage('unexpected argument: every value needs its --option');
    if (code?.startsWith('ERR_PARSE_ARGS')) throw usage((error as Error).message.split('\n')[0]!);
    throw error;
  }
}
