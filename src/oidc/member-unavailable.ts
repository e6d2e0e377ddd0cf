import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * The member of the browser's session can no longer log in (disabled, locked or removed since the
 * session began). Shown at the IdP as "This account cannot log in", never sent on to the relying
 * party: there is nothing it could do about it, and no code is issued.
 */
export class MemberUnavailable extends errors.OIDCProviderError {
  constructor() {
    super(403, 'access_denied');
    this.error_description = 'this account cannot log in';
    this.allow_redirect = false;
  }
}

// The provider's steps that carry a sign-in on with the browser's session (oidc-provider's loadAccount).
const SESSION_STEPS = new Set(['authorization', 'resume']);

/**
 * When `ctx` is a sign-in carried on with the browser's session of `accountId`, ends that session
 * (the record and the cookie) and throws MemberUnavailable, or, for `prompt=none`, `login_required`
 * to the relying party: a silent request must not end on a page, and with the session ended no one
 * is logged in. Elsewhere (a token or userinfo request) it does nothing: there the provider refuses
 * an unknown account by itself.
 */
export async function refuseSessionOf(ctx: KoaContextWithOIDC | undefined, accountId: string): Promise<void> {
  const oidc = ctx?.oidc;
  if (!oidc || !SESSION_STEPS.has(oidc.route) || oidc.session?.accountId !== accountId) return;
  await oidc.session.destroy();
  oidc.cookies.set(oidc.provider.cookieName('session'), null);
  if (oidc.prompts.has('none')) throw new errors.LoginRequired();
  throw new MemberUnavailable();
}
