import type { Context } from 'koa';
import type { Interaction } from 'oidc-provider';
import type { SmsWayIn } from '../src/auth/sms-otp/way-in.ts';
import { readForm } from '../src/http/body.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import { rememberDevice, type DeviceCookie } from './device-cookie.ts';
import { loadInteraction } from './interaction.ts';
import { renderLogin, type LoginDeps } from './login.ts';
import { renderSmsPage, type SmsPage } from './sms-page.ts';
import { smsWayInPath, smsWayInScope } from './sms-way-in-offer.ts';

export type SmsWayInDeps = LoginDeps & { wayIn: SmsWayIn; device: DeviceCookie };

/** The posted form of a way-in step: same origin, this browser's sign-in, a token for this sign-in and number. */
async function posted(ctx: Context, deps: SmsWayInDeps): Promise<{ details: Interaction; number: string; code: string } | undefined> {
  assertSameOrigin(ctx, deps.issuerOrigin);
  const details = await loadInteraction(deps.provider, ctx);
  const form = await readForm(ctx);
  const number = (form.number ?? '').trim().slice(0, 32);
  deps.csrf.verify(ctx, smsWayInScope(details.uid, number), form.csrf);
  if (details.prompt.name !== 'login') {
    ctx.status = 303;
    ctx.redirect(`/interaction/${details.uid}`);
    return undefined;
  }
  return { details, number, code: form.code ?? '' };
}

/** The step's page: the same words for every number, whether or not a code went out. */
async function renderStep(ctx: Context, deps: SmsWayInDeps, uid: string, number: string, after: { sent: true } | { error: string }): Promise<void> {
  const { t } = ctx.state;
  const page: SmsPage = {
    csrfScope: smsWayInScope(uid, number),
    verifyAction: `${smsWayInPath(uid)}/verify`,
    resendAction: `${smsWayInPath(uid)}/resend`,
    cancelHref: `/interaction/${uid}`,
    cancelLabel: t('wayIn.back'),
    intro: t('wayIn.intro'),
    fields: { number },
  };
  ctx.set('Cache-Control', 'no-store');
  if ('error' in after) ctx.status = 400;
  await renderSmsPage(ctx, deps.csrf, page, {
    eligible: true,
    maskedPhone: '',
    sent: false,
    locked: false,
    error: 'error' in after ? after.error : undefined,
    resendIn: 'sent' in after ? deps.wayIn.cooldownSeconds : 0,
  });
}

/** POST /interaction/:uid/sms-way-in and …/resend: a code to the member's phone, if the number has one on file. */
export async function sendSmsWayIn(ctx: Context, deps: SmsWayInDeps): Promise<void> {
  const form = await posted(ctx, deps);
  if (!form) return;
  const { details, number } = form;
  await deps.wayIn.send({ number, bindTo: details.uid, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, locale: ctx.state.locale });
  await renderStep(ctx, deps, details.uid, number, { sent: true });
}

/**
 * POST /interaction/:uid/sms-way-in/verify: the right code makes this browser known to the member
 * (a device cookie), so its password attempts no longer wait on the member number; the member is
 * back on the log-in page to enter the password. The code alone logs no one in.
 */
export async function verifySmsWayIn(ctx: Context, deps: SmsWayInDeps): Promise<void> {
  const form = await posted(ctx, deps);
  if (!form) return;
  const { details, number, code } = form;
  const result = await deps.wayIn.verify({ number, code, bindTo: details.uid, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });
  if ('refused' in result) {
    return renderStep(ctx, deps, details.uid, number, { error: ctx.state.t(result.refused === 'too_many_tries' ? 'wayIn.tooMany' : 'wayIn.failed') });
  }
  rememberDevice(ctx, deps.device, result.member);
  await renderLogin(ctx, deps, details, { number, notice: ctx.state.t('wayIn.verified') });
}
