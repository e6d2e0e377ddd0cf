import Router from '@koa/router';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { PasskeyLogin } from '../src/auth/passkey/passkey-login.ts';
import type { PasswordLogin } from '../src/auth/password/password-login.ts';
import type { SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import { createSmsWayIn } from '../src/auth/sms-otp/way-in.ts';
import { PASSKEY_OFFER_PROMPT, SMS_PROMPT } from '../src/oidc/policy.ts';
import type { FreshSms } from '../src/account/fresh-sms.ts';
import type { PasskeyOffer } from '../src/account/passkey-offer.ts';
import type { PasskeySettings } from '../src/account/passkey-settings.ts';
import type { MemberHelp } from '../src/config/member-help.ts';
import type { Csrf } from '../src/http/csrf.ts';
import type { Metrics } from '../src/metrics/port.ts';
import { rememberClient } from '../src/http/return-cookie.ts';
import type { RateLimit } from '../src/http/rate-limit.ts';
import type { Clock, Store } from '../src/store/port.ts';
import { showConsent, submitConsent } from './consent.ts';
import type { DeviceCookie } from './device-cookie.ts';
import { showLoggedIn } from './finished-sign-in.ts';
import { finish, loadInteraction } from './interaction.ts';
import { renderLogin, submitPasswordLogin } from './login.ts';
import { showLoginHelp } from './login-help.ts';
import { passkeyAssertion, passkeyOptions } from './passkey.ts';
import { passkeyOfferRoutes } from './passkey-offer.ts';
import { resendSmsStep, showSmsStep, skipSmsStep, verifySmsStep } from './sms-step.ts';
import { sendSmsWayIn, verifySmsWayIn } from './sms-way-in.ts';

export type InteractionDeps = {
  provider: Provider;
  store: Store;
  passwordLogin: PasswordLogin;
  passkeyLogin: PasskeyLogin;
  smsOtp: SmsOtp;
  csrf: Csrf;
  issuerOrigin: string;
  rpId: string;
  /** Passkey options asked for, per client address. */
  passkeyOptionsLimit: RateLimit;
  device: DeviceCookie;
  clock: Clock;
  metrics: Metrics;
  offer: PasskeyOffer;
  settings: PasskeySettings;
  freshSms: FreshSms;
  /** The log-in page's help: the programme's reset path and the JMB desk. */
  help: MemberHelp;
  production: boolean;
};

/** Every page and endpoint of a sign-in, one route per step, all under the interaction cookie's path. */
export function interactionRouter(deps: InteractionDeps): Router {
  const router = new Router();
  const pages = { ...deps, passkeys: deps.store.passkeys, members: deps.store.members };
  const offer = passkeyOfferRoutes(router, pages);
  const wayIn = { ...pages, wayIn: createSmsWayIn({ members: deps.store.members, counters: deps.store.counters, smsOtp: deps.smsOtp }) };

  router.get('/interaction/:uid', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const details = await loadInteraction(deps.provider, ctx).catch(async (error: unknown) => {
      // Back after a finished log-in: the member is logged in, which the page says rather than "expired".
      if (error instanceof errors.SessionNotFound && (await showLoggedIn(ctx, pages))) return undefined;
      throw error;
    });
    if (!details) return;
    // Should this sign-in expire or end, its pages can still lead back to the relying party.
    rememberClient(ctx, String(details.params.client_id));
    switch (details.prompt.name) {
      case 'login':
        return renderLogin(ctx, pages, details);
      case SMS_PROMPT:
        return showSmsStep(ctx, pages, details);
      case PASSKEY_OFFER_PROMPT:
        return offer.showOffer(ctx, details);
      case 'consent':
        return showConsent(ctx, deps, details);
      default:
        throw new Error(`no page for prompt ${details.prompt.name}`);
    }
  });
  router.post('/interaction/:uid/login', (ctx) => submitPasswordLogin(ctx, pages));
  router.post('/interaction/:uid/passkey/options', (ctx) => passkeyOptions(ctx, pages));
  router.post('/interaction/:uid/passkey', (ctx) => passkeyAssertion(ctx, pages));
  router.post('/interaction/:uid/sms/verify', (ctx) => verifySmsStep(ctx, pages));
  router.post('/interaction/:uid/sms/resend', (ctx) => resendSmsStep(ctx, pages));
  router.post('/interaction/:uid/sms/skip', (ctx) => skipSmsStep(ctx, pages));
  router.post('/interaction/:uid/sms-way-in', (ctx) => sendSmsWayIn(ctx, wayIn));
  router.post('/interaction/:uid/sms-way-in/resend', (ctx) => sendSmsWayIn(ctx, wayIn));
  router.post('/interaction/:uid/sms-way-in/verify', (ctx) => verifySmsWayIn(ctx, wayIn));
  router.post('/interaction/:uid/continue', (ctx) => submitConsent(ctx, deps));
  router.get('/interaction/:uid/abort', async (ctx) => {
    const details = await loadInteraction(deps.provider, ctx);
    await finish(details, ctx, { error: 'access_denied', error_description: 'the member cancelled the log-in' });
  });
  router.get('/help/passkeys', async (ctx) => {
    // "Back" returns to the sign-in or account page the member came from, never to another site.
    const asked = typeof ctx.query.return === 'string' ? ctx.query.return : '';
    const back = /^\/(interaction\/[\w-]+|account(\/passkeys)?)$/.test(asked) ? asked : '/account';
    await ctx.render('help-passkeys', { title: ctx.state.t('help.title'), back });
  });
  router.get('/help/login', (ctx) => showLoginHelp(ctx, deps));

  return router;
}
