import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import { AuthError } from '../src/auth/auth-error.ts';
import type { PasswordLogin } from '../src/auth/password/password-login.ts';
import { readForm } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import type { MessageKey } from '../src/i18n/messages.ts';
import { assuranceOf } from '../src/oidc/assurance.ts';
import { clientName, finish, loadInteraction } from './interaction.ts';

export type LoginDeps = { provider: Provider; passwordLogin: PasswordLogin; csrf: Csrf; issuerOrigin: string };

/** Renders the log-in page, keeping what the member typed (never the password). */
export async function renderLogin(ctx: Context, deps: LoginDeps, details: Interaction, form: { number?: string; error?: string } = {}): Promise<void> {
  const { t } = ctx.state;
  await ctx.render('login', {
    title: t('login.title'),
    uid: details.uid,
    client: await clientName(deps.provider, details),
    number: form.number ?? (typeof details.params.login_hint === 'string' && /^\d{7,10}$/.test(details.params.login_hint) ? details.params.login_hint : ''),
    error: form.error,
    csrf: deps.csrf.token(ctx, details.uid),
  });
}

/** POST /interaction/:uid/login: member number and password. */
export async function submitPasswordLogin(ctx: Context, deps: LoginDeps): Promise<void> {
  assertSameOrigin(ctx, deps.issuerOrigin);
  const details = await loadInteraction(deps.provider, ctx);
  const form = await readForm(ctx);
  deps.csrf.verify(ctx, details.uid, form.csrf);
  if (details.prompt.name !== 'login') return ctx.redirect(`/interaction/${details.uid}`);

  const number = (form.number ?? '').trim().slice(0, 32);
  const password = form.password ?? '';
  const fail = async (status: number, key: MessageKey, params?: Record<string, string>) => {
    ctx.status = status;
    await renderLogin(ctx, deps, details, { number, error: ctx.state.t(key, params) });
  };
  if (!number || !password) return fail(400, 'login.missing');

  try {
    const member = await deps.passwordLogin.logIn({
      number,
      password,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
      clientId: String(details.params.client_id),
    });
    const { acr, amr } = assuranceOf([{ method: 'password' }]);
    // The member just proved who they are here, which also satisfies the native-app confirmation.
    await finish(deps.provider, ctx, { login: { accountId: member.id, acr, amr, remember: true }, consent: {} });
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    if (error.code === 'too_many_attempts' && error.retryAt) {
      const time = new Intl.DateTimeFormat(ctx.state.locale, { timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(error.retryAt);
      ctx.set('Retry-After', String(Math.max(1, Math.ceil((error.retryAt.getTime() - Date.now()) / 1000))));
      return fail(429, 'login.limited', { time: `${time} (JST)` });
    }
    return fail(401, 'login.invalid');
  }
}
