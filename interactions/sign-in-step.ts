import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import { rememberClient } from '../src/http/return-cookie.ts';
import { PASSKEY_OFFER_PROMPT, SMS_PROMPT } from '../src/oidc/policy.ts';
import { showConsent, type ConsentDeps } from './consent.ts';
import { showLoggedIn } from './finished-sign-in.ts';
import { finish, loadInteraction } from './interaction.ts';
import { renderLogin, type LoginDeps } from './login.ts';
import { showOffer, type PasskeyOfferDeps } from './passkey-offer.ts';
import { showSmsStep, type SmsStepDeps } from './sms-step.ts';

/** What the page of any sign-in step may need. */
export type SignInStepDeps = LoginDeps & SmsStepDeps & PasskeyOfferDeps & ConsentDeps;

/** GET /interaction/:uid: the page of the step the sign-in is at (oidc-provider's prompt). */
export async function showSignInStep(ctx: Context, deps: SignInStepDeps): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  const details = await loadInteraction(deps.provider, ctx).catch(async (error: unknown) => {
    // Back after a finished log-in: the member is logged in, which the page says rather than "expired".
    if (error instanceof errors.SessionNotFound && (await showLoggedIn(ctx, deps))) return undefined;
    throw error;
  });
  if (!details) return;
  // Should this sign-in expire or end, its pages can still lead back to the relying party.
  rememberClient(ctx, String(details.params.client_id));
  switch (details.prompt.name) {
    case 'login':
      return renderLogin(ctx, deps, details);
    case SMS_PROMPT:
      return showSmsStep(ctx, deps, details);
    case PASSKEY_OFFER_PROMPT:
      return showOffer(ctx, deps, details);
    case 'consent':
      return showConsent(ctx, deps, details);
    default:
      throw new Error(`no page for prompt ${details.prompt.name}`);
  }
}

/** GET /interaction/:uid/abort: the member cancelled; the relying party hears `access_denied`. */
export async function abortSignIn(ctx: Context, deps: Pick<SignInStepDeps, 'provider'>): Promise<void> {
  const details = await loadInteraction(deps.provider, ctx);
  await finish(details, ctx, { error: 'access_denied', error_description: 'the member cancelled the log-in' });
}
