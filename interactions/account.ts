import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { SettingsError, PASSKEY_LIMIT, type PasskeySettings } from '../src/account/passkey-settings.ts';
import { RegistrationError } from '../src/auth/passkey/passkey-registration.ts';
import { canReceiveSmsCodes } from '../src/auth/sms-otp/eligibility.ts';
import { OtpError, type OtpRequest, type SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import { describeUserAgent } from '../src/auth/user-agent.ts';
import { readForm, readJson } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { HttpError } from '../src/http/http-error.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import type { MessageKey } from '../src/i18n/messages.ts';
import { maskMemberNumber } from '../src/members/members.ts';
import type { AuditEvent, Clock, Store } from '../src/store/port.ts';
import { finishAccountLogin, loadAccountSession, startAccountLogin, type AccountSession } from './account-session.ts';
import { renderSmsStep, type SmsPage } from './sms-page.ts';

export type AccountDeps = {
  provider: Provider;
  store: Store;
  smsOtp: SmsOtp;
  settings: PasskeySettings;
  csrf: Csrf;
  issuer: string;
  rpId: string;
  clock: Clock;
};

/** How long an SMS verification opens the passkey settings for. */
const SMS_FRESH_MS = 10 * 60 * 1000;
const VERIFIED = 'AccountSmsVerification';
const FLASH = 'AccountFlash';

/**
 * "Manage your account" and "Passkey Settings (Register/Delete)". The pages read the IdP's own
 * single sign-on session; a visitor who is not signed in goes through the standard log-in and comes
 * back. Every change to passkeys needs an SMS verification at most ten minutes old in this session.
 */
export function accountRouter(deps: AccountDeps): Router {
  const { provider, store, smsOtp, settings, csrf, issuer, clock } = deps;
  const router = new Router();
  const issuerOrigin = new URL(issuer).origin;

  const session = (ctx: Context) => loadAccountSession(provider, store.members, ctx);
  const csrfScope = (s: AccountSession) => `account:${s.sessionId}`;
  const actor = (ctx: Context) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, locale: ctx.state.locale });
  const smsRequest = (ctx: Context, s: AccountSession): OtpRequest => ({ member: s.member, purpose: 'account', bindTo: s.sessionId, ...actor(ctx) });
  const smsPage = (s: AccountSession): SmsPage => ({
    csrfScope: csrfScope(s),
    verifyAction: '/account/sms/verify',
    resendAction: '/account/sms/resend',
    cancelHref: '/account',
  });
  const freshlyVerified = async (s: AccountSession) => {
    const verified = await store.documents.find(VERIFIED, s.sessionId);
    return verified?.memberId === s.member.id && Number(verified.verifiedAt) > clock() - SMS_FRESH_MS;
  };
  const flash = (s: AccountSession, message: string) =>
    store.documents.upsert(FLASH, s.sessionId, { message }, new Date(clock() + 60_000));
  const time = (ctx: Context, at: Date | undefined) => at
    ? new Intl.DateTimeFormat(ctx.state.locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(at)
    : undefined;

  /** The signed-in member, or a redirect through the log-in (pages) / a 401 (JSON). */
  async function signedIn(ctx: Context, returnTo: string): Promise<AccountSession | undefined> {
    ctx.set('Cache-Control', 'no-store');
    const current = await session(ctx);
    if (!current) {
      if (ctx.state.json) throw new HttpError(401, 'login_required', 'log in first');
      startAccountLogin(ctx, issuer, returnTo);
    }
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

  async function renderSettings(ctx: Context, current: AccountSession, extra: { error?: string; signal?: boolean } = {}) {
    const { t } = ctx.state;
    const passkeys = await settings.list(current.member);
    const message = (await store.documents.take(FLASH, current.sessionId))?.message;
    await ctx.render('passkey-settings', {
      title: t('settings.title'),
      limit: PASSKEY_LIMIT,
      full: passkeys.length >= PASSKEY_LIMIT,
      message,
      error: extra.error,
      rows: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        created: time(ctx, p.createdAt),
        lastUsed: p.lastUsedAt ? `${time(ctx, p.lastUsedAt)}${p.lastUsedFrom ? ` · ${p.lastUsedFrom}` : ''}` : t('settings.neverUsed'),
        kind: t(p.synced ? 'settings.synced' : 'settings.device'),
      })),
      signal: extra.signal ? { rpId: deps.rpId, userId: Buffer.from(current.member.id).toString('base64url'), ids: passkeys.map((p) => p.id).join(',') } : undefined,
    });
  }

  router.get('/account', async (ctx) => {
    const current = await signedIn(ctx, '/account');
    if (!current) return;
    const { t } = ctx.state;
    const events = await store.audit.listForMember(current.member.id, 15);
    await ctx.render('account', {
      title: t('account.title'),
      name: current.member.name,
      number: maskMemberNumber(current.member.number),
      activity: events.map((event: AuditEvent) => ({
        when: time(ctx, event.at),
        what: `${activityLabel(t, event.type)}${event.outcome === 'failure' ? ` ${t('activity.failed')}` : ''}`,
        device: describeUserAgent(event.userAgent) ?? '—',
      })),
    });
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
      return ctx.render('passkey-settings', { title: ctx.state.t('settings.title'), notEligible: true, rows: [], limit: PASSKEY_LIMIT });
    }
    if (!(await freshlyVerified(current))) return renderSmsStep(ctx, { smsOtp, csrf }, smsRequest(ctx, current), smsPage(current), { send: true });
    await renderSettings(ctx, current, { signal: ctx.query.signal === '1' });
  });

  router.post('/account/sms/verify', async (ctx) => {
    assertSameOrigin(ctx, issuerOrigin);
    const current = await signedIn(ctx, '/account/passkeys');
    if (!current) return;
    const form = await postedForm(ctx, current);
    try {
      await smsOtp.verify({ ...smsRequest(ctx, current), code: form.code ?? '' });
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      return renderSmsStep(ctx, { smsOtp, csrf }, smsRequest(ctx, current), smsPage(current), { error });
    }
    const verifiedAt = clock();
    await store.documents.upsert(VERIFIED, current.sessionId, { memberId: current.member.id, verifiedAt }, new Date(verifiedAt + SMS_FRESH_MS));
    ctx.status = 303;
    ctx.redirect('/account/passkeys');
  });

  router.post('/account/sms/resend', async (ctx) => {
    assertSameOrigin(ctx, issuerOrigin);
    const current = await signedIn(ctx, '/account/passkeys');
    if (!current) return;
    await postedForm(ctx, current);
    try {
      await smsOtp.issue(smsRequest(ctx, current));
    } catch (error) {
      if (!(error instanceof OtpError)) throw error;
      return renderSmsStep(ctx, { smsOtp, csrf }, smsRequest(ctx, current), smsPage(current), { error });
    }
    ctx.status = 303;
    ctx.redirect('/account/passkeys');
  });

  router.post('/account/passkeys/options', async (ctx) => {
    ctx.state.json = true;
    const current = await verifiedChange(ctx);
    if (!current) return;
    try {
      ctx.body = await settings.startRegistration(current.member, current.sessionId);
    } catch (error) {
      return settingsJsonError(ctx, error);
    }
  });

  router.post('/account/passkeys', async (ctx) => {
    ctx.state.json = true;
    const current = await verifiedChange(ctx);
    if (!current) return;
    const response = await readJson(ctx);
    try {
      const passkey = await settings.finishRegistration(current.member, current.sessionId, response, actor(ctx));
      ctx.body = { redirectTo: `/account/passkeys/registered?id=${encodeURIComponent(passkey.id)}` };
    } catch (error) {
      return settingsJsonError(ctx, error);
    }
  });

  router.get('/account/passkeys/registered', async (ctx) => {
    const current = await signedIn(ctx, '/account/passkeys');
    if (!current) return;
    const passkey = await settings.find(current.member, String(ctx.query.id ?? '')).catch(() => undefined);
    if (!passkey) return ctx.redirect('/account/passkeys');
    await ctx.render('passkey-registered', { title: ctx.state.t('registered.title'), name: passkey.name });
  });

  for (const action of ['rename', 'delete'] as const) {
    router.get(`/account/passkeys/:id/${action}`, async (ctx) => {
      const current = await signedIn(ctx, '/account/passkeys');
      if (!current) return;
      if (!(await freshlyVerified(current))) return ctx.redirect('/account/passkeys');
      const passkey = await settings.find(current.member, ctx.params.id!).catch(() => undefined);
      if (!passkey) throw new HttpError(404, 'not_found', 'no such passkey');
      await ctx.render(`passkey-${action}`, { title: ctx.state.t(`${action}.title`), passkey, csrf: csrf.token(ctx, csrfScope(current)) });
    });
  }

  router.post('/account/passkeys/:id/rename', async (ctx) => {
    const current = await verifiedChange(ctx);
    if (!current) return;
    const form = await postedForm(ctx, current);
    try {
      const renamed = await settings.rename(current.member, ctx.params.id!, form.name ?? '', actor(ctx));
      await flash(current, ctx.state.t('settings.renamed', { name: renamed.name }));
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      if (error.code === 'not_found') throw new HttpError(404, 'not_found', 'no such passkey');
      const passkey = await settings.find(current.member, ctx.params.id!);
      ctx.status = 400;
      return ctx.render('passkey-rename', {
        title: ctx.state.t('rename.title'), passkey: { ...passkey, name: form.name ?? '' }, error: ctx.state.t('settings.error.invalid_name'),
        csrf: csrf.token(ctx, csrfScope(current)),
      });
    }
    ctx.status = 303;
    ctx.redirect('/account/passkeys');
  });

  router.post('/account/passkeys/:id/delete', async (ctx) => {
    const current = await verifiedChange(ctx);
    if (!current) return;
    await postedForm(ctx, current);
    try {
      const removed = await settings.remove(current.member, ctx.params.id!, actor(ctx));
      await flash(current, ctx.state.t('settings.deleted', { name: removed.name }));
    } catch (error) {
      if (error instanceof SettingsError && error.code === 'not_found') throw new HttpError(404, 'not_found', 'no such passkey');
      throw error;
    }
    ctx.status = 303;
    // The list page then tells the browser which passkeys remain (WebAuthn Signal API).
    ctx.redirect('/account/passkeys?signal=1');
  });

  // Where password managers send members to create and manage passkeys (W3C passkey endpoints).
  router.get('/.well-known/passkey-endpoints', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = { enroll: `${issuer}/account/passkeys`, manage: `${issuer}/account/passkeys` };
  });

  return router;
}

function settingsJsonError(ctx: Context, error: unknown): void {
  if (error instanceof SettingsError) {
    ctx.status = error.code === 'not_found' ? 404 : error.code === 'already_registered' ? 409 : 400;
    ctx.body = { error: error.code, error_description: ctx.state.t(`settings.error.${error.code}` as MessageKey, { limit: PASSKEY_LIMIT }) };
    return;
  }
  if (error instanceof RegistrationError) {
    ctx.status = 400;
    ctx.body = { error: error.code, error_description: ctx.state.t(`settings.error.${error.code}` as MessageKey) };
    return;
  }
  throw error;
}

const ACTIVITY = new Set(['login.password', 'login.passkey', 'sms.sent', 'sms.verify', 'sms.locked', 'sms.notice', 'passkey.added', 'passkey.renamed', 'passkey.removed', 'passkey.possible_clone']);

function activityLabel(t: (key: MessageKey) => string, type: string): string {
  return t(ACTIVITY.has(type) ? `activity.${type}` as MessageKey : 'activity.other');
}
