import { interactionPolicy } from 'oidc-provider';

/**
 * The interaction policy: oidc-provider's login and consent prompts. Consent is satisfied by
 * first-party grants (grants.ts); it still appears for a native app reusing an existing session,
 * because a custom-scheme redirect could belong to an impostor app and the member must see which
 * app they are continuing to.
 */
export function createPolicy(): interactionPolicy.DefaultPolicy {
  return interactionPolicy.base();
}
