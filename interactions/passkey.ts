import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { isAuthError, LOGIN_ERRORS, type LoginErrorCode } from '../src/auth/auth-error.ts';
import type { PasskeyLogin } from '../src/auth/passkey/passkey-login.ts';
import { readJson } from '../src/http/body.ts';
import { overBudget } from '../src/http/admission.ts';
import { limitKeyOf } from '../src/http/client-address.ts';
import { HttpError } from '../src/http/http-error.ts';
import type { RateLimit } from '../src/http/rate-limit.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import type { MessageKey } from '../src/i18n/messages.ts';
import type { Metrics } from '../src/metrics/port.ts';
import { assuranceOf } from '../src/oidc/assurance.ts';
import type { Passkeys } from '../src/store/port.ts';
import { rememberDevice, type DeviceCookie } from './device-cookie.ts';
import { loadInteraction, submitResult } from './interaction.ts';

export type PasskeyDeps = {
  provider: Provider;
  passkeyLogin: PasskeyLogin;
  passkeys: Passkeys;
  issuerOrigin: string;
  rpId: string;
  passkeyOptionsLimit: RateLimit;
  device: DeviceCookie;
  metrics: Pick<Metrics, 'login'>;
};

const STATUS: Record<LoginErrorCode, number> = {
  invalid_request: 400,
  challenge_expired: 400,
  challenge_mismatch: 400,
  unknown_credential: 401,
  credential_mismatch: 401,
  invalid_assertion: 401,
  user_verification_required: 401,
  origin_mismatch: 401,
  rp_id_mismatch: 401,
  counter_regression: 401,
  member_unavailable: 403,
  invalid_credentials: 401,
  too_many_attempts: 429,
  busy: 503,
};

/**
 * Loads the interaction for a JSON call from the page's script. Cross-site use is stopped by the
 * SameSite interaction cookie and the same-origin check, so no page token is needed and an app's
 * web view or a load driver can call it the way a browser does.
 */
async function loginInteraction(ctx: Context, deps: PasskeyDeps) {
  ctx.state.json = true;
  ctx.set('Cache-Control', 'no-store');
  assertSameOrigin(ctx, deps.issuerOrigin);
  const details = await loadInteraction(deps.provider, ctx);
  if (details.prompt.name !== 'login') throw new HttpError(400, 'invalid_request', 'this sign-in is not waiting for a log-in');
  return details;
}

/**
 * POST /interaction/:uid/passkey/options: request options with a fresh challenge for this sign-in.
 * Each address has a budget of them, and each sign-in holds only its newest few challenges.
 */
export async function passkeyOptions(ctx: Context, deps: PasskeyDeps): Promise<void> {
  const details = await loginInteraction(ctx, deps);
  const refusal = await overBudget(deps.passkeyOptionsLimit, limitKeyOf(ctx.ip), 'passkey requests');
  if (refusal) throw refusal;
  ctx.body = await deps.passkeyLogin.start(details.uid, new Date(details.exp * 1000), ctx.ip);
}

/** POST /interaction/:uid/passkey: verifies the assertion and answers where the browser goes next. */
export async function passkeyAssertion(ctx: Context, deps: PasskeyDeps): Promise<void> {
  const details = await loginInteraction(ctx, deps);
  const response = await readJson(ctx);
  try {
    const { member, passkey, memberPasskeys } = await deps.passkeyLogin.finish({
      boundTo: details.uid,
      response,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || undefined,
      clientId: String(details.params.client_id),
    });
    deps.metrics.login('passkey', 'success');
    const { acr, amr } = assuranceOf([{ method: 'passkey', synced: passkey.synced }]);
    const redirectTo = await submitResult(details, { login: { accountId: member.id, acr, amr, remember: true }, consent: {} });
    rememberDevice(ctx, deps.device, member);
    ctx.body = {
      redirectTo,
      // For the WebAuthn Signal API: the device keeps only passkeys the IdP still accepts, with current names.
      signals: {
        rpId: deps.rpId,
        userId: passkey.userHandle,
        allAcceptedCredentialIds: memberPasskeys.map((p) => p.id),
        name: member.number,
        displayName: member.name,
      },
    };
  } catch (error) {
    if (!isAuthError(error, LOGIN_ERRORS)) throw error;
    deps.metrics.login('passkey', error.code);
    ctx.status = STATUS[error.code];
    ctx.body = { error: error.code, error_description: ctx.state.t(`passkey.error.${error.code}` as MessageKey) };
  }
}
