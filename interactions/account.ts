import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { FreshSms } from '../src/account/fresh-sms.ts';
import { PASSKEY_LIMIT, type PasskeySettings } from '../src/account/passkey-settings.ts';
import { canReceiveSmsCodes } from '../src/auth/sms-otp/eligibility.ts';
import { isOtpError, type SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import { deviceParts } from '../src/auth/user-agent.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { localize } from '../src/http/localize.ts';
import { rememberClient, rememberedClient } from '../src/http/return-cookie.ts';
import { continuationOf } from '../src/oidc/continuation.ts';
import type { MemberSessions } from '../src/oidc/member-sessions.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import { deviceName } from '../src/i18n/device-name.ts';
import { endDeviceTrust, maskMemberNumber } from '../src/members/members.ts';
import type { Clock, Store } from '../src/store/port.ts';
import { describeActivity } from './activity.ts';
import { createAccountGuard } from './account-guard.ts';
import { finishAccountLogin } from './account-session.ts';
import { passkeySettingsRoutes } from './passkey-settings.ts';
import { renderSmsStep } from './sms-page.ts';

export type AccountDeps = {
  provider: Provider;
  store: Store;
  smsOtp: SmsOtp;
  freshSms: FreshSms;
  settings: PasskeySettings;
  csrf: Csrf;
  issuer: string;
  rpId: string;
  clock: Clock;
  sessions: MemberSessions;
};

/**
 * "Manage your account" and "Passkey Settings (Register/Delete)". The pages read the IdP's own
 * single sign-on session; a visitor who is not signed in goes through the standard log-in and comes
 * back. Every change to passkeys needs an SMS verification at most ten minutes old in this session.
 */
export function accountRouter(deps: AccountDeps): Router {
  const { provider, store, smsOtp, freshSms, settings, csrf, issuer, clock, sessions } = deps;
  const router = new Router();

  const guard = createAccountGuard({ provider, store, csrf, issuer, clock, sessions, freshSms });
  const { smsRequest, smsPage, freshlyVerified, time, signedIn, postedForm, issuerOrigin, csrfScope, flash, takeFlash, actor } = guard;
  /** "Back to <website>": the home page of the relying party the member came from, if it registered one. */
  const wayBack = async (ctx: Context) => {
    const wayOn = await continuationOf(provider, issuer, rememberedClient(ctx), ctx.state.locale);
    const href = wayOn?.home ?? wayOn?.startAgain;
    return wayOn && href ? { name: wayOn.name, href } : undefined;
  };
  const { renderSettings } = passkeySettingsRoutes(router, { guard, settings, csrf, rpId: deps.rpId, wayBack });

  // The IdP's own address leads to the member's account.
  router.get('/', (ctx) => {
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.get('/account', async (ctx) => {
    // A relying party may say who sent the member here (`?client_id=`), for the way back to it.
    if (typeof ctx.query.client_id === 'string') rememberClient(ctx, ctx.query.client_id);
    const current = await signedIn(ctx, '/account');
    if (!current) return;
    const { t } = ctx.state;
    // The passkey offer's figures are the programme's, not the member's security activity.
    const events = (await store.audit.listForMember(current.member.id, 30)).filter((event) => !event.type.startsWith('passkey_offer.')).slice(0, 15);
    const places = await sessions.list(provider, current.member.id);
    await ctx.render('account', {
      title: t('account.title'),
      wide: true,
      // "Stay logged in" on the log-out question leads here (STAYED_ON_ACCOUNT), and the page says so.
      message: (await takeFlash(current)) ?? (ctx.query.stayed === '1' ? t('logout.stayed') : undefined),
      csrf: csrf.token(ctx, csrfScope(current)),
      sessions: places.map((place) => ({
        uid: place.uid,
        current: place.uid === current.sessionUid,
        device: deviceName(t, deviceParts(place.userAgent)) ?? t('sessions.unknownDevice'),
        from: place.ip ?? '—',
        started: time(ctx, place.startedAt),
        lastActive: time(ctx, place.lastActiveAt),
      })).sort((a, b) => Number(b.current) - Number(a.current)),
      name: current.member.name,
      number: maskMemberNumber(current.member.number),
      back: await wayBack(ctx),
      activity: events.map((event) => ({ when: time(ctx, event.at), ...describeActivity(t, event) })),
    });
  });

  // Where the member is logged in: "Log out" ends one other session, "Log out everywhere else" all
  // but this one. Each ends for good (grants revoked, relying parties told by back-channel logout).
  router.post('/account/sessions/:uid/logout', async (ctx) => {
    assertSameOrigin(ctx, issuerOrigin);
    const current = await signedIn(ctx, '/account');
    if (!current) return;
    await postedForm(ctx, current);
    if (ctx.params.uid === current.sessionUid) return ctx.redirect('/session/end');
    const ended = await sessions.end(provider, current.member.id, ctx.params.uid!, { by: 'member', ...actor(ctx) });
    await flash(current, ctx.state.t(ended ? 'sessions.ended' : 'sessions.gone'));
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.post('/account/sessions/logout-others', async (ctx) => {
    assertSameOrigin(ctx, issuerOrigin);
    const current = await signedIn(ctx, '/account');
    if (!current) return;
    await postedForm(ctx, current);
    // Browsers keep their device cookies past a log-out: those end too (this browser's included; it
    // is known again from its next log-in), so a copied cookie no longer passes for the member's own.
    await endDeviceTrust(store.members, current.member.id);
    const count = await sessions.endAll(provider, current.member.id, { by: 'member', ...actor(ctx) }, current.sessionUid);
    await flash(current, ctx.state.t(count === 0 ? 'sessions.endedOthers.none' : count === 1 ? 'sessions.endedOthers.one' : 'sessions.endedOthers.many', { count }));
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.get('/account/callback', async (ctx) => {
    const returnTo = finishAccountLogin(ctx);
    if (!returnTo) {
      return ctx.render('error', { page: 'cancelled', code: 'access_denied', title: ctx.state.t('account.cancelled') });
    }
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  router.get('/account/passkeys', async (ctx) => {
    const current = await signedIn(ctx, '/account/passkeys');
    if (!current) return;
    if (!canReceiveSmsCodes(current.member)) {
      return ctx.render('passkey-settings', { title: ctx.state.t('settings.title'), wide: true, notEligible: true, rows: [], limit: PASSKEY_LIMIT });
    }
    if (!(await freshlyVerified(current))) return renderSmsStep(ctx, { smsOtp, csrf }, smsRequest(ctx, current), smsPage(ctx, current), { send: true });
    await renderSettings(ctx, current, { signal: ctx.query.signal === '1' });
  });

  router.post('/account/sms/verify', async (ctx) => {
    assertSameOrigin(ctx, issuerOrigin);
    // A page re-rendered here offers its language switch for the page the member was on.
    localize(ctx, undefined, '/account/passkeys');
    const current = await signedIn(ctx, '/account/passkeys');
    if (!current) return;
    const form = await postedForm(ctx, current);
    try {
      await freshSms.verify({ ...smsRequest(ctx, current), code: form.code ?? '' });
    } catch (error) {
      if (!isOtpError(error)) throw error;
      return renderSmsStep(ctx, { smsOtp, csrf }, smsRequest(ctx, current), smsPage(ctx, current), { error });
    }
    ctx.status = 303;
    ctx.redirect('/account/passkeys');
  });

  router.post('/account/sms/resend', async (ctx) => {
    assertSameOrigin(ctx, issuerOrigin);
    localize(ctx, undefined, '/account/passkeys');
    const current = await signedIn(ctx, '/account/passkeys');
    if (!current) return;
    await postedForm(ctx, current);
    try {
      await smsOtp.issue(smsRequest(ctx, current));
    } catch (error) {
      if (!isOtpError(error)) throw error;
      return renderSmsStep(ctx, { smsOtp, csrf }, smsRequest(ctx, current), smsPage(ctx, current), { error });
    }
    ctx.status = 303;
    ctx.redirect('/account/passkeys');
  });

  // Where password managers send members to create and manage passkeys (W3C passkey endpoints).
  router.get('/.well-known/passkey-endpoints', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = { enroll: `${issuer}/account/passkeys`, manage: `${issuer}/account/passkeys` };
  });

  return router;
}
