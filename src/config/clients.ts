import { z } from 'zod';

/**
 * The only response mode: the code comes back in the redirect URI's query. Our relying parties are a
 * server-side website and native apps, which read it there; `fragment` serves the implicit and hybrid
 * flows we do not offer, and `form_post` needs the relying party's cookies to survive a cross-site
 * POST, which SameSite=Lax cookies do not.
 */
export const RESPONSE_MODES = ['query'] as const;

/** The account page's own client (oidc/account-client.ts): no configured client may take its id. */
export const ACCOUNT_CLIENT_ID = 'jmb-account';

/** A client in OIDC_CLIENTS_FILE: what the IdP checks before oidc-provider validates the rest of its metadata. */
export const clientSchema = z.looseObject({
  client_id: z.string().regex(/^[A-Za-z0-9_-]+$/, 'client_id may hold only letters, digits, "_" and "-"'),
  redirect_uris: z.array(z.string()).min(1),
  // Discovery offers the code flow with the query response mode only (`none` is the account page's own).
  response_types: z.array(z.literal('code', 'only the "code" response type is offered')).optional(),
  response_modes: z.array(z.enum(RESPONSE_MODES, `only the ${RESPONSE_MODES.map((m) => `"${m}"`).join(', ')} response mode is offered`)).optional(),
});
