import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { ChangeScope, FreshSms } from '../src/account/fresh-sms.ts';
import type { OtpRequest } from '../src/auth/sms-otp/sms-otp.ts';
import { readForm } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { HttpError } from '../src/http/http-error.ts';
import { japanDateTime } from '../src/i18n/japan-time.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import { rememberedClient } from '../src/http/return-cookie.ts';
import { continuationOf } from '../src/oidc/continuation.ts';
import type { MemberSessions } from '../src/oidc/member-sessions.ts';
import type { Clock, Store } from '../src/store/port.ts';
import { loadAccountSession, startAccountLogin, type AccountSession } from './account-session.ts';
import type { SmsPage } from './sms-page.ts';

const FLASH = 'AccountFlash';

export type AccountGuardDeps = { provider: Provider; store: Store; csrf: Csrf; issuer: string; clock: Clock; sessions: MemberSessions; freshSms: FreshSms };

/**
 * What every account page checks: who is signed in (else through the log-in and back), the form's
 * CSRF token, and for changes the same origin and, to choose the page, whether the SMS verification
 * the passkey settings require (src/account/fresh-sms.ts) holds in this session. Also the one-shot
 * message a page shows after a change.
 */
export function createAccountGuard({ provider, store, csrf, issuer, clock, sessions, freshSms }: AccountGuardDeps) {
  const issuerOrigin = new URL(issuer).origin;
  const session = (ctx: Context) => loadAccountSession(provider, store.members, ctx);
  const csrfScope = (s: AccountSession) => `account:${s.sessionId}`;
  const actor = (ctx: Context) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, locale: ctx.state.locale });
  const smsRequest = (ctx: Context, s: AccountSession): OtpRequest & { purpose: 'account' } => ({ member: s.member, purpose: 'account', bindTo: s.sessionId, ...actor(ctx) });
  /** Changes made on the account page are made in the member's IdP session. */
  const changeScope = (s: AccountSession): ChangeScope => ({ purpose: 'account', bindTo: s.sessionId });
  const smsPage = (ctx: Context, s: AccountSession): SmsPage => ({
    csrfScope: csrfScope(s),
    verifyAction: '/account/sms/verify',
    resendAction: '/account/sms/resend',
    cancelHref: '/account',
    intro: ctx.state.t('account.sms.intro'),
  });
  const freshlyVerified = (s: AccountSession) => freshSms.holds(s.member, changeScope(s));
  const flash = (s: AccountSession, message: string) =>
    store.documents.upsert(FLASH, s.sessionId, { message }, new Date(clock() + 60_000));
  // Every time is Japan's, and says so.
  const time = (ctx: Context, at: Date | undefined) => at
    ? `${japanDateTime(ctx.state.locale, at)} JST`
    : undefined;

  /** The signed-in member, or a redirect through the log-in (pages) / a 401 (JSON). */
  async function signedIn(ctx: Context, returnTo: string): Promise<AccountSession | undefined> {
    ctx.set('Cache-Control', 'no-store');
    const current = await session(ctx);
    if (!current) {
      if (ctx.state.json) throw new HttpError(401, 'login_required', 'log in first');
      startAccountLogin(ctx, issuer, returnTo);
      return undefined;
    }
    // Using the account pages is using the session: its "Last active" moves on (written at most
    // once a minute). Only a note: a store that cannot write now does not keep the page from showing.
    await sessions.touch(current.member.id, current.sessionUid, current.expiresAt, { userAgent: ctx.get('user-agent') || undefined, ip: ctx.ip })
      .catch(() => undefined);
    return current;
  }

  /** For changes: signed in, same origin, and a fresh SMS verification (else back to the settings page). */
  async function verifiedChange(ctx: Context): Promise<AccountSession | undefined> {
    assertSameOrigin(ctx, issuerOrigin);
    const current = await signedIn(ctx, '/account/passkeys');
    if (!current) return undefined;
    if (!(await freshlyVerified(current))) {
      if (ctx.state.json) throw new HttpError(403, 'sms_required', ctx.state.t('settings.error.sms_required'));
      ctx.status = 303;
      ctx.redirect('/account/passkeys');
      return undefined;
    }
    return current;
  }

  async function postedForm(ctx: Context, current: AccountSession): Promise<Record<string, string>> {
    const form = await readForm(ctx);
    csrf.verify(ctx, csrfScope(current), form.csrf);
    return form;
  }

  const takeFlash = async (s: AccountSession) => (await store.documents.take(FLASH, s.sessionId))?.message as string | undefined;

  return { issuerOrigin, csrfScope, actor, smsRequest, smsPage, changeScope, freshlyVerified, flash, takeFlash, time, signedIn, verifiedChange, postedForm };
}

export type AccountGuard = ReturnType<typeof createAccountGuard>;

/** "Back to <website>": the home page of the relying party the member came from, if it registered one. */
export async function wayBack(ctx: Context, { provider, issuer }: { provider: Provider; issuer: string }): Promise<{ name: string; href: string } | undefined> {
  const wayOn = await continuationOf(provider, issuer, rememberedClient(ctx), ctx.state.locale);
  const href = wayOn?.home ?? wayOn?.startAgain;
  return wayOn && href ? { name: wayOn.name, href } : undefined;
}
