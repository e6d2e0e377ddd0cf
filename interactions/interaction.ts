import type { Context } from 'koa';
import Provider, { errors, type Interaction } from 'oidc-provider';
import { localize } from '../src/http/localize.ts';
import type { Locale } from '../src/i18n/messages.ts';
import { displayClientName } from '../src/oidc/client-name.ts';

/**
 * Loads the interaction the browser's cookie points at and checks it is the one in the URL.
 * A stale tab, an expired interaction or a foreign uid all end at the "sign-in has expired" page.
 */
export async function loadInteraction(provider: Provider, ctx: Context): Promise<Interaction> {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== ctx.params.uid) throw new errors.SessionNotFound('interaction does not match the URL');
  localize(ctx, typeof details.params.ui_locales === 'string' ? details.params.ui_locales : undefined, `/interaction/${details.uid}`);
  return details;
}

/** The relying party's display name for "to continue to …", in the page's language where it registered one. */
export async function clientName(provider: Provider, details: Interaction, locale?: Locale): Promise<string> {
  const client = await provider.Client.find(String(details.params.client_id));
  return client ? displayClientName(client, locale) : '';
}

export type InteractionResult = Parameters<Provider['interactionResult']>[2];

/**
 * Stores the step's result on the interaction already loaded for this request (what
 * provider.interactionResult does after loading it a second time) and returns where the browser
 * resumes the authorization. With `merge`, the earlier step's result (the log-in) is kept.
 */
export async function submitResult(details: Interaction, result: InteractionResult, merge = false): Promise<string> {
  details.result = merge && !('error' in result) ? { ...details.lastSubmission, ...result } : result;
  await details.save(details.exp - Math.floor(Date.now() / 1000));
  return details.returnTo;
}

/** Stores the step's result and sends the browser on to resume the authorization. */
export async function finish(details: Interaction, ctx: Context, result: InteractionResult, merge = false): Promise<void> {
  const returnTo = await submitResult(details, result, merge);
  ctx.status = 303;
  ctx.redirect(returnTo);
}
