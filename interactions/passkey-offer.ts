import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import type { ChangeScope, FreshSms } from '../src/account/fresh-sms.ts';
import type { PasskeyOffer } from '../src/account/passkey-offer.ts';
import type { PasskeySettings } from '../src/account/passkey-settings.ts';
import type { SmsOtp } from '../src/auth/sms-otp/sms-otp.ts';
import { readForm } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { HttpError } from '../src/http/http-error.ts';
import { assertSameOrigin } from '../src/http/same-origin.ts';
import { maskPhone } from '../src/members/members.ts';
import { assuranceOf, proofsFromAmr, type Proof } from '../src/oidc/assurance.ts';
import { PASSKEY_OFFER_PROMPT } from '../src/oidc/policy.ts';
import type { Member, Members } from '../src/store/port.ts';
import { clientName, finish, loadInteraction } from './interaction.ts';

/** What the passkey offer's pages are served with. */
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

// The offer of a passkey right after a password log-in: "Log in faster next time with a passkey",
// with "Set up a passkey" running the seed's own steps in place (the SMS code, the device prompt,
// "Passkey registered": passkey-offer-register.ts) and then "Continue to <relying party>", or "Not
// now". The page skips itself on a browser that cannot make a passkey.

/** Where the offer's pages and forms are, under the sign-in's own path. */
export const offerPath = (details: Interaction) => `/interaction/${details.uid}/offer`;
/** The sign-in the offer is made in, for its figures: each outcome counts once per sign-in. */
export const signInOf = (details: Interaction) => ({ id: details.uid, until: new Date(details.exp * 1000) });
/** Who did what, for the audit trail and the notices. */
export const offerActor = (ctx: Context, details: Interaction) => ({
  ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, clientId: String(details.params.client_id), locale: ctx.state.locale,
});

/** What this sign-in's log-in proved so far, as it recorded it. */
const signInAmr = (details: Interaction) => (details.lastSubmission?.login as { amr?: string[] } | undefined)?.amr;
const proofsOf = (details: Interaction): Proof[] => proofsFromAmr(signInAmr(details) ?? details.session?.amr);
/** Changes made in the offer are made in this sign-in, whose own SMS step counts. */
export const offerScope = (details: Interaction): ChangeScope => ({ purpose: 'enrolment', bindTo: details.uid, signInAmr: signInAmr(details) });
/** Whether the member's phone is verified for a passkey in this sign-in. */
export const phoneVerified = (deps: Pick<PasskeyOfferDeps, 'freshSms'>, details: Interaction, member: Member) => deps.freshSms.holds(member, offerScope(details));

/** The interaction of this offer, with the member it is for; anything else goes back to the sign-in page. */
export async function offerStep(ctx: Context, { provider, members }: PasskeyOfferDeps): Promise<{ details: Interaction; member: Member } | undefined> {
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

/** A form posted in the offer: same origin, this offer's step, and its page's token. */
export async function postedStep(ctx: Context, deps: PasskeyOfferDeps) {
  assertSameOrigin(ctx, deps.issuerOrigin);
  const step = await offerStep(ctx, deps);
  if (!step) return undefined;
  const form = await readForm(ctx);
  deps.csrf.verify(ctx, step.details.uid, form.csrf);
  return { ...step, form };
}

/** Ends the offer and carries the sign-in on; a verified phone during it counts as a proof in the ID token. */
async function carryOn(ctx: Context, deps: PasskeyOfferDeps, details: Interaction, member: Member, outcome: 'registered' | 'dismissed' | 'skipped') {
  const verifiedInOffer = !signInAmr(details)?.includes('sms') && await deps.freshSms.holds(member, { purpose: 'enrolment', bindTo: details.uid });
  if (!verifiedInOffer) return finish(details, ctx, { [PASSKEY_OFFER_PROMPT]: { outcome } }, true);
  const { acr, amr } = assuranceOf([...proofsOf(details), { method: 'sms-otp' }]);
  await finish(details, ctx, { login: { accountId: member.id, acr, amr, remember: true }, consent: {}, [PASSKEY_OFFER_PROMPT]: { outcome } });
}

/** GET /interaction/:uid when the sign-in offers a passkey: the offer itself. */
export async function showOffer(ctx: Context, deps: PasskeyOfferDeps, details: Interaction): Promise<void> {
  const { provider, members, offer, csrf } = deps;
  const member = details.session ? await members.findById(details.session.accountId) : undefined;
  if (!member) throw new HttpError(400, 'invalid_request', 'the sign-in has no member');
  await offer.recordOnce(member.id, 'offered', signInOf(details), offerActor(ctx, details));
  await ctx.render('passkey-offer', {
    title: ctx.state.t('offer.title'),
    action: offerPath(details),
    csrf: csrf.token(ctx, details.uid),
    phone: maskPhone(member.phone),
    client: await clientName(provider, details, ctx.state.locale),
  });
}

/** POST …/offer/accept: "Set up a passkey", through the SMS step unless the phone is verified in this sign-in. */
export async function acceptOffer(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await postedStep(ctx, deps);
  if (!step) return;
  await deps.offer.recordOnce(step.member.id, 'accepted', signInOf(step.details), offerActor(ctx, step.details));
  ctx.status = 303;
  ctx.redirect((await phoneVerified(deps, step.details, step.member)) ? `${offerPath(step.details)}/register` : `${offerPath(step.details)}/sms`);
}

/** POST …/offer/dismiss: "Not now", remembered for a while. */
export async function dismissOffer(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await postedStep(ctx, deps);
  if (!step) return;
  await deps.offer.dismiss(step.member.id, signInOf(step.details), offerActor(ctx, step.details));
  await carryOn(ctx, deps, step.details, step.member, 'dismissed');
}

/** POST …/offer/skip: a browser that cannot make a passkey; the page moved on by itself, and nothing is remembered. */
export async function skipOffer(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await postedStep(ctx, deps);
  if (!step) return;
  await deps.offer.recordOnce(step.member.id, 'skipped', signInOf(step.details), offerActor(ctx, step.details));
  await carryOn(ctx, deps, step.details, step.member, 'skipped');
}

/** POST …/offer/continue: "Continue to <relying party>" after the offer's steps. */
export async function continueAfterOffer(ctx: Context, deps: PasskeyOfferDeps): Promise<void> {
  const step = await postedStep(ctx, deps);
  if (!step) return;
  const registered = (await deps.settings.list(step.member)).length > 0;
  await carryOn(ctx, deps, step.details, step.member, registered ? 'registered' : 'dismissed');
}
