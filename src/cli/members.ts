/**
 * `npm run members -- <command>`: adds and changes members in the IdP's store, and the support
 * desk's commands on one member (desk-commands.ts).
 */
import { createPasskeyOffer } from '../account/passkey-offer.ts';
import { DeskRefusal } from '../account/support-desk.ts';
import { assemblePasswordHasher } from '../assembly.ts';
import { defaultDatabaseUrl } from '../config/database-url.ts';
import { loadPasswordHashing } from '../config/passwords.ts';
import { createMember, MemberInputError, publicView, setPassword, setStatus } from '../members/members.ts';
import type { PasswordHasher } from '../members/password.ts';
import { validateMemberNumber } from '../members/validate.ts';
import { openStore } from '../store/open.ts';
import type { Member, Members } from '../store/port.ts';
import { checked, parseCommandLine, printRows, refused, type Values } from './command-line.ts';
import { deskCommands } from './desk-commands.ts';
import { required, target, targetMember, usage, type Action, type Command } from './member-command.ts';

const USAGE = `Usage: npm run --silent members -- <command> [options]

Manages JMB members in the IdP's store: DATABASE_URL, by default sqlite:<DATA_DIR or ./data>/jmb-idp.db.

Commands:
  add --number N --name NAME --phone +E164 --country CC (--password P | --password-stdin)
  list [--limit N] [--after NUMBER]     members in number order; limit 1 to 1000, default 100
  show (--number N | --id ID)
  activity (--number N | --id ID) [--limit N]   the member's security activity (audit trail), newest first
  set-password (--number N | --id ID) (--password P | --password-stdin)
                                        the browsers the member logged in from are no longer known to the
                                        password log-in (their device cookies end)
  disable (--number N | --id ID)        the member can no longer log in; their device cookies end
  stats [--days N]                      how the passkey offered after a password log-in was taken up
                                        (offered, accepted, registered, dismissed, skipped), last N days (default 30)
  help

Support-desk commands:
  sessions (--number N | --id ID)       where the member is logged in (browser, address, times)
  logout-everywhere (--number N | --id ID) --by OPERATOR --reason TEXT
                                        end every session of the member (grants revoked, relying parties told)
                                        and their device cookies
  unlock (--number N | --id ID) --by OPERATOR --reason TEXT
                                        lift the waits on the member's password log-in and a temporary SMS lock
  reset-sms (--number N | --id ID) --by OPERATOR --reason TEXT
                                        turn SMS verification on again after too many wrong codes turned it off
  passkeys (--number N | --id ID) --by OPERATOR --reason TEXT
                                        the member's passkeys (id, name, created, last use), one JSON line each
  remove-passkey --number N --id PASSKEY_ID --by OPERATOR --reason TEXT
                                        remove one of the member's passkeys (a lost device); --id is the passkey's
  enable (--number N | --id ID) --by OPERATOR --reason TEXT
                                        let a disabled member log in again
  set-phone (--number N | --id ID) --phone +E164 --by OPERATOR --reason TEXT
                                        bind a new phone: codes sent to the old number stop working, and a notice
                                        goes by SMS to the old number (if it still receives SMS) and to the new one;
                                        the member's device cookies end

--password-stdin reads the password from standard input (one trailing newline is dropped),
so it stays out of shell history and the process list:
  printf '%s\\n' "$NEW_PASSWORD" | npm run --silent members -- set-password --number 300000001 --password-stdin

Support-desk commands record the operator (--by) and the reason in the member's audit trail.
set-phone sends its notices through SMS_TRANSPORT, like the IdP (see docs/configuration.md).

Every member printed is one JSON object per line on stdout, without password or hash.
Exit status: 0 done; 1 input refused (nothing written); 2 usage error. The reason is one line on stderr.
`;

/** An action on members, printed as their public views (never a secret). */
const onMembers = (fn: (members: Members) => Promise<Member[]>): Action => async (store) => (await fn(store.members)).map(publicView);
const password = { password: { type: 'string' }, 'password-stdin': { type: 'boolean' } } as const;

/** Passwords hashed as the IdP hashes them: at the PASSWORD_ARGON2_* settings of the same environment. */
function passwordHasher(env: NodeJS.ProcessEnv): PasswordHasher {
  const problems: string[] = [];
  const hashing = loadPasswordHashing(env, problems);
  if (problems.length) throw refused(problems.join('; '));
  return assemblePasswordHasher(hashing);
}

// Each command checks its command line first and only then gets the store, so a usage error never opens it.
const commands: Record<string, Command> = {
  add: {
    options: { ...password, number: { type: 'string' }, name: { type: 'string' }, phone: { type: 'string' }, country: { type: 'string' } },
    async prepare(values, env) {
      for (const name of ['number', 'name', 'phone', 'country']) required(values, name);
      const passwords = passwordHasher(env);
      const secret = await readPassword(values);
      const input = { number: values.number, name: values.name, phone: values.phone, country: values.country, password: secret };
      return onMembers(async (members) => [await createMember(members, input, Date.now, passwords)]);
    },
  },
  list: {
    options: { limit: { type: 'string' }, after: { type: 'string' } },
    async prepare(values) {
      const limit = Number(values.limit ?? '100');
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw refused('--limit must be a whole number from 1 to 1000');
      const after = values.after === undefined ? undefined : checked(validateMemberNumber(values.after));
      return onMembers((members) => members.list({ limit, afterNumber: after }));
    },
  },
  show: {
    options: target,
    async prepare(values) {
      const find = targetMember(values);
      return onMembers(async (members) => [await find(members)]);
    },
  },
  activity: {
    options: { ...target, limit: { type: 'string' } },
    async prepare(values) {
      const find = targetMember(values);
      const limit = Number(values.limit ?? '50');
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw refused('--limit must be a whole number from 1 to 1000');
      return async (store) => {
        const member = await find(store.members);
        return (await store.audit.listForMember(member.id, limit)).map(({ memberId, at, ...event }) => ({ at: at.toISOString(), ...event }));
      };
    },
  },
  'set-password': {
    options: { ...target, ...password },
    async prepare(values, env) {
      const find = targetMember(values);
      const passwords = passwordHasher(env);
      const secret = await readPassword(values);
      return onMembers(async (members) => [(await setPassword(members, (await find(members)).id, secret, passwords))!]);
    },
  },
  disable: {
    options: target,
    async prepare(values) {
      const find = targetMember(values);
      return onMembers(async (members) => [(await setStatus(members, (await find(members)).id, 'disabled'))!]);
    },
  },
  stats: {
    options: { days: { type: 'string' } },
    async prepare(values) {
      const days = Number(values.days ?? '30');
      if (!Number.isInteger(days) || days < 1 || days > 366) throw refused('--days must be a whole number from 1 to 366');
      return async (store) => {
        const offer = createPasskeyOffer({ members: store.members, passkeys: store.passkeys, counters: store.counters, audit: store.audit, clock: Date.now, snoozeDays: 30 });
        return [{ days, passkeyOffer: await offer.stats(days) }];
      };
    },
  },
  ...deskCommands,
};

async function readPassword(values: Values): Promise<string> {
  if (values.password !== undefined && values['password-stdin']) throw usage('give --password or --password-stdin, not both');
  if (typeof values.password === 'string') return values.password;
  if (!values['password-stdin']) throw usage('missing --password or --password-stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Runs the command `args` names; returns the rows it shows. */
async function main(args: string[], env: NodeJS.ProcessEnv): Promise<object[]> {
  const [name, ...rest] = args;
  if (name === 'help' || name === '--help' || name === '-h') return help();
  if (name === undefined) throw usage('missing command');
  const command = Object.hasOwn(commands, name) ? commands[name]! : undefined;
  if (!command) throw usage(`unknown command ${JSON.stringify(name.slice(0, 40))}`);
  const values = parseCommandLine('members', command.options, rest);
  if (values.help) return help();
  const action = await command.prepare(values, env);

  const store = await openStore(env.DATABASE_URL ?? defaultDatabaseUrl(env), { ensureIndexes: env.NODE_ENV !== 'production' });
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}

function help(): [] {
  process.stdout.write(USAGE);
  return [];
}

// A member's input refused, or a desk action on something that does not exist, is said as it is.
await printRows(() => main(process.argv.slice(2), process.env), (error) => error instanceof MemberInputError || error instanceof DeskRefusal);
