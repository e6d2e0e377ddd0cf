import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { rememberedClient } from '../src/http/return-cookie.ts';
import { continuationOf } from '../src/oidc/continuation.ts';
import type { Members } from '../src/store/port.ts';
import { loadAccountSession } from './account-session.ts';

/**
 * The page of a sign-in that is gone (Back after the log-in finished, an old tab), in a browser that is
 * logged in: it says so and leads on, to the relying party the member came from and to the account
 * page. False when nobody is logged in here: then the sign-in has simply expired.
 */
export async function showLoggedIn(ctx: Context, { provider, members }: { provider: Provider; members: Members }): Promise<boolean> {
  const current = await loadAccountSession(provider, members, ctx);
  if (!current) return false;
  const wayOn = await continuationOf(provider, provider.issuer, rememberedClient(ctx), ctx.state.locale);
  const href = wayOn?.home ?? wayOn?.startAgain;
  const { t } = ctx.state;
  await ctx.render('signed-in', {
    title: t('signedIn.title'),
    name: current.member.name,
    back: wayOn && href ? { name: wayOn.name, href } : undefined,
  });
  return true;
}
