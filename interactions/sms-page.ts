import type { Context } from 'koa';
import { canReceiveSmsCodes } from '../src/auth/sms-otp/eligibility.ts';
import { isOtpError, type OtpError, type OtpRequest, type SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import type { Csrf } from '../src/http/csrf.ts';
import type { MessageKey } from '../src/i18n/messages.ts';
import { japanTime } from '../src/i18n/japan-time.ts';
import { maskPhone } from '../src/members/members.ts';

/** Where the SMS step's forms post, and what the page says around them. */
export type SmsPage = {
  csrfScope: string;
  verifyAction: string;
  resendAction: string;
  cancelHref?: string;
  /** The cancel link's text, when it is not "Cancel". */
  cancelLabel?: string;
  intro?: string;
  /** For members who cannot receive codes: a way on (continue without, or back to the relying party). */
  skip?: { action: string; label: string; note?: string };
  /** Hidden fields both forms carry back. */
  fields?: Record<string, string>;
};

/** What the page shows of the code: whether the form is offered, what was sent where, and why not. */
export type SmsPageState = {
  eligible: boolean;
  maskedPhone: string;
  /** "We sent a code to …" */
  sent: boolean;
  locked: boolean;
  error: string | undefined;
  /** Seconds before "Resend code" may be used. */
  resendIn: number;
  /** The code sent can no longer be used (tried too often, expired, used): a new one is the way on. */
  usedUp?: boolean;
};

export type SmsPageDeps = { smsOtp: SmsOtp; csrf: Csrf };

/** The member-facing text for why a code was not sent or not accepted. */
export function otpErrorMessage(ctx: Context, error: OtpError): string {
  const { t, locale } = ctx.state;
  const time = (at: Date | undefined) => at ? japanTime(t, locale, at) : '';
  if (error.code === 'invalid_code' && error.triesLeft === undefined) return t('sms.error.invalid_format');
  if (error.code === 'invalid_code' && error.triesLeft === 1) return t('sms.error.invalid_code.one');
  return t(`sms.error.${error.code}` as MessageKey, { remaining: error.triesLeft ?? 0, time: time(error.retryAt) });
}

const STATUS: Record<OtpError['code'], number> = {
  not_eligible: 403,
  disabled: 403,
  locked: 429,
  cooldown: 429,
  limit_reached: 429,
  delivery_failed: 503,
  no_code: 400,
  invalid_code: 400,
  code_exhausted: 400,
};

/**
 * Renders the SMS step. With `send`, a code goes out first unless one is already waiting for this
 * scope (a reload does not send another); an error is shown on the same page.
 */
export async function renderSmsStep(ctx: Context, deps: SmsPageDeps, request: OtpRequest, page: SmsPage, options: { send?: boolean; error?: OtpError } = {}): Promise<void> {
  const eligible = canReceiveSmsCodes(request.member);
  let error = options.error;
  let status = eligible ? await deps.smsOtp.status(request) : undefined;
  if (status && options.send && !error && !status.pending) {
    try {
      await deps.smsOtp.issue(request);
      status = await deps.smsOtp.status(request);
    } catch (caught) {
      if (!isOtpError(caught)) throw caught;
      error = caught;
    }
  }
  const now = Date.now();
  const resendIn = status?.resendAt ? Math.max(0, Math.ceil((status.resendAt.getTime() - now) / 1000)) : 0;
  if (error) ctx.status = STATUS[error.code];
  await renderSmsPage(ctx, deps.csrf, page, {
    eligible,
    maskedPhone: maskPhone(request.member.phone),
    // "We sent a code" only when a code for this very step is waiting.
    sent: !!status?.pending,
    locked: !!status?.lockedUntil || error?.code === 'locked' || error?.code === 'disabled',
    error: error && otpErrorMessage(ctx, error),
    resendIn,
    usedUp: error?.code === 'code_exhausted' || error?.code === 'no_code',
  });
}

/**
 * A form of the SMS step (the code entered, or "Resend code"): runs `act`; a refusal is shown on the
 * same step, and otherwise the browser goes on to `next`.
 */
export async function submitSmsStep(ctx: Context, deps: SmsPageDeps, request: OtpRequest, page: SmsPage, act: () => Promise<unknown>, next: string): Promise<void> {
  try {
    await act();
  } catch (error) {
    if (!isOtpError(error)) throw error;
    return renderSmsStep(ctx, deps, request, page, { error });
  }
  ctx.status = 303;
  ctx.redirect(next);
}

/** Renders the SMS step's template for `page` as `state` says; sends nothing. */
export async function renderSmsPage(ctx: Context, csrf: Csrf, page: SmsPage, state: SmsPageState): Promise<void> {
  await ctx.render('sms-step', {
    title: ctx.state.t('sms.title'),
    ...state,
    csrf: csrf.token(ctx, page.csrfScope),
    verifyAction: page.verifyAction,
    resendAction: page.resendAction,
    cancelHref: page.cancelHref,
    cancelLabel: page.cancelLabel,
    intro: page.intro,
    skipAction: page.skip?.action,
    skipLabel: page.skip?.label,
    unavailableNote: page.skip?.note,
    fields: Object.entries(page.fields ?? {}),
  });
}
