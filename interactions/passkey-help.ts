import type { Context } from 'koa';

/** GET /help/passkeys: what a passkey is. "Back" returns to the sign-in or account page the member came from, never to another site. */
export async function showPasskeyHelp(ctx: Context): Promise<void> {
  const asked = typeof ctx.query.return === 'string' ? ctx.query.return : '';
  const back = /^\/(interaction\/[\w-]+|account(\/passkeys)?)$/.test(asked) ? asked : '/account';
  await ctx.render('help-passkeys', { title: ctx.state.t('help.title'), back });
}
