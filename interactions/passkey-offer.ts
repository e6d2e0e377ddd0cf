import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import type { PasskeyOffer } from '../src/account/passkey-offer.ts';
import type { ChangeScope, FreshSms } from '../src/account/fresh-sms.ts';
import { SettingsError, type PasskeySettings } from '../src/account/passkey-settings.ts';
import { isOtpError, type OtpRequest, type SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import { readForm, readJson } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { HttpError } from '../src/http/http-error.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import { maskPhone } from '../src/members/members.ts';
import { assuranceOf, proofsFromAmr, type Proof } from '../src/oidc/assurance.ts';
import { PASSKEY_OFFER_PROMPT } from '../src/oidc/policy.ts';
import type { Member, Members, Passkey } from '../src/store/port.ts';
import { clientName, finish, loadInteraction } from './interaction.ts';
import { settingsJsonError } from './passkey-settings.ts';
import { renderSmsStep, type SmsPage } from './sms-page.ts';

export type PasskeyOfferDeps = {
  provider: Provider;
  members: Members;
  offer: PasskeyOffer;
  freshSms: FreshSms;
  settings: PasskeySettings;
  smsOtp: SmsOtp;
  csrf: Csrf;
  issuerOrigin: string;
};

/**
 * The offer of a passkey right after a password log-in: "Log in faster next time with a passkey",
 * with "Set up a passkey" running the seed's own steps in place (the SMS code, the device prompt,
 * "Passkey registered") and then "Continue to <relying party>", or "Not now". The page skips itself
 * on a browser that cannot make a passkey.
 */
export function passkeyOfferRoutes(router: Router, deps: PasskeyOfferDeps): { showOffer(ctx: Context, details: Interaction): Promise<void> } {
  const { provider, members, offer, freshSms, settings, smsOtp, csrf, issuerOrigin } = deps;
  const base = (details: Interaction) => `/interaction/${details.uid}/offer`;
  const signInOf = (details: Interaction) => ({ id: details.uid, until: new Date(details.exp * 1000) });
  const actor = (ctx: Context, details: Interaction) => ({
    ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, clientId: String(details.params.client_id), locale: ctx.state.locale,
  });

  /** The interaction of this offer, with the member it is for; anything else goes back to the sign-in page. */
  async function offerStep(ctx: Context): Promise<{ details: Interaction; member: Member } | undefined> {
    ctx.set('Cache-Control', 'no-store');
    const details = await loadInteraction(provider, ctx);
    const member = details.session ? await members.findById(details.session.accountId) : undefined;
    if (details.prompt.name !== PASSKEY_OFFER_PROMPT || !member) {
      if (ctx.state.json) throw new HttpError(400, 'invalid_request', 'this sign-in is not offering a passkey');
      ctx.status = 303;
      ctx.redirect(`/interaction/${details.uid}`);
      return undefined;
    }
    return { details, member };
  }

  async function postedStep(ctx: Context) {
    assertSameOrigin(ctx, issuerOrigin);
    const step = await offerStep(ctx);
    if (!step) return undefined;
    const form = await readForm(ctx);
    csrf.verify(ctx, step.details.uid, form.csrf);
    return { ...step, form };
  }

  const smsRequest = (ctx: Context, details: Interaction, member: Member): OtpRequest & { purpose: 'enrolment' } => ({
    member, purpose: 'enrolment', bindTo: details.uid, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, locale: ctx.state.locale,
  });
  const smsPage = (ctx: Context, details: Interaction): SmsPage => ({
    csrfScope: details.uid,
    verifyAction: `${base(details)}/sms/verify`,
    resendAction: `${base(details)}/sms/resend`,
    cancelHref: `/interaction/${details.uid}`,
    intro: ctx.state.t('offer.sms.intro'),
  });
  /** What this sign-in's log-in proved so far, as it recorded it. */
  const signInAmr = (details: Interaction) => (details.lastSubmission?.login as { amr?: string[] } | undefined)?.amr;
  const proofsOf = (details: Interaction): Proof[] => proofsFromAmr(signInAmr(details) ?? details.session?.amr);
  /** Changes made in the offer are made in this sign-in, whose own SMS step counts. */
  const changeScope = (details: Interaction): ChangeScope => ({ purpose: 'enrolment', bindTo: details.uid, signInAmr: signInAmr(details) });
  const verified = (details: Interaction, member: Member) => freshSms.holds(member, changeScope(details));

  /** Ends the offer and carries the sign-in on; a verified phone during it counts as a proof in the ID token. */
  async function carryOn(ctx: Context, details: Interaction, member: Member, outcome: 'registered' | 'dismissed' | 'skipped') {
    const phoneVerified = !signInAmr(details)?.includes('sms') && await freshSms.holds(member, { purpose: 'enrolment', bindTo: details.uid });
    if (!phoneVerified) return finish(details, ctx, { [PASSKEY_OFFER_PROMPT]: { outcome } }, true);
    const { acr, amr } = assuranceOf([...proofsOf(details), { method: 'sms-otp' }]);
    await finish(details, ctx, { login: { accountId: member.id, acr, amr, remember: true }, consent: {}, [PASSKEY_OFFER_PROMPT]: { outcome } });
  }

  async function showOffer(ctx: Context, details: Interaction): Promise<void> {
    const member = details.session ? await members.findById(details.session.accountId) : undefined;
    if (!member) throw new HttpError(400, 'invalid_request', 'the sign-in has no member');
    await offer.recordOnce(member.id, 'offered', signInOf(details), actor(ctx, details));
    await ctx.render('passkey-offer', {
      title: ctx.state.t('offer.title'),
      action: base(details),
      csrf: csrf.token(ctx, details.uid),
      phone: maskPhone(member.phone),
      client: await clientName(provider, details, ctx.state.locale),
    });
  }

  router.post('/interaction/:uid/offer/accept', async (ctx) => {
    const step = await postedStep(ctx);
    if (!step) return;
    await offer.recordOnce(step.member.id, 'accepted', signInOf(step.details), actor(ctx, step.details));
    ctx.status = 303;
    ctx.redirect((await verified(step.details, step.member)) ? `${base(step.details)}/register` : `${base(step.details)}/sms`);
  });

  router.post('/interaction/:uid/offer/dismiss', async (ctx) => {
    const step = await postedStep(ctx);
    if (!step) return;
    await offer.dismiss(step.member.id, signInOf(step.details), actor(ctx, step.details));
    await carryOn(ctx, step.details, step.member, 'dismissed');
  });

  // A browser that cannot make a passkey: the page moved on by itself; nothing is remembered.
  router.post('/interaction/:uid/offer/skip', async (ctx) => {
    const step = await postedStep(ctx);
    if (!step) return;
    await offer.recordOnce(step.member.id, 'skipped', signInOf(step.details), actor(ctx, step.details));
    await carryOn(ctx, step.details, step.member, 'skipped');
  });

  router.get('/interaction/:uid/offer/sms', async (ctx) => {
    const step = await offerStep(ctx);
    if (!step) return;
    if (await verified(step.details, step.member)) return ctx.redirect(`${base(step.details)}/register`);
    await renderSmsStep(ctx, { smsOtp, csrf }, smsRequest(ctx, step.details, step.member), smsPage(ctx, step.details), { send: true });
  });

  router.post('/interaction/:uid/offer/sms/verify', async (ctx) => {
    const step = await postedStep(ctx);
    if (!step) return;
    const request = smsRequest(ctx, step.details, step.member);
    try {
      await freshSms.verify({ ...request, code: step.form.code ?? '' });
    } catch (error) {
      if (!isOtpError(error)) throw error;
      return renderSmsStep(ctx, { smsOtp, csrf }, request, smsPage(ctx, step.details), { error });
    }
    ctx.status = 303;
    ctx.redirect(`${base(step.details)}/register`);
  });

  router.post('/interaction/:uid/offer/sms/resend', async (ctx) => {
    const step = await postedStep(ctx);
    if (!step) return;
    const request = smsRequest(ctx, step.details, step.member);
    try {
      await smsOtp.issue(request);
    } catch (error) {
      if (!isOtpError(error)) throw error;
      return renderSmsStep(ctx, { smsOtp, csrf }, request, smsPage(ctx, step.details), { error });
    }
    ctx.status = 303;
    ctx.redirect(`${base(step.details)}/sms`);
  });

  router.get('/interaction/:uid/offer/register', async (ctx) => {
    const step = await offerStep(ctx);
    if (!step) return;
    if (!(await verified(step.details, step.member))) return ctx.redirect(`${base(step.details)}/sms`);
    await ctx.render('passkey-offer-register', {
      title: ctx.state.t('offer.register.title'),
      action: base(step.details),
      csrf: csrf.token(ctx, step.details.uid),
    });
  });

  /** The JSON steps of the device prompt: only after the SMS step of this offer. */
  async function registrationStep(ctx: Context) {
    ctx.state.json = true;
    assertSameOrigin(ctx, issuerOrigin);
    const step = await offerStep(ctx);
    if (!step) return undefined;
    if (!(await verified(step.details, step.member))) throw new HttpError(403, 'sms_required', ctx.state.t('settings.error.sms_required'));
    return step;
  }

  router.post('/interaction/:uid/offer/options', async (ctx) => {
    const step = await registrationStep(ctx);
    if (!step) return;
    try {
      ctx.body = await settings.startRegistration(step.member, changeScope(step.details), ctx.ip);
    } catch (error) {
      return settingsJsonError(ctx, error);
    }
  });

  router.post('/interaction/:uid/offer/register', async (ctx) => {
    const step = await registrationStep(ctx);
    if (!step) return;
    const response = await readJson(ctx);
    try {
      const passkey = await settings.finishRegistration(step.member, changeScope(step.details), response, actor(ctx, step.details));
      await offer.recordOnce(step.member.id, 'registered', signInOf(step.details), actor(ctx, step.details));
      ctx.body = { redirectTo: `${base(step.details)}/done?id=${encodeURIComponent(passkey.id)}` };
    } catch (error) {
      return settingsJsonError(ctx, error);
    }
  });

  /** "Passkey registered" in the sign-in: its name (ready to change in place), then "Continue to <relying party>". */
  async function renderDone(ctx: Context, details: Interaction, passkey: Passkey, extra: { message?: string; error?: string; value?: string } = {}) {
    const token = csrf.token(ctx, details.uid);
    await ctx.render('passkey-offer-done', {
      title: ctx.state.t('registered.title'),
      name: passkey.name,
      message: extra.message,
      action: `${base(details)}/continue`,
      csrf: token,
      client: await clientName(provider, details, ctx.state.locale),
      rename: { action: `${base(details)}/rename?id=${encodeURIComponent(passkey.id)}`, csrf: token, value: extra.value ?? passkey.name, error: extra.error },
    });
  }

  router.get('/interaction/:uid/offer/done', async (ctx) => {
    const step = await offerStep(ctx);
    if (!step) return;
    const passkey = await settings.find(step.member, String(ctx.query.id ?? '')).catch(() => undefined);
    if (!passkey) return ctx.redirect(`/interaction/${step.details.uid}`);
    await renderDone(ctx, step.details, passkey, ctx.query.renamed === '1' ? { message: ctx.state.t('settings.renamed', { name: passkey.name }) } : {});
  });

  // The name of the passkey just registered, changed in place: only in the sign-in whose phone was
  // verified, and only for a passkey of this member.
  router.post('/interaction/:uid/offer/rename', async (ctx) => {
    const step = await postedStep(ctx);
    if (!step) return;
    const id = String(ctx.query.id ?? '');
    try {
      await settings.rename(step.member, changeScope(step.details), id, step.form.name ?? '', actor(ctx, step.details));
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      if (error.code === 'sms_required') throw new HttpError(403, 'sms_required', 'the phone was not verified in this sign-in');
      if (error.code === 'not_found') throw new HttpError(404, 'not_found', 'no such passkey');
      ctx.status = 400;
      return renderDone(ctx, step.details, await settings.find(step.member, id), { error: ctx.state.t('settings.error.invalid_name'), value: step.form.name ?? '' });
    }
    ctx.status = 303;
    ctx.redirect(`${base(step.details)}/done?id=${encodeURIComponent(id)}&renamed=1`);
  });

  router.post('/interaction/:uid/offer/continue', async (ctx) => {
    const step = await postedStep(ctx);
    if (!step) return;
    const registered = (await settings.list(step.member)).length > 0;
    await carryOn(ctx, step.details, step.member, registered ? 'registered' : 'dismissed');
  });

  return { showOffer };
}
