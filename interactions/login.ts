import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import { AuthError } from '../src/auth/auth-error.ts';
import type { PasswordLogin } from '../src/auth/password/password-login.ts';
import { readForm } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { isInAppBrowser } from '../src/http/in-app-browser.ts';
import { HttpError } from '../src/http/http-error.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import type { MessageKey } from '../src/i18n/messages.ts';
import type { Metrics } from '../src/metrics/port.ts';
import { ACR, assuranceOf } from '../src/oidc/assurance.ts';
import { acrRequestOf } from '../src/oidc/acr-request.ts';
import type { Clock, Passkeys } from '../src/store/port.ts';
import { deviceCookieOf, rememberDevice, type DeviceCookie } from './device-cookie.ts';
import { clientName, finish, loadInteraction } from './interaction.ts';
import { countdownClock, loginWait, secondsUntil, type LoginWait } from './login-wait.ts';
import { smsWayInOffer } from './sms-way-in-offer.ts';

export type LoginDeps = {
  provider: Provider;
  passwordLogin: PasswordLogin;
  passkeys: Passkeys;
  csrf: Csrf;
  issuerOrigin: string;
  rpId: string;
  device: DeviceCookie;
  clock: Clock;
  metrics: Pick<Metrics, 'login' | 'rateLimited' | 'shed'>;
};

/** What the relying party asked of the log-in: nothing special, a passkey if possible, or only a passkey. */
function passkeyDemand(details: Interaction): 'none' | 'requested' | 'required' {
  const { requested, essential } = acrRequestOf(details.params);
  // Only a passkey gives phr, and an SMS step-up builds on either first factor.
  const passwordWillDo = [ACR.password, ACR.stepUp].some((acr) => essential?.includes(acr));
  if (essential && !passwordWillDo) return essential.includes(ACR.phishingResistant) ? 'required' : 'none';
  return requested.includes(ACR.phishingResistant) ? 'requested' : 'none';
}

/**
 * Where a member in an in-app browser should start again in Safari or Chrome: the relying party's own
 * site. This sign-in cannot move to another browser, because it is tied to this browser's cookies.
 */
function siteToReopen(details: Interaction, issuerOrigin: string): string {
  const redirect = URL.parse(String(details.params.redirect_uri ?? ''));
  return redirect && (redirect.protocol === 'https:' || redirect.protocol === 'http:') ? `${redirect.origin}/` : `${issuerOrigin}/account`;
}

/** "Many members are logging in right now": nothing was checked, so the member may simply try again in a moment. */
function busyRefusal(retryAfter: number, signIn: string): HttpError {
  return new HttpError(503, 'temporarily_unavailable', 'too many log-ins are being checked', { retryAfter, page: 'busy', retryHref: signIn });
}

/** What the log-in page says back after a submit: the error, a second line (tries left, or the wait), a notice. */
export type LoginForm = { number?: string; error?: string; detail?: string; notice?: string; wait?: LoginWait };

/**
 * Renders the log-in page, keeping what the member typed (never the password). A page that explains a
 * wait offers the ways round it: the passkey button and "Verify with SMS to log in now" for the
 * number typed, whatever the number.
 */
export async function renderLogin(ctx: Context, deps: LoginDeps, details: Interaction, form: LoginForm = {}): Promise<void> {
  const { t } = ctx.state;
  const hint = details.params.login_hint;
  const demand = passkeyDemand(details);
  const { wait } = form;
  await ctx.render('login', {
    title: t('login.title'),
    uid: details.uid,
    client: await clientName(deps.provider, details, ctx.state.locale),
    number: form.number ?? (typeof hint === 'string' && /^\d{7,10}$/.test(hint) ? hint : ''),
    error: form.error,
    detail: form.detail,
    notice: form.notice,
    wait: wait && { seconds: wait.seconds, countdown: t('login.wait.countdown', { time: countdownClock(wait.seconds) }) },
    smsWayIn: wait && form.number && demand !== 'required' ? smsWayInOffer(ctx, deps.csrf, details.uid, form.number) : undefined,
    csrf: deps.csrf.token(ctx, details.uid),
    rpId: deps.rpId,
    inApp: isInAppBrowser(ctx.get('user-agent')),
    siteUrl: siteToReopen(details, deps.issuerOrigin),
    demand,
  });
}

/** "You have 2 more tries before you have to wait.", when the count is known. */
function triesLeft(ctx: Context, count: number | undefined): string | undefined {
  if (count === undefined || count < 1) return undefined;
  return ctx.state.t(count === 1 ? 'login.triesLeft.one' : 'login.triesLeft.other', { count });
}

/** POST /interaction/:uid/login: member number and password. */
export async function submitPasswordLogin(ctx: Context, deps: LoginDeps): Promise<void> {
  assertSameOrigin(ctx, deps.issuerOrigin);
  // At a peak, refused before anything else is read or looked up: the refusal must be quick and
  // cheap, and pressing "Try again" returns to the same sign-in.
  const busy = deps.passwordLogin.busyFor(ctx.ip);
  if (busy !== undefined) {
    deps.metrics.login('password', 'busy');
    deps.metrics.shed('password_hashing');
    throw busyRefusal(busy, `/interaction/${encodeURIComponent(ctx.params.uid ?? '')}`);
  }
  const details = await loadInteraction(deps.provider, ctx);
  const form = await readForm(ctx);
  deps.csrf.verify(ctx, details.uid, form.csrf);
  if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);
  // One sign-in takes one password log-in: a repeat (a second press, a resent form) goes on to the
  // step the first one led to, without another password check.
  if (details.result?.login) {
    ctx.status = 303;
    return ctx.redirect(details.returnTo);
  }

  const number = (form.number ?? '').trim().slice(0, 32);
  const password = form.password ?? '';
  const fail = async (status: number, key: MessageKey, more: Omit<LoginForm, 'number' | 'error'> = {}) => {
    ctx.status = status;
    await renderLogin(ctx, deps, details, { number, error: ctx.state.t(key), ...more });
  };
  if (!number || !password) return fail(400, 'login.missing');

  let member;
  try {
    member = await deps.passwordLogin.logIn({
      number,
      password,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
      clientId: String(details.params.client_id),
      device: deviceCookieOf(ctx),
    });
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    deps.metrics.login('password', error.code);
    if (error.code === 'too_many_attempts') deps.metrics.rateLimited('password_failures');
    const now = deps.clock();
    if (error.code === 'busy') throw busyRefusal(secondsUntil(error.retryAt ?? new Date(now), now), `/interaction/${details.uid}`);
    if (error.code === 'too_many_attempts' && error.retryAt) {
      const wait = loginWait(ctx, error.retryAt, now);
      ctx.set('Retry-After', String(wait.seconds));
      ctx.status = 429;
      return renderLogin(ctx, deps, details, { number, error: wait.text, wait });
    }
    // A wrong password says what comes next: the tries left before a wait, or the wait it started.
    if (error.retryAt) {
      const wait = loginWait(ctx, error.retryAt, now);
      return fail(401, 'login.invalid', { detail: wait.text, wait });
    }
    return fail(401, 'login.invalid', { detail: triesLeft(ctx, error.triesLeft) });
  }
  deps.metrics.login('password', 'success');
  rememberDevice(ctx, deps.device, member);

  if (passkeyDemand(details) === 'required') {
    // A password can never give what was demanded: point a member with a passkey to it, and tell the
    // relying party when the member has none (OIDC Core 3.1.2.6).
    if ((await deps.passkeys.listForMember(member.id)).length) return fail(400, 'login.passkey.use');
    return finish(details, ctx, { error: 'unmet_authentication_requirements', error_description: 'the member has no passkey' });
  }
  const { acr, amr } = assuranceOf([{ method: 'password' }]);
  // The member just proved who they are here, which also satisfies the native-app confirmation.
  await finish(details, ctx, { login: { accountId: member.id, acr, amr, remember: true }, consent: {} });
}
