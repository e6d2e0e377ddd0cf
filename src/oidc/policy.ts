import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR } from './assurance.ts';

const { Check } = interactionPolicy;

/** The acr values a relying party asked for with `acr_values` (voluntary, most preferred first). */
export function requestedAcrValues(acrValues: unknown): string[] {
  return typeof acrValues === 'string' ? acrValues.split(' ').filter(Boolean) : [];
}

/**
 * The interaction policy: oidc-provider's login and consent prompts, plus one check of our own.
 *
 * `acr_values=phr` asks for a passkey: a session established another way gets the log-in page again.
 * Only once: if the member has just logged in during this sign-in and still could not give `phr`,
 * the token says honestly what happened instead of sending the member round in a loop.
 *
 * Consent is satisfied by first-party grants (grants.ts); it still appears for a native app reusing
 * an existing session, because a custom-scheme redirect could belong to an impostor app and the
 * member must see which app they are continuing to.
 */
export function createPolicy(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(new Check(
    'phr_requested',
    'a phishing-resistant log-in was requested',
    'login_required',
    (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      if (!requestedAcrValues(oidc.params?.acr_values).includes(ACR.phishingResistant)) return Check.NO_NEED_TO_PROMPT;
      if (oidc.session?.acr === ACR.phishingResistant || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
      return Check.REQUEST_PROMPT;
    },
  ));
  return policy;
}
