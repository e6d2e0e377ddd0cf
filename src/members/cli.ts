import path from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { defaultDatabaseUrl } from '../config/database-url.ts';
import { createLogger } from '../log.ts';
import { openStore } from '../store/open.ts';
import type { Member, Members, Store } from '../store/port.ts';
import {
  createMember, findMemberByNumber, maskPhone, MemberInputError, publicView, setPassword, setStatus,
} from './members.ts';
import { createPasskeyOffer } from '../account/passkey-offer.ts';
import { describeUserAgent } from '../auth/user-agent.ts';
import { loadConfig } from '../config/load.ts';
import { CookieSigner } from '../http/cookie-signer.ts';
import { createMemberSessions } from '../oidc/member-sessions.ts';
import { createProvider } from '../oidc/provider.ts';
import { providerJwks } from '../oidc/signing-keys.ts';
import { liftLoginWaits } from '../auth/password/password-login.ts';
import type { SmsSender } from '../auth/sms-otp/sms-sender.ts';
import { reenableSmsVerification, unlockSmsVerification } from '../auth/sms-otp/sms-otp.ts';
import {
  bindNewPhone, deskPasskeys, DeskRefusal, enableMember, recordDeskAction, removeMemberPasskey, type DeskOperator,
} from './support-desk.ts';
import { validateMemberNumber, validatePhone } from './validate.ts';

const USAGE = `Usage: npm run --silent members -- <command> [options]

Manages JMB members in the IdP's store: DATABASE_URL, by default sqlite:<DATA_DIR or ./data>/jmb-idp.db.

Commands:
  add --number N --name NAME --phone +E164 --country CC (--password P | --password-stdin)
  list [--limit N] [--after NUMBER]     members in number order; limit 1 to 1000, default 100
  show (--number N | --id ID)
  activity (--number N | --id ID) [--limit N]   the member's security activity (audit trail), newest first
  set-password (--number N | --id ID) (--password P | --password-stdin)
  disable (--number N | --id ID)
  stats [--days N]                      how the passkey offered after a password log-in was taken up
                                        (offered, accepted, registered, dismissed, skipped), last N days (default 30)
  help

Support-desk commands:
  sessions (--number N | --id ID)       where the member is logged in (browser, address, times)
  logout-everywhere (--number N | --id ID) --by OPERATOR [--reason TEXT]
                                        end every session of the member (grants revoked, relying parties told)
  unlock (--number N | --id ID) --by OPERATOR [--reason TEXT]
                                        lift the waits on the member's password log-in and a temporary SMS lock
  reset-sms (--number N | --id ID) --by OPERATOR [--reason TEXT]
                                        turn SMS verification on again after too many wrong codes turned it off
  passkeys (--number N | --id ID) --by OPERATOR --reason TEXT
                                        the member's passkeys (id, name, created, last use), one JSON line each
  remove-passkey --number N --id PASSKEY_ID --by OPERATOR --reason TEXT
                                        remove one of the member's passkeys (a lost device); --id is the passkey's
  enable (--number N | --id ID) --by OPERATOR --reason TEXT
                                        let a disabled member log in again
  set-phone (--number N | --id ID) --phone +E164 --by OPERATOR --reason TEXT
                                        bind a new phone: codes sent to the old number stop working, and a notice
                                        goes by SMS to the old number (if it still receives SMS) and to the new one

--password-stdin reads the password from standard input (one trailing newline is dropped),
so it stays out of shell history and the process list:
  printf '%s\\n' "$NEW_PASSWORD" | npm run --silent members -- set-password --number 300000001 --password-stdin

Support-desk commands record the operator (--by) and the reason in the member's audit trail.
set-phone sends its notices through SMS_TRANSPORT, like the IdP (see the README's settings).

Every member printed is one JSON object per line on stdout, without password or hash.
Exit status: 0 done; 1 input refused (nothing written); 2 usage error. The reason is one line on stderr.
`;

/** A refusal with its exit status: 1 for bad input, 2 for a malformed command line. */
class CliError extends Error {
  readonly exitCode: 1 | 2;
  constructor(exitCode: 1 | 2, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
const usage = (message: string) => new CliError(2, `${message} (see "npm run members -- help")`);
const refused = (message: string) => new CliError(1, message);

type Values = Record<string, string | boolean | undefined>;
type Action = (store: Store) => Promise<object[]>;
/** An action on members, printed as their public views (never a secret). */
const onMembers = (fn: (members: Members) => Promise<Member[]>): Action => async (store) => (await fn(store.members)).map(publicView);
type Command = { options: ParseArgsOptionsConfig; prepare(values: Values, env: NodeJS.ProcessEnv): Promise<Action> };

const target = { number: { type: 'string' }, id: { type: 'string' } } as const;
const password = { password: { type: 'string' }, 'password-stdin': { type: 'boolean' } } as const;

// Each command checks its command line first and only then gets the store, so a usage error never opens it.
const commands: Record<string, Command> = {
  add: {
    options: { ...password, number: { type: 'string' }, name: { type: 'string' }, phone: { type: 'string' }, country: { type: 'string' } },
    async prepare(values) {
      for (const name of ['number', 'name', 'phone', 'country']) required(values, name);
      const secret = await readPassword(values);
      const input = { number: values.number, name: values.name, phone: values.phone, country: values.country, password: secret };
      return onMembers(async (members) => [await createMember(members, input, Date.now)]);
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
    async prepare(values) {
      const find = targetMember(values);
      const secret = await readPassword(values);
      return onMembers(async (members) => [(await setPassword(members, (await find(members)).id, secret))!]);
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
  sessions: {
    options: target,
    async prepare(values) {
      const find = targetMember(values);
      return async (store) => {
        const member = await find(store.members);
        const places = await createMemberSessions({ documents: store.documents, audit: store.audit, clock: Date.now }).list(await providerFor(store), member.id);
        return places.map((place) => ({
          session: place.uid, device: describeUserAgent(place.userAgent) ?? 'unknown', from: place.ip ?? 'unknown',
          startedAt: place.startedAt.toISOString(), lastActiveAt: place.lastActiveAt.toISOString(),
        }));
      };
    },
  },
  'logout-everywhere': supportCommand('support.logged_out_everywhere', { reason: 'optional' }, () => async (store, member, operator) => {
    const sessions = createMemberSessions({ documents: store.documents, audit: store.audit, clock: Date.now });
    await sessions.endAll(await providerFor(store), member.id, { by: 'operator', operator: operator.by, ...(operator.reason && { reason: operator.reason }) });
  }),
  unlock: supportCommand('support.unlocked', { reason: 'optional' }, () => async (store, member) => {
    await Promise.all([liftLoginWaits(store.counters, member.number), unlockSmsVerification(store.counters, member.id)]);
  }),
  'reset-sms': supportCommand('support.sms_reenabled', { reason: 'optional' }, () => async (store, member) => {
    await reenableSmsVerification(store.counters, member.id);
  }),
  passkeys: supportCommand('support.passkeys_listed', {}, () => async (store, member) => ({ shown: await deskPasskeys(store.passkeys, member) })),
  'remove-passkey': supportCommand('support.passkey_removed', { passkeyId: true }, (values) => {
    const id = required(values, 'id');
    return async (store, member) => {
      const passkey = await removeMemberPasskey(store.passkeys, member, id);
      return { detail: { passkey: passkey.name } };
    };
  }),
  enable: supportCommand('support.enabled', {}, () => async (store, member) => ({ shown: [publicView(await enableMember(store.members, member))] })),
  'set-phone': supportCommand('support.phone_bound', { phone: true }, async (values, env) => {
    const phone = checked(validatePhone(required(values, 'phone')));
    const sender = await smsSenderFor(env);
    return async (store, member) => {
      const { member: updated, notices } = await bindNewPhone({ members: store.members, sender, clock: Date.now }, member, phone);
      const detail = { from: maskPhone(member.phone), to: maskPhone(phone), noticeToPrevious: notices.previous, noticeToCurrent: notices.current };
      for (const [which, outcome] of Object.entries(notices)) {
        if (outcome === 'failed') process.stderr.write(`warning: the notice to the ${which} number could not be sent\n`);
      }
      return { detail, shown: [publicView(updated)] };
    };
  }),
};

type DeskAct = (store: Store, member: Member, operator: DeskOperator) => Promise<{ detail?: Record<string, string>; shown?: object[] } | void>;

/**
 * A support-desk command on one member: the operator (`--by`) and the reason are checked with the
 * rest of the command line, the member (and anything else named) is looked up, and only then is
 * anything changed; what was done is recorded in the member's audit trail with who did it and why.
 * Prints what `act` shows, or the member. `passkeyId`: `--id` names the member's passkey, so the
 * member is named by `--number`.
 */
function supportCommand(type: string, shape: { reason?: 'optional'; passkeyId?: boolean; phone?: boolean }, build: (values: Values, env: NodeJS.ProcessEnv) => DeskAct | Promise<DeskAct>): Command {
  return {
    options: {
      ...(shape.passkeyId ? { number: { type: 'string' }, id: { type: 'string' } } : target),
      ...(shape.phone && { phone: { type: 'string' } }),
      by: { type: 'string' },
      reason: { type: 'string' },
    },
    async prepare(values, env) {
      const find = shape.passkeyId ? targetMember({ number: required(values, 'number') }) : targetMember(values);
      const operator = deskOperator(values, shape.reason !== 'optional');
      const act = await build(values, env);
      return async (store) => {
        const member = await find(store.members);
        const done = await act(store, member, operator);
        await recordDeskAction(store.audit, Date.now, member, type, operator, done?.detail);
        return done?.shown ?? [publicView(member)];
      };
    },
  };
}

function deskOperator(values: Values, reasonRequired: boolean): DeskOperator {
  const by = required(values, 'by').trim();
  if (!/^[\p{L}\p{N} ._@-]{1,64}$/u.test(by)) throw refused('--by must name the operator in 1 to 64 letters, digits, spaces or ._@-');
  const reason = typeof values.reason === 'string' ? values.reason.trim().replace(/\s+/g, ' ').slice(0, 200) : undefined;
  if (reasonRequired && !reason) throw usage('missing --reason');
  return { by, reason: reason || undefined };
}

/** The SMS transport SMS_TRANSPORT names, as the IdP builds it; its log lines go to stderr, never among the JSON. */
async function smsSenderFor(env: NodeJS.ProcessEnv): Promise<SmsSender> {
  // Loaded only for the command that sends: the settings' schemas and the Twilio library take longer
  // to load than most commands take to run.
  const [{ loadSms }, { createSmsSender }] = await Promise.all([import('../config/sections.ts'), import('../auth/sms-otp/create-sender.ts')]);
  const problems: string[] = [];
  const settings = loadSms(env, path.resolve(env.DATA_DIR ?? './data'), env.NODE_ENV === 'production', problems);
  if (problems.length) throw refused(`invalid SMS settings: ${problems.join('; ')}`);
  return createSmsSender(settings, createLogger('warn', (line) => process.stderr.write(line)), Date.now);
}

/**
 * The IdP's OIDC provider on this store, as the server builds it (the same configuration from the
 * environment): to read sessions and to send back-channel logouts signed with the IdP's keys.
 */
async function providerFor(store: Store) {
  const config = loadConfig(process.env);
  return createProvider({ config, jwks: providerJwks(config.jwks, Date.now()), store, logger: createLogger('silent'), clock: Date.now, cookieSigner: new CookieSigner(config.cookieKeys) });
}

function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string') throw usage(`missing --${name}`);
  return value;
}

function checked<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!result.ok) throw refused(result.reason);
  return result.value;
}

/** The member named by exactly one of --number and --id; a lookup that finds none is refused. */
function targetMember(values: Values): (members: Members) => Promise<Member> {
  if ((values.number === undefined) === (values.id === undefined)) throw usage('give exactly one of --number and --id');
  if (typeof values.id === 'string') {
    const id = values.id;
    return async (members) => (await members.findById(id)) ?? Promise.reject(refused(`no member with id ${JSON.stringify(id)}`));
  }
  const number = checked(validateMemberNumber(values.number));
  return async (members) => (await findMemberByNumber(members, number)) ?? Promise.reject(refused(`no member with number ${number}`));
}

async function readPassword(values: Values): Promise<string> {
  if (values.password !== undefined && values['password-stdin']) throw usage('give --password or --password-stdin, not both');
  if (typeof values.password === 'string') return values.password;
  if (!values['password-stdin']) throw usage('missing --password or --password-stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function parseCommandLine(command: Command, args: string[]): Values {
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

async function main(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [name, ...rest] = args;
  if (name === 'help' || name === '--help' || name === '-h') return void process.stdout.write(USAGE);
  if (name === undefined) throw usage('missing command');
  const command = Object.hasOwn(commands, name) ? commands[name]! : undefined;
  if (!command) throw usage(`unknown command ${JSON.stringify(name.slice(0, 40))}`);
  const values = parseCommandLine(command, rest);
  if (values.help) return void process.stdout.write(USAGE);
  const action = await command.prepare(values, env);

  const store = await openStore(env.DATABASE_URL ?? defaultDatabaseUrl(env), { ensureIndexes: env.NODE_ENV !== 'production' });
  try {
    const shown = await action(store);
    process.stdout.write(shown.map((row) => `${JSON.stringify(row)}\n`).join(''));
  } finally {
    await store.close();
  }
}

try {
  await main(process.argv.slice(2), process.env);
} catch (error) {
  const exitCode = error instanceof CliError ? error.exitCode : 1;
  const message = error instanceof MemberInputError || error instanceof CliError || error instanceof DeskRefusal ? error.message : `error: ${(error as Error).message}`;
  process.stderr.write(`${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = exitCode;
}
