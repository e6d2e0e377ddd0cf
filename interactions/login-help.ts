import type { Context } from 'koa';
import type { MemberHelp } from '../src/config/member-help.ts';
import { localPath } from '../src/http/local-path.ts';

export type LoginHelpDeps = { help: MemberHelp; production: boolean };

/**
 * GET /help/login: "Forgot your password or membership number?". Sends the member to the programme's
 * reset path and names the JMB desk; in development it says which setting is missing instead. "Back"
 * returns to the page the member came from (`return`), only ever a path on the IdP's own origin.
 */
export async function showLoginHelp(ctx: Context, { help, production }: LoginHelpDeps): Promise<void> {
  await ctx.render('help-login', {
    title: ctx.state.t('loginHelp.title'),
    resetUrl: help.passwordHelpUrl,
    contact: help.supportContact,
    development: !production,
    back: localPath(ctx.query.return) ?? '/account',
  });
}
