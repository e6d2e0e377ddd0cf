import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import { AuthError } from '../src/auth/auth-error.ts';
import { canReceiveSmsCodes } from '../src/auth/sms-otp/eligibility.ts';
import { isOtpError, type OtpRequest, type SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import { readForm } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import { acrRequestOf } from '../src/oidc/acr-request.ts';
import { ACR, assuranceOf, proofsFromAmr } from '../src/oidc/assurance.ts';
import { SMS_PROMPT } from '../src/oidc/policy.ts';
import type { Metrics } from '../src/metrics/port.ts';
import type { Members } from '../src/store/port.ts';
import { clientName, finish, loadInteraction } from './interaction.ts';
import { renderSmsStep, submitSmsStep, type SmsPage } from './sms-page.ts';

export type SmsStepDeps = { provider: Provider; members: Members; smsOtp: SmsOtp; csrf: Csrf; issuerOrigin: string; metrics: Pick<Metrics, 'stepUp'> };

async function stepContext(ctx: Context, deps: SmsStepDeps, details: Interaction) {
  const member = details.session ? await deps.members.findById(details.session.accountId) : undefined;
  if (!member) throw new AuthError('no_code', 'the sign-in has no member');
  const request: OtpRequest = {
    member,
    purpose: 'step-up',
    bindTo: details.uid,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent') || undefined,
    locale: ctx.state.locale,
  };
  const client = await clientName(deps.provider, details, ctx.state.locale);
  const essential = !!acrRequestOf(details.params).essential?.includes(ACR.stepUp);
  const base = `/interaction/${details.uid}`;
  const page: SmsPage = {
    csrfScope: details.uid,
    verifyAction: `${base}/sms/verify`,
    resendAction: `${base}/sms/resend`,
    cancelHref: `${base}/abort`,
    intro: ctx.state.t('sms.stepup.intro', { client }),
    skip: essential
      ? { action: `${base}/sms/skip`, label: ctx.state.t('sms.stepup.unmet', { client }) }
      : { action: `${base}/sms/skip`, label: ctx.state.t('sms.stepup.continue'), note: ctx.state.t('sms.stepup.unavailable', { client }) },
  };
  return { request, page, essential };
}

/** GET /interaction/:uid for the SMS step-up: the code is sent as the step opens. */
export async function showSmsStep(ctx: Context, deps: SmsStepDeps, details: Interaction): Promise<void> {
  const { request, page } = await stepContext(ctx, deps, details);
  await renderSmsStep(ctx, deps, request, page, { send: true });
}

async function postedStep(ctx: Context, deps: SmsStepDeps) {
  assertSameOrigin(ctx, deps.issuerOrigin);
  const details = await loadInteraction(deps.provider, ctx);
  const form = await readForm(ctx);
  deps.csrf.verify(ctx, details.uid, form.csrf);
  return { details, form };
}

/** POST /interaction/:uid/sms/verify: the code; success re-submits the log-in with the stronger acr. */
export async function verifySmsStep(ctx: Context, deps: SmsStepDeps): Promise<void> {
  const { details, form } = await postedStep(ctx, deps);
  if (details.prompt.name !== SMS_PROMPT) return ctx.redirect(`/interaction/${details.uid}`);
  const { request, page } = await stepContext(ctx, deps, details);
  try {
    await deps.smsOtp.verify({ ...request, code: form.code ?? '' });
  } catch (error) {
    if (!isOtpError(error)) throw error;
    deps.metrics.stepUp(error.code);
    return renderSmsStep(ctx, deps, request, page, { error });
  }
  deps.metrics.stepUp('success');
  // The log-in is re-submitted with the merged proofs: finishing with the SMS result alone would
  // re-apply the old log-in and send the member round to this step again.
  const { acr, amr } = assuranceOf([...proofsFromAmr(details.session?.amr), { method: 'sms-otp' }]);
  await finish(details, ctx, {
    login: { accountId: request.member.id, acr, amr, remember: true },
    consent: {},
    [SMS_PROMPT]: { verifiedAt: Math.floor(Date.now() / 1000) },
  });
}

/** POST /interaction/:uid/sms/resend: a new code, within the cooldown and budgets. */
export async function resendSmsStep(ctx: Context, deps: SmsStepDeps): Promise<void> {
  const { details } = await postedStep(ctx, deps);
  if (details.prompt.name !== SMS_PROMPT) return ctx.redirect(`/interaction/${details.uid}`);
  const { request, page } = await stepContext(ctx, deps, details);
  await submitSmsStep(ctx, deps, request, page, () => deps.smsOtp.issue(request), `/interaction/${details.uid}`);
}

/**
 * POST /interaction/:uid/sms/skip, for a member who cannot receive codes: continue with the log-in
 * they have (the token's acr says so), or, when the relying party made the step essential, go back
 * to it with `unmet_authentication_requirements`.
 */
export async function skipSmsStep(ctx: Context, deps: SmsStepDeps): Promise<void> {
  const { details } = await postedStep(ctx, deps);
  if (details.prompt.name !== SMS_PROMPT) return ctx.redirect(`/interaction/${details.uid}`);
  const { request, essential } = await stepContext(ctx, deps, details);
  if (essential) {
    deps.metrics.stepUp('unmet');
    return finish(details, ctx, { error: 'unmet_authentication_requirements', error_description: 'SMS verification is not available to this member' });
  }
  if (canReceiveSmsCodes(request.member)) return ctx.redirect(`/interaction/${details.uid}`);
  deps.metrics.stepUp('skipped');
  await finish(details, ctx, { [SMS_PROMPT]: { skipped: 'not_eligible' } }, true);
}
