import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { acrRequestOf, asksFor } from './acr-request.ts';
import { ACR } from './assurance.ts';

const { Check, Prompt } = interactionPolicy;

/** The name of the SMS step-up prompt; its interaction result is stored under the same key. */
export const SMS_PROMPT = 'sms-otp';

/** The name of the prompt that offers a passkey after a password log-in; its result, under the same key. */
export const PASSKEY_OFFER_PROMPT = 'passkey-offer';

/** The client metadata with which a relying party that enrols passkeys in its own UI turns the offer off. */
export const PASSKEY_OFFER_METADATA = 'jmb_passkey_offer';

export type PolicyDeps = {
  /** True when this member may be offered a passkey now (see src/account/passkey-offer.ts). */
  offerPasskeyTo: (memberId: string) => Promise<boolean>;
};

/**
 * The interaction policy, in order: log-in, the SMS step-up, consent.
 *
 * The provider's own essential-acr checks are replaced by ours, which never loop: each step is asked
 * for at most once per sign-in. When the member has just done the step during this sign-in and still
 * could not reach the asked-for acr, the step itself ends the sign-in with
 * `unmet_authentication_requirements` for an essential acr, or the token says honestly what happened.
 *
 * - `phr` (voluntary or essential): a session not established by a passkey gets the log-in page.
 * - `urn:jmb:loa:2`: a session without an SMS verification gets the SMS step after its first factor.
 *
 * Consent is satisfied by first-party grants (grants.ts); it still appears for a native app reusing
 * an existing session, because a custom-scheme redirect could belong to an impostor app and the
 * member must see which app they are continuing to.
 */
export function createPolicy({ offerPasskeyTo }: PolicyDeps = { offerPasskeyTo: async () => false }): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  login.checks.add(new Check('phr_requested', 'a phishing-resistant log-in was requested', 'login_required', (ctx: KoaContextWithOIDC) => {
    const { oidc } = ctx;
    if (!asksFor(acrRequestOf(oidc.params ?? {}), ACR.phishingResistant)) return Check.NO_NEED_TO_PROMPT;
    if (oidc.session?.acr === ACR.phishingResistant || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    return Check.REQUEST_PROMPT;
  }));

  policy.add(new Prompt(
    { name: SMS_PROMPT, requestable: false },
    new Check('sms_step_up_requested', 'an SMS step-up was requested', 'interaction_required', (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      if (!asksFor(acrRequestOf(oidc.params ?? {}), ACR.stepUp)) return Check.NO_NEED_TO_PROMPT;
      if (oidc.session?.acr === ACR.stepUp || oidc.result?.[SMS_PROMPT]) return Check.NO_NEED_TO_PROMPT;
      return Check.REQUEST_PROMPT;
    }),
  ), 1);

  policy.add(new Prompt(
    { name: PASSKEY_OFFER_PROMPT, requestable: false },
    new Check('passkey_offer', 'a passkey can be offered after a password log-in', 'interaction_required', async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      const login = oidc.result?.login as { accountId?: string; amr?: string[] } | undefined;
      // Only right after a password log-in in this very sign-in, at most once, never without a page.
      if (oidc.prompts.has('none') || !login?.accountId || oidc.result?.[PASSKEY_OFFER_PROMPT]) return Check.NO_NEED_TO_PROMPT;
      if (!login.amr?.includes('pwd') || login.amr.includes('hwk') || login.amr.includes('swk')) return Check.NO_NEED_TO_PROMPT;
      if ((oidc.client as unknown as Record<string, unknown> | undefined)?.[PASSKEY_OFFER_METADATA] === false) return Check.NO_NEED_TO_PROMPT;
      return (await offerPasskeyTo(login.accountId)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  ), 2);
  return policy;
}
