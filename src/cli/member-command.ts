import type { ParseArgsOptionsConfig } from 'node:util';
import { findMemberByNumber } from '../members/members.ts';
import { validateMemberNumber } from '../members/validate.ts';
import type { Member, Members, Store } from '../store/port.ts';
import { checked, refused, required as requiredOf, usage as usageOf, type Values } from './command-line.ts';

/** A malformed command line of the members tool (exit 2). */
export const usage = (message: string) => usageOf('members', message);
/** The value of `--name`; a usage error when it is missing. */
export const required = (values: Values, name: string) => requiredOf('members', values, name);

/** What a command does once its command line is accepted: the rows it prints. */
export type Action = (store: Store) => Promise<object[]>;
/** A command of the members tool: its options, and its command line checked (before the store is opened) into an action. */
export type Command = { options: ParseArgsOptionsConfig; prepare(values: Values, env: NodeJS.ProcessEnv): Promise<Action> };

/** The options that name one member. */
export const target = { number: { type: 'string' }, id: { type: 'string' } } as const;

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
