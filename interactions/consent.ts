import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import { readForm } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import type { Store } from '../src/store/port.ts';
import { clientName, finish, loadInteraction } from './interaction.ts';

export type ConsentDeps = { provider: Provider; store: Store; csrf: Csrf; issuerOrigin: string };

/**
 * The consent prompt. First-party clients need no consent, so it completes at once, except for a
 * native app reusing an existing session: that member confirms which app they continue to.
 */
export async function showConsent(ctx: Context, deps: ConsentDeps, details: Interaction): Promise<void> {
  if (!details.prompt.reasons.includes('native_client_prompt')) return grantConsent(ctx, deps, details);
  const member = details.session ? await deps.store.members.findById(details.session.accountId) : undefined;
  await ctx.render('continue', {
    title: ctx.state.t('continue.title'),
    uid: details.uid,
    client: await clientName(deps.provider, details, ctx.state.locale),
    name: member?.name ?? '',
    csrf: deps.csrf.token(ctx, details.uid),
  });
}

/** POST /interaction/:uid/continue: the member confirmed the native app. */
export async function submitConsent(ctx: Context, deps: ConsentDeps): Promise<void> {
  assertSameOrigin(ctx, deps.issuerOrigin);
  const details = await loadInteraction(deps.provider, ctx);
  const form = await readForm(ctx);
  deps.csrf.verify(ctx, details.uid, form.csrf);
  if (details.prompt.name !== 'consent') return ctx.redirect(`/interaction/${details.uid}`);
  await grantConsent(ctx, deps, details);
}

async function grantConsent(ctx: Context, deps: ConsentDeps, details: Interaction): Promise<void> {
  const { provider } = deps;
  const accountId = details.session!.accountId;
  const clientId = String(details.params.client_id);
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const scope = String(details.params.scope ?? 'openid');
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  await finish(details, ctx, { consent: { grantId } }, true);
}
