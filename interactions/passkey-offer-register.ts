import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import { SettingsError } from '../src/account/passkey-settings.ts';
import type { OtpRequest } from '../src/auth/sms-otp/sms-otp.ts';
import { readJson } from '../src/http/body.ts';
import { HttpError } from '../src/http/http-error.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import type { Member, Passkey } from '../src/store/port.ts';
import { clientName } from './interaction.ts';
import { offerActor, offerPath, offerScope, offerStep, phoneVerified, postedStep, signInOf, type PasskeyOfferDeps } from './passkey-offer.ts';
import { settingsJsonError } from './passkey-settings.ts';
import { renderSmsStep, submitSmsStep, type SmsPage } from './sms-page.ts';

// "Set up a passkey" in the offer after a password log-in: the SMS code (unless the sign-in's own
// SMS step verified the phone), the device prompt, and "Passkey registered" with its name ready to
// change in place.

const smsRequest = (ctx: Context, details: Interaction, member: Member): OtpRequest & { purpose: 'enrolment' } => ({
  member, purpose: 'enrolment', bindTo: details.uid, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, locale: ctx.state.locale,
});
const smsPage = (ctx: Context, details: Interaction): SmsPage => ({
  csrfScope: details.uid,
  verifyAction: `${offerPath(details)}/sms/verify`,
  resendAction: `${offerPath(details)}/sms/resend`,
  cancelHref: `/interaction/${details.uid}`,
  intro: ctx.state.t('offer.sms.intro'),
});

/** GET …/offer/sms: the SMS step, its code sent as it opens. */
export async function showOfferSms(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await offerStep(ctx, deps);
  if (!step) return;
  if (await phoneVerified(deps, step.details, step.member)) return ctx.redirect(`${offerPath(step.details)}/register`);
  await renderSmsStep(ctx, deps, smsRequest(ctx, step.details, step.member), smsPage(ctx, step.details), { send: true });
}

/** POST …/offer/sms/verify: the code, which lets the member register a passkey in this sign-in for ten minutes. */
export async function verifyOfferSms(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await postedStep(ctx, deps);
  if (!step) return;
  const request = smsRequest(ctx, step.details, step.member);
  await submitSmsStep(ctx, deps, request, smsPage(ctx, step.details), () => deps.freshSms.verify({ ...request, code: step.form.code ?? '' }), `${offerPath(step.details)}/register`);
}

/** POST …/offer/sms/resend: a new code, within the cooldown and budgets. */
export async function resendOfferSms(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await postedStep(ctx, deps);
  if (!step) return;
  const request = smsRequest(ctx, step.details, step.member);
  await submitSmsStep(ctx, deps, request, smsPage(ctx, step.details), () => deps.smsOtp.issue(request), `${offerPath(step.details)}/sms`);
}

/** GET …/offer/register: the page whose script runs the device prompt. */
export async function showOfferRegister(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await offerStep(ctx, deps);
  if (!step) return;
  if (!(await phoneVerified(deps, step.details, step.member))) return ctx.redirect(`${offerPath(step.details)}/sms`);
  await ctx.render('passkey-offer-register', {
    title: ctx.state.t('offer.register.title'),
    action: offerPath(step.details),
    csrf: deps.csrf.token(ctx, step.details.uid),
  });
}

/** The JSON steps of the device prompt: only after the SMS step of this offer. */
async function registrationStep(ctx: Context, deps: PasskeyOfferDeps) {
  ctx.state.json = true;
  assertSameOrigin(ctx, deps.issuerOrigin);
  const step = await offerStep(ctx, deps);
  if (!step) return undefined;
  if (!(await phoneVerified(deps, step.details, step.member))) throw new HttpError(403, 'sms_required', ctx.state.t('settings.error.sms_required'));
  return step;
}

/** POST …/offer/options: creation options for the new passkey (JSON). */
export async function offerRegistrationOptions(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await registrationStep(ctx, deps);
  if (!step) return;
  try {
    ctx.body = await deps.settings.startRegistration(step.member, offerScope(step.details), ctx.ip);
  } catch (error) {
    return settingsJsonError(ctx, error);
  }
}

/** POST …/offer/register: the new passkey (JSON); answers where the page goes next. */
export async function finishOfferRegistration(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await registrationStep(ctx, deps);
  if (!step) return;
  const response = await readJson(ctx);
  try {
    const passkey = await deps.settings.finishRegistration(step.member, offerScope(step.details), response, offerActor(ctx, step.details));
    await deps.offer.recordOnce(step.member.id, 'registered', signInOf(step.details), offerActor(ctx, step.details));
    ctx.body = { redirectTo: `${offerPath(step.details)}/done?id=${encodeURIComponent(passkey.id)}` };
  } catch (error) {
    return settingsJsonError(ctx, error);
  }
}

/** "Passkey registered" in the sign-in: its name (ready to change in place), then "Continue to <relying party>". */
async function renderDone(ctx: Context, deps: PasskeyOfferDeps, details: Interaction, passkey: Passkey, extra: { message?: string; error?: string; value?: string } = {}) {
  const token = deps.csrf.token(ctx, details.uid);
  await ctx.render('passkey-offer-done', {
    title: ctx.state.t('registered.title'),
    name: passkey.name,
    message: extra.message,
    action: `${offerPath(details)}/continue`,
    csrf: token,
    client: await clientName(deps.provider, details, ctx.state.locale),
    rename: { action: `${offerPath(details)}/rename?id=${encodeURIComponent(passkey.id)}`, csrf: token, value: extra.value ?? passkey.name, error: extra.error },
  });
}

/** GET …/offer/done: "Passkey registered". */
export async function showOfferDone(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await offerStep(ctx, deps);
  if (!step) return;
  const passkey = await deps.settings.find(step.member, String(ctx.query.id ?? '')).catch(() => undefined);
  if (!passkey) return ctx.redirect(`/interaction/${step.details.uid}`);
  await renderDone(ctx, deps, step.details, passkey, ctx.query.renamed === '1' ? { message: ctx.state.t('settings.renamed', { name: passkey.name }) } : {});
}

/**
 * POST …/offer/rename: the name of the passkey just registered, changed in place; only in the sign-in
 * whose phone was verified (the use case refuses otherwise), and only for a passkey of this member.
 */
export async function renameOfferPasskey(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await postedStep(ctx, deps);
  if (!step) return;
  const id = String(ctx.query.id ?? '');
  try {
    await deps.settings.rename(step.member, offerScope(step.details), id, step.form.name ?? '', offerActor(ctx, step.details));
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    if (error.code === 'sms_required') throw new HttpError(403, 'sms_required', 'the phone was not verified in this sign-in');
    if (error.code === 'not_found') throw new HttpError(404, 'not_found', 'no such passkey');
    ctx.status = 400;
    return renderDone(ctx, deps, step.details, await deps.settings.find(step.member, id), { error: ctx.state.t('settings.error.invalid_name'), value: step.form.name ?? '' });
  }
  ctx.status = 303;
  ctx.redirect(`${offerPath(step.details)}/done?id=${encodeURIComponent(id)}&renamed=1`);
}
