import Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { FreshSms } from '../src/account/fresh-sms.ts';
import type { PasskeyOffer } from '../src/account/passkey-offer.ts';
import type { PasskeySettings } from '../src/account/passkey-settings.ts';
import type { PasskeyLogin } from '../src/auth/passkey/passkey-login.ts';
import type { PasswordLogin } from '../src/auth/password/password-login.ts';
import type { SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import type { SmsWayIn } from '../src/auth/sms-otp/way-in.ts';
import type { MemberHelp } from '../src/config/member-help.ts';
import { redirectFavicon, serveAsset, type Assets } from '../src/http/assets.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { answerHealthz, answerReadyz, type Readiness } from '../src/http/health.ts';
import type { RateLimit } from '../src/http/rate-limit.ts';
import type { WellKnownDocuments } from '../src/http/well-known.ts';
import type { Metrics } from '../src/metrics/port.ts';
import type { MemberSessions } from '../src/oidc/member-sessions.ts';
import type { Clock, Store } from '../src/store/port.ts';
import {
  accountCallback, logoutOtherSessions, logoutSession, resendAccountSms, showAccount, showPasskeySettings, toAccount, verifyAccountSms,
} from './account.ts';
import { createAccountGuard } from './account-guard.ts';
import { submitConsent } from './consent.ts';
import type { DeviceCookie } from './device-cookie.ts';
import { submitPasswordLogin } from './login.ts';
import { showLoginHelp } from './login-help.ts';
import { passkeyAssertion, passkeyOptions } from './passkey.ts';
import { showPasskeyHelp } from './passkey-help.ts';
import { acceptOffer, continueAfterOffer, dismissOffer, skipOffer } from './passkey-offer.ts';
import {
  finishOfferRegistration, offerRegistrationOptions, renameOfferPasskey, resendOfferSms, showOfferDone, showOfferRegister, showOfferSms, verifyOfferSms,
} from './passkey-offer-register.ts';
import {
  deletePasskey, finishRegistration, renamePasskey, showPasskeyChange, showRegistered, startRegistration,
} from './passkey-settings.ts';
import { abortSignIn, showSignInStep } from './sign-in-step.ts';
import { resendSmsStep, skipSmsStep, verifySmsStep } from './sms-step.ts';
import { sendSmsWayIn, verifySmsWayIn } from './sms-way-in.ts';

/** Everything the IdP's own routes are served with, built once in src/app.ts. */
export type RouteDeps = {
  provider: Provider;
  store: Store;
  passwordLogin: PasswordLogin;
  passkeyLogin: PasskeyLogin;
  smsOtp: SmsOtp;
  /** "Verify with SMS to log in now", for a browser facing a wait on a member number. */
  wayIn: SmsWayIn;
  csrf: Csrf;
  issuer: string;
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
  /** Where each member is logged in. */
  sessions: MemberSessions;
  /** The log-in page's help: the programme's reset path and the JMB desk. */
  help: MemberHelp;
  production: boolean;
  assets: Assets;
  wellKnown: WellKnownDocuments;
  readiness: Readiness;
};

/**
 * Every URL the IdP serves itself, with its handler, in one table. Every other path is
 * oidc-provider's, answered by the provider straight from the server (src/http/dispatch.ts), at the
 * paths of its defaults (oidc-provider's lib/helpers/defaults.js `routes`, registered in
 * lib/helpers/initialize_app.js) for the features src/oidc/provider.ts enables:
 *
 *   GET  /.well-known/openid-configuration   discovery (also at /.well-known/oauth-authorization-server)
 *   GET  /jwks                               the public signing keys
 *   GET  /auth                               authorization (a form POST is sent on as this GET:
 *                                            src/oidc/authorization-post.ts)
 *   GET  /auth/:uid                          the authorization resumed after a sign-in
 *   POST /request                            pushed authorization requests (RFC 9126)
 *   POST /token                              tokens, DPoP-bound where asked (RFC 9449)
 *   GET  /me, POST /me                       userinfo
 *   POST /token/revocation                   revocation (RFC 7009)
 *   GET  /session/end                        RP-initiated log-out, its question answered at
 *   POST /session/end/confirm                and the page after it at
 *   GET  /session/end/success
 *
 * No two routes here serve the same path; a path that matches but not its method gets 405.
 */
export function idpRoutes(deps: RouteDeps): Router {
  const signIn = { ...deps, members: deps.store.members, passkeys: deps.store.passkeys };
  const account = { ...signIn, guard: createAccountGuard(signIn) };
  const { wellKnown } = deps;
  const router = new Router();

  // The sign-in, one route per step, all under the interaction cookie's path (interactions/*.ts).
  router.get('/interaction/:uid', (ctx) => showSignInStep(ctx, signIn));
  router.post('/interaction/:uid/login', (ctx) => submitPasswordLogin(ctx, signIn));
  router.post('/interaction/:uid/passkey/options', (ctx) => passkeyOptions(ctx, signIn));
  router.post('/interaction/:uid/passkey', (ctx) => passkeyAssertion(ctx, signIn));
  router.post('/interaction/:uid/sms/verify', (ctx) => verifySmsStep(ctx, signIn));
  router.post('/interaction/:uid/sms/resend', (ctx) => resendSmsStep(ctx, signIn));
  router.post('/interaction/:uid/sms/skip', (ctx) => skipSmsStep(ctx, signIn));
  router.post('/interaction/:uid/sms-way-in', (ctx) => sendSmsWayIn(ctx, signIn));
  router.post('/interaction/:uid/sms-way-in/resend', (ctx) => sendSmsWayIn(ctx, signIn));
  router.post('/interaction/:uid/sms-way-in/verify', (ctx) => verifySmsWayIn(ctx, signIn));
  router.post('/interaction/:uid/continue', (ctx) => submitConsent(ctx, signIn));
  router.get('/interaction/:uid/abort', (ctx) => abortSignIn(ctx, signIn));

  // The passkey offered after a password log-in (passkey-offer.ts, passkey-offer-register.ts).
  router.post('/interaction/:uid/offer/accept', (ctx) => acceptOffer(ctx, signIn));
  router.post('/interaction/:uid/offer/dismiss', (ctx) => dismissOffer(ctx, signIn));
  router.post('/interaction/:uid/offer/skip', (ctx) => skipOffer(ctx, signIn));
  router.get('/interaction/:uid/offer/sms', (ctx) => showOfferSms(ctx, signIn));
  router.post('/interaction/:uid/offer/sms/verify', (ctx) => verifyOfferSms(ctx, signIn));
  router.post('/interaction/:uid/offer/sms/resend', (ctx) => resendOfferSms(ctx, signIn));
  router.get('/interaction/:uid/offer/register', (ctx) => showOfferRegister(ctx, signIn));
  router.post('/interaction/:uid/offer/options', (ctx) => offerRegistrationOptions(ctx, signIn));
  router.post('/interaction/:uid/offer/register', (ctx) => finishOfferRegistration(ctx, signIn));
  router.get('/interaction/:uid/offer/done', (ctx) => showOfferDone(ctx, signIn));
  router.post('/interaction/:uid/offer/rename', (ctx) => renameOfferPasskey(ctx, signIn));
  router.post('/interaction/:uid/offer/continue', (ctx) => continueAfterOffer(ctx, signIn));

  // Help pages.
  router.get('/help/passkeys', (ctx) => showPasskeyHelp(ctx));
  router.get('/help/login', (ctx) => showLoginHelp(ctx, signIn));

  // The account pages (account.ts), which read the IdP's own session.
  router.get('/', (ctx) => toAccount(ctx));
  router.get('/account', (ctx) => showAccount(ctx, account));
  router.post('/account/sessions/:uid/logout', (ctx) => logoutSession(ctx, account));
  router.post('/account/sessions/logout-others', (ctx) => logoutOtherSessions(ctx, account));
  router.get('/account/callback', (ctx) => accountCallback(ctx));
  router.get('/account/passkeys', (ctx) => showPasskeySettings(ctx, account));
  router.post('/account/sms/verify', (ctx) => verifyAccountSms(ctx, account));
  router.post('/account/sms/resend', (ctx) => resendAccountSms(ctx, account));

  // Passkey Settings (Register/Delete) (passkey-settings.ts).
  router.post('/account/passkeys/options', (ctx) => startRegistration(ctx, account));
  router.post('/account/passkeys', (ctx) => finishRegistration(ctx, account));
  router.get('/account/passkeys/registered', (ctx) => showRegistered(ctx, account));
  router.get('/account/passkeys/:id/rename', (ctx) => showPasskeyChange(ctx, account, 'rename'));
  router.get('/account/passkeys/:id/delete', (ctx) => showPasskeyChange(ctx, account, 'delete'));
  router.post('/account/passkeys/:id/rename', (ctx) => renamePasskey(ctx, account));
  router.post('/account/passkeys/:id/delete', (ctx) => deletePasskey(ctx, account));

  // Page assets (src/http/assets.ts).
  router.get('/favicon.ico', (ctx) => redirectFavicon(ctx));
  router.get('/assets/:name', (ctx) => serveAsset(ctx, deps.assets));

  // Well-known documents (src/http/well-known.ts), the app association files only where configured.
  router.get('/.well-known/passkey-endpoints', wellKnown.passkeyEndpoints);
  if (wellKnown.assetLinks) router.get('/.well-known/assetlinks.json', wellKnown.assetLinks);
  if (wellKnown.appleAppSiteAssociation) router.get('/.well-known/apple-app-site-association', wellKnown.appleAppSiteAssociation);
  if (wellKnown.webauthn) router.get('/.well-known/webauthn', wellKnown.webauthn);

  // Health checks (src/http/health.ts).
  router.get('/healthz', (ctx) => answerHealthz(ctx));
  router.get('/readyz', (ctx) => answerReadyz(ctx, deps));

  return router;
}
