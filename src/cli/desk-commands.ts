import path from 'node:path';
import { liftLoginWaits } from '../auth/password/password-login.ts';
import type { SmsSender } from '../auth/sms-otp/sms-sender.ts';
import { reenableSmsVerification, unlockSmsVerification } from '../auth/sms-otp/sms-otp.ts';
import { describeUserAgent } from '../auth/user-agent.ts';
import { assembleMemberSessions, assembleProvider, assembleSmsSender } from '../assembly.ts';
import { createLogger } from '../log.ts';
import type { Member, Store } from '../store/port.ts';
import {
  bindNewPhone, deskPasskeys, enableMember, recordDeskAction, removeMemberPasskey, type DeskOperator,
} from '../account/support-desk.ts';
import { endDeviceTrust, maskPhone, publicView } from '../members/members.ts';
import { validatePhone } from '../members/validate.ts';
import { checked, refused, type Values } from './command-line.ts';
import { required, target, targetMember, usage, type Command } from './member-command.ts';

/** The members tool's support-desk commands: each on one member, recorded with the operator and reason. */
export const deskCommands: Record<string, Command> = {
  sessions: {
    options: target,
    async prepare(values) {
      const find = targetMember(values);
      return async (store) => {
        const member = await find(store.members);
        const { sessions, provider } = await sessionsOf(store);
        const places = await sessions.list(provider, member.id);
        return places.map((place) => ({
          session: place.uid, device: describeUserAgent(place.userAgent) ?? 'unknown', from: place.ip ?? 'unknown',
          startedAt: place.startedAt.toISOString(), lastActiveAt: place.lastActiveAt.toISOString(),
        }));
      };
    },
  },
  'logout-everywhere': supportCommand('support.logged_out_everywhere', {}, () => async (store, member, operator) => {
    const { sessions, provider } = await sessionsOf(store);
    // The member's device cookies end with their sessions (a copy no longer passes for their browser).
    await endDeviceTrust(store.members, member.id);
    await sessions.endAll(provider, member.id, { by: 'operator', operator: operator.by, ...(operator.reason && { reason: operator.reason }) });
  }),
  unlock: supportCommand('support.unlocked', {}, () => async (store, member) => {
    await Promise.all([liftLoginWaits(store.counters, member.number), unlockSmsVerification(store.counters, member.id)]);
  }),
  'reset-sms': supportCommand('support.sms_reenabled', {}, () => async (store, member) => {
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
function supportCommand(type: string, shape: { passkeyId?: boolean; phone?: boolean }, build: (values: Values, env: NodeJS.ProcessEnv) => DeskAct | Promise<DeskAct>): Command {
  return {
    options: {
      ...(shape.passkeyId ? { number: { type: 'string' }, id: { type: 'string' } } : target),
      ...(shape.phone && { phone: { type: 'string' } }),
      by: { type: 'string' },
      reason: { type: 'string' },
    },
    async prepare(values, env) {
      const find = shape.passkeyId ? targetMember({ number: required(values, 'number') }) : targetMember(values);
      const operator = deskOperator(values);
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

function deskOperator(values: Values): DeskOperator {
  const by = required(values, 'by').trim();
  if (!/^[\p{L}\p{N} ._@-]{1,64}$/u.test(by)) throw refused('--by must name the operator in 1 to 64 letters, digits, spaces or ._@-');
  const reason = typeof values.reason === 'string' ? values.reason.trim().replace(/\s+/g, ' ').slice(0, 200) : undefined;
  if (!reason) throw usage('missing --reason');
  return { by, reason };
}

/** The SMS transport SMS_TRANSPORT names, as the IdP builds it; its log lines go to stderr, never among the JSON. */
async function smsSenderFor(env: NodeJS.ProcessEnv): Promise<SmsSender> {
  // Loaded only for the command that sends: the settings' schemas take longer to load than most commands take to run.
  const { loadSms } = await import('../config/sections.ts');
  const problems: string[] = [];
  const settings = loadSms(env, path.resolve(env.DATA_DIR ?? './data'), env.NODE_ENV === 'production', problems);
  if (problems.length) throw refused(`invalid SMS settings: ${problems.join('; ')}`);
  return assembleSmsSender(settings, createLogger('warn', (line) => process.stderr.write(line)), Date.now);
}

/**
 * The member's sessions, and the IdP's OIDC provider on this store as the server builds it (the same
 * configuration from the environment): to read sessions and to send back-channel logouts signed with
 * the IdP's current keys.
 */
async function sessionsOf(store: Store) {
  const { loadConfig } = await import('../config/load.ts');
  const config = loadConfig(process.env);
  const [{ provider }, sessions] = await Promise.all([
    assembleProvider(config, store, { logger: createLogger('silent'), clock: Date.now }),
    assembleMemberSessions(store, Date.now),
  ]);
  return { sessions, provider };
}
