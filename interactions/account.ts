import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { FreshSms } from '../src/account/fresh-sms.ts';
import { PASSKEY_LIMIT, type PasskeySettings } from '../src/account/passkey-settings.ts';
import { canReceiveSmsCodes } from '../src/auth/sms-otp/eligibility.ts';
import type { SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import { deviceParts } from '../src/auth/user-agent.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { localize } from '../src/http/localize.ts';
import { rememberClient } from '../src/http/return-cookie.ts';
import type { MemberSessions } from '../src/oidc/member-sessions.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import { deviceName } from '../src/i18n/device-name.ts';
import { endDeviceTrust, maskMemberNumber } from '../src/members/members.ts';
import type { Clock, Store } from '../src/store/port.ts';
import { describeActivity } from './activity.ts';
import { wayBack, type AccountGuard } from './account-guard.ts';
import { finishAccountLogin } from './account-session.ts';
import { renderSettings } from './passkey-settings.ts';
import { renderSmsStep, submitSmsStep } from './sms-page.ts';

/** What the account pages are served with: the use cases, the member's sessions and the account guard. */
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
  guard: AccountGuard;
};

// "Manage your account" and "Passkey Settings (Register/Delete)". The pages read the IdP's own
// single sign-on session; a visitor who is not signed in goes through the standard log-in and comes
// back. Every change to passkeys needs an SMS verification at most ten minutes old in this session.

/** GET /: the IdP's own address leads to the member's account. */
export function toAccount(ctx: Context): void {
  ctx.status = 303;
  ctx.redirect('/account');
}

/** GET /account: the member's account, where they are logged in, and their security activity. */
export async function showAccount(ctx: Context, deps: AccountDeps): Promise<void> {
  const { provider, store, csrf, sessions, guard } = deps;
  // A relying party may say who sent the member here (`?client_id=`), for the way back to it.
  if (typeof ctx.query.client_id === 'string') rememberClient(ctx, ctx.query.client_id);
  const current = await guard.signedIn(ctx, '/account');
  if (!current) return;
  const { t } = ctx.state;
  // The passkey offer's figures are the programme's, not the member's security activity.
  const events = (await store.audit.listForMember(current.member.id, 30)).filter((event) => !event.type.startsWith('passkey_offer.')).slice(0, 15);
  const places = await sessions.list(provider, current.member.id);
  await ctx.render('account', {
    title: t('account.title'),
    wide: true,
    // "Stay logged in" on the log-out question leads here (STAYED_ON_ACCOUNT), and the page says so.
    message: (await guard.takeFlash(current)) ?? (ctx.query.stayed === '1' ? t('logout.stayed') : undefined),
    csrf: csrf.token(ctx, guard.csrfScope(current)),
    sessions: places.map((place) => ({
      uid: place.uid,
      current: place.uid === current.sessionUid,
      device: deviceName(t, deviceParts(place.userAgent)) ?? t('sessions.unknownDevice'),
      from: place.ip ?? '—',
      started: guard.time(ctx, place.startedAt),
      lastActive: guard.time(ctx, place.lastActiveAt),
    })).sort((a, b) => Number(b.current) - Number(a.current)),
    name: current.member.name,
    number: maskMemberNumber(current.member.number),
    back: await wayBack(ctx, deps),
    activity: events.map((event) => ({ when: guard.time(ctx, event.at), ...describeActivity(t, event) })),
  });
}

// Where the member is logged in: "Log out" ends one other session, "Log out everywhere else" all
// but this one. Each ends for good (grants revoked, relying parties told by back-channel logout).

/** POST /account/sessions/:uid/logout: ends one other session (this one goes through the IdP's log-out). */
export async function logoutSession(ctx: Context, { provider, sessions, guard }: AccountDeps): Promise<void> {
  assertSameOrigin(ctx, guard.issuerOrigin);
  const current = await guard.signedIn(ctx, '/account');
  if (!current) return;
  await guard.postedForm(ctx, current);
  if (ctx.params.uid === current.sessionUid) return ctx.redirect('/session/end');
  const ended = await sessions.end(provider, current.member.id, ctx.params.uid!, { by: 'member', ...guard.actor(ctx) });
  await guard.flash(current, ctx.state.t(ended ? 'sessions.ended' : 'sessions.gone'));
  ctx.status = 303;
  ctx.redirect('/account');
}

/** POST /account/sessions/logout-others: ends every session but this one, and the device cookies. */
export async function logoutOtherSessions(ctx: Context, { provider, store, sessions, guard }: AccountDeps): Promise<void> {
  assertSameOrigin(ctx, guard.issuerOrigin);
  const current = await guard.signedIn(ctx, '/account');
  if (!current) return;
  await guard.postedForm(ctx, current);
  // Browsers keep their device cookies past a log-out: those end too (this browser's included; it
  // is known again from its next log-in), so a copied cookie no longer passes for the member's own.
  await endDeviceTrust(store.members, current.member.id);
  const count = await sessions.endAll(provider, current.member.id, { by: 'member', ...guard.actor(ctx) }, current.sessionUid);
  await guard.flash(current, ctx.state.t(count === 0 ? 'sessions.endedOthers.none' : count === 1 ? 'sessions.endedOthers.one' : 'sessions.endedOthers.many', { count }));
  ctx.status = 303;
  ctx.redirect('/account');
}

/** GET /account/callback: back from the log-in, to the account page the member wanted. */
export async function accountCallback(ctx: Context): Promise<void> {
  const returnTo = finishAccountLogin(ctx);
  if (!returnTo) {
    return ctx.render('error', { page: 'cancelled', code: 'access_denied', title: ctx.state.t('account.cancelled') });
  }
  ctx.status = 303;
  ctx.redirect(returnTo);
}

/** GET /account/passkeys: Passkey Settings, after the SMS step (which sends its code as it opens). */
export async function showPasskeySettings(ctx: Context, deps: AccountDeps): Promise<void> {
  const { smsOtp, csrf, guard } = deps;
  const current = await guard.signedIn(ctx, '/account/passkeys');
  if (!current) return;
  if (!canReceiveSmsCodes(current.member)) {
    return ctx.render('passkey-settings', { title: ctx.state.t('settings.title'), wide: true, notEligible: true, rows: [], limit: PASSKEY_LIMIT });
  }
  if (!(await guard.freshlyVerified(current))) return renderSmsStep(ctx, { smsOtp, csrf }, guard.smsRequest(ctx, current), guard.smsPage(ctx, current), { send: true });
  await renderSettings(ctx, deps, current, { signal: ctx.query.signal === '1' });
}

/** POST /account/sms/verify: the code that opens Passkey Settings for ten minutes. */
export async function verifyAccountSms(ctx: Context, { smsOtp, freshSms, csrf, guard }: AccountDeps): Promise<void> {
  assertSameOrigin(ctx, guard.issuerOrigin);
  // A page re-rendered here offers its language switch for the page the member was on.
  localize(ctx, undefined, '/account/passkeys');
  const current = await guard.signedIn(ctx, '/account/passkeys');
  if (!current) return;
  const form = await guard.postedForm(ctx, current);
  const request = guard.smsRequest(ctx, current);
  await submitSmsStep(ctx, { smsOtp, csrf }, request, guard.smsPage(ctx, current), () => freshSms.verify({ ...request, code: form.code ?? '' }), '/account/passkeys');
}

/** POST /account/sms/resend: a new code, within the cooldown and budgets. */
export async function resendAccountSms(ctx: Context, { smsOtp, csrf, guard }: AccountDeps): Promise<void> {
  assertSameOrigin(ctx, guard.issuerOrigin);
  localize(ctx, undefined, '/account/passkeys');
  const current = await guard.signedIn(ctx, '/account/passkeys');
  if (!current) return;
  await guard.postedForm(ctx, current);
  const request = guard.smsRequest(ctx, current);
  await submitSmsStep(ctx, { smsOtp, csrf }, request, guard.smsPage(ctx, current), () => smsOtp.issue(request), '/account/passkeys');
}
