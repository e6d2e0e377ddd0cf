import { z } from 'zod';
import { parse } from './parse.ts';

/** Where a member who cannot log in is sent: the programme's reset path and the desk's contact, each only when configured. */
export type MemberHelp = {
  /** The programme's page for a forgotten password or membership number. */
  passwordHelpUrl?: string;
  /** How to reach the JMB desk (a phone number and hours), shown as plain text. */
  supportContact?: string;
};

// A phone number and opening hours, perhaps in two languages; never markup (it is shown escaped).
const contactSchema = z.string().trim().min(1).max(500).refine((text) => !/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text), 'must be plain text (line breaks allowed, no other control characters)');

/** PASSWORD_HELP_URL (an https URL; http is let through outside production) and SUPPORT_CONTACT. */
export function loadMemberHelp(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): MemberHelp {
  const help: MemberHelp = {};
  const url = env.PASSWORD_HELP_URL ? URL.parse(env.PASSWORD_HELP_URL) : undefined;
  if (url === null || (url && !(url.protocol === 'https:' || (!production && url.protocol === 'http:')))) {
    problems.push(`PASSWORD_HELP_URL must be an ${production ? 'https' : 'http(s)'} URL, got "${env.PASSWORD_HELP_URL}"`);
  } else if (url) {
    help.passwordHelpUrl = url.href;
  }
  if (env.SUPPORT_CONTACT) {
    const contact = parse('SUPPORT_CONTACT', env.SUPPORT_CONTACT, contactSchema, problems);
    if (contact) help.supportContact = contact;
  }
  return help;
}
