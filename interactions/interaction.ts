import type { Context } from 'koa';
import Provider, { errors, type Interaction } from 'oidc-provider';
import { localize } from '../src/http/localize.ts';

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

/** The relying party's display name for "to continue to …". */
export async function clientName(provider: Provider, details: Interaction): Promise<string> {
  const client = await provider.Client.find(String(details.params.client_id));
  return String(client?.clientName ?? client?.clientId ?? '');
}

/** Hands the result to oidc-provider and sends the browser on to resume the authorization. */
export async function finish(provider: Provider, ctx: Context, result: Parameters<Provider['interactionResult']>[2], merge = false): Promise<void> {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(returnTo);
}
