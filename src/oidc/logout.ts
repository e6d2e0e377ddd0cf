import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { confirm } from 'oidc-provider/lib/actions/end_session.js';
import { rememberedClient } from '../http/return-cookie.ts';
import { displayClientName } from './client-name.ts';
import { continuationOf } from './continuation.ts';

/** Where "Stay logged in" leads on the account page: the page then says the member is still logged in. */
export const STAYED_ON_ACCOUNT = '/account?stayed=1';

type RenderingContext = KoaContextWithOIDC & { render(view: string, locals?: object): Promise<void> };
type RpInitiatedLogout = NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>;

/**
 * RP-initiated log-out (OpenID Connect RP-Initiated Logout 1.0). A relying party's request that names
 * the member's session here (its `id_token_hint` is for this session's member and this session with
 * it) and a registered `post_logout_redirect_uri` logs out at once; any other request asks "Log out
 * of JMB?". "Stay logged in" changes nothing: it is a link back where the member came from.
 */
export function rpInitiatedLogout(issuer: string): RpInitiatedLogout {
  return {
    enabled: true,
    async logoutSource(ctx, form) {
      const rendering = ctx as RenderingContext;
      if (ctx.oidc.params?.post_logout_redirect_uri && hintNamesThisSession(ctx)) return endSessionNow(ctx);
      await rendering.render('logout', { form, stay: await stayHref(ctx, issuer), title: rendering.state.t('logout.title') });
    },
    async postLogoutSuccessSource(ctx) {
      const rendering = ctx as RenderingContext;
      const { t } = rendering.state;
      // The page can be opened again (Back, a bookmark, another tab) whatever the session is now, and
      // oidc-provider also ends here when only one relying party was logged out: it says what holds.
      const session = await ctx.oidc.provider.Session.get(ctx);
      if (session.accountId) {
        const client = ctx.oidc.client;
        await rendering.render('logged-out', {
          title: t('logout.still.title'),
          stillLoggedIn: true,
          loggedOutOf: client ? displayClientName(client, rendering.state.locale) : undefined,
        });
        return;
      }
      const wayOn = await continuationOf(ctx.oidc.provider, issuer, ctx.oidc.client?.clientId ?? rememberedClient(ctx));
      await rendering.render('logged-out', { title: t('logout.done.title'), logInAgain: wayOn?.startAgain ?? '/account' });
    },
  };
}

/**
 * The log-out form sent again after the session it was for has ended (Back to the question after
 * logging out, or a second tab): oidc-provider refuses it, but the member is logged out, and the page
 * says so. False for any other refusal, which gets the ordinary error page.
 */
export async function renderLoggedOutAgain(ctx: KoaContextWithOIDC, issuer: string): Promise<boolean> {
  if (ctx.oidc?.route !== 'end_session_confirm') return false;
  const session = await ctx.oidc.provider.Session.get(ctx).catch(() => undefined);
  if (!session || session.accountId) return false;
  const rendering = ctx as RenderingContext;
  const wayOn = await continuationOf(ctx.oidc.provider, issuer, rememberedClient(ctx));
  await rendering.render('logged-out', { title: rendering.state.t('logout.done.title'), logInAgain: wayOn?.startAgain ?? '/account' });
  return true;
}

/**
 * RP-Initiated Logout 1.0 §2: the OP "MUST ask the End-User this question if an id_token_hint was not
 * provided or if the supplied ID Token does not belong to the current OP session with the RP and/or
 * currently logged in End-User". oidc-provider has checked the hint's signature and audience; this
 * checks it is this session's: the same member, a session that logged in at that relying party, and
 * (for a client whose ID tokens carry `sid`) that very session with it.
 */
export function hintNamesThisSession(ctx: KoaContextWithOIDC): boolean {
  const hint = ctx.oidc.entities.IdTokenHint?.payload;
  const { client, session } = ctx.oidc;
  if (!hint || !client || !session?.accountId) return false;
  const authorization = session.authorizations?.[client.clientId];
  if (!authorization || hint.sub !== session.accountId) return false;
  return hint.sid === undefined || (typeof authorization.sid === 'string' && hint.sid === authorization.sid);
}

/**
 * Ends the session as the confirmation form's "Log out" (`logout=yes`) would, in this same request:
 * oidc-provider's own last step of that form's endpoint (back-channel log-out to every relying party of
 * the session, grants revoked, the session and its cookie gone, a 303 to `post_logout_redirect_uri`
 * with `state`). oidc-provider offers no setting to skip the question; its documented way, a page that
 * submits the form by script, fails without script and reads as a flash of an empty page to a screen
 * reader, so the decision is the server's. Everything the form's endpoint checks first is already
 * settled here: this request itself is the relying party's, and it has just stored the session's log-out
 * state the last step reads.
 */
async function endSessionNow(ctx: KoaContextWithOIDC): Promise<void> {
  const endSession = confirm.at(-1)!;
  (ctx.oidc.params as Record<string, unknown>).logout = 'yes';
  await endSession(ctx, async () => undefined);
}

/**
 * Where "Stay logged in" leads: the relying party's home page, else the `post_logout_redirect_uri` it
 * named (without `state`, so that it is never taken for a finished log-out), else the account page.
 */
async function stayHref(ctx: KoaContextWithOIDC, issuer: string): Promise<string> {
  const wayOn = await continuationOf(ctx.oidc.provider, issuer, ctx.oidc.client?.clientId);
  return wayOn?.home ?? ctx.oidc.params?.post_logout_redirect_uri as string | undefined ?? STAYED_ON_ACCOUNT;
}
