import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/load.ts';
import type { CookieSigner } from '../http/cookie-signer.ts';
import { retryHref } from '../http/error-boundary.ts';
import type { Logger } from '../log.ts';
import type { Clock, Store } from '../store/port.ts';
import { memberClaims } from '../members/members.ts';
import { accountClient } from './account-client.ts';
import { createOidcAdapter } from './adapter.ts';
import { supportedAcrValues } from './assurance.ts';
import { loadFirstPartyGrant } from './grants.ts';
import { createPolicy } from './policy.ts';
import { passingAsUnavailable, ServiceUnavailable } from './unavailable.ts';

export type ProviderDeps = { config: Config; store: Store; logger: Logger; clock: Clock; cookieSigner: CookieSigner };

/** The claims each scope releases. `acr`, `amr` and `auth_time` ride on `openid`, so every ID token has them. */
export const scopeClaims = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name'],
  phone: ['phone_number'],
  jmb: ['jmb_member_number'],
} as const;

/** Builds the oidc-provider instance: code flow with PKCE for every client, first-party grants, our pages. */
export function createProvider({ config, store, logger, clock, cookieSigner }: ProviderDeps): Provider {
  const configuration: Configuration = {
    adapter: createOidcAdapter(store.documents, clock),
    clients: [...config.clients, accountClient(config.issuer)] as Configuration['clients'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    jwks: config.jwks as Configuration['jwks'],
    cookies: {
      // Koa's cookies take a signer object in place of a key list (see CookieSigner).
      keys: cookieSigner as unknown as string[],
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    async findAccount(_ctx, sub) {
      const member = await passingAsUnavailable(() => store.members.findById(sub));
      if (!member || member.status !== 'active') return undefined;
      return {
        accountId: member.id,
        async claims(_use, scope) {
          return memberClaims(member, new Set(scope.split(' ')));
        },
      };
    },
    claims: { ...scopeClaims, sid: null } as unknown as Configuration['claims'],
    scopes: ['openid', 'offline_access', ...Object.keys(scopeClaims).filter((scope) => scope !== 'openid')],
    acrValues: [...supportedAcrValues],
    // `none` only for the account page's own client (account-client.ts); every other client uses `code`.
    responseTypes: ['code', 'none'],
    pkce: { required: () => true },
    enabledJWA: { idTokenSigningAlgValues: ['ES256', 'RS256'] },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          await (ctx as RenderingContext).render('logout', { form, title: (ctx as RenderingContext).state.t('logout.title') });
        },
        async postLogoutSuccessSource(ctx) {
          await (ctx as RenderingContext).render('logged-out', { title: (ctx as RenderingContext).state.t('logout.done.title') });
        },
      },
    },
    interactions: {
      policy: createPolicy(),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    loadExistingGrant: loadFirstPartyGrant,
    // First-party clients: a refresh token for every client allowed the grant, rotated on each use.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    clientBasedCORS: () => false,
    // oidc-provider refuses outgoing requests (back-channel logout) to special-use addresses. In
    // development the demo website listens on loopback, so loopback alone is let through there.
    ...(!config.production && { fetch: allowLoopbackFetch }),
    ttl: {
      AccessToken: 900,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 1800,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: () => 14 * 24 * 3600,
      BackchannelAuthenticationRequest: 600,
      ClientCredentials: 600,
      DeviceCode: 600,
    },
    async renderError(ctx, out, error) {
      const rendering = ctx as RenderingContext;
      if (error instanceof ServiceUnavailable) {
        rendering.set('Retry-After', String(error.retryAfter));
        await rendering.render('error', {
          page: 'unavailable',
          code: out.error,
          title: rendering.state.t('error.unavailable.title'),
          retryHref: retryHref(rendering, 'unavailable'),
        });
        return;
      }
      const expired = error instanceof errors.SessionNotFound;
      const page = expired ? 'expired' : 'generic';
      rendering.status = expired ? 400 : rendering.status;
      await rendering.render('error', {
        page,
        code: expired ? 'interaction_expired' : out.error,
        title: rendering.state.t(expired ? 'error.expired.title' : 'error.title'),
      });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  logEvents(provider, logger);
  return provider;
}

function allowLoopbackFetch(url: string | URL | Request, init?: RequestInit & { dispatcher?: unknown }): Promise<Response> {
  const { hostname } = new URL(url instanceof Request ? url.url : url);
  if (init && ['localhost', '127.0.0.1', '[::1]'].includes(hostname)) delete init.dispatcher;
  return fetch(url, init);
}

type RenderingContext = KoaContextWithOIDC & { render(view: string, locals?: object): Promise<void> };

// One log line per notable provider event; never a token, code or cookie.
function logEvents(provider: Provider, logger: Logger): void {
  const client = (ctx: KoaContextWithOIDC) => ctx.oidc?.client?.clientId;
  provider.on('server_error', (ctx, error) => logger.error('oidc server error', { path: ctx.path, client: client(ctx), error }));
  for (const name of ['authorization.error', 'grant.error', 'end_session.error', 'introspection.error', 'revocation.error', 'userinfo.error', 'backchannel.error'] as const) {
    (provider.on as (event: string, listener: (ctx: KoaContextWithOIDC, error: Error & { error?: string; error_description?: string }) => void) => void)(name, (ctx, error) => {
      logger.info(`oidc ${name}`, { client: client(ctx), error: error.error ?? error.name, description: error.error_description ?? error.message });
    });
  }
  for (const name of ['grant.success', 'end_session.success', 'grant.revoked', 'interaction.ended', 'backchannel.success'] as const) {
    (provider.on as (event: string, listener: (ctx: KoaContextWithOIDC) => void) => void)(name, (ctx) => logger.info(`oidc ${name}`, { client: client(ctx) }));
  }
}
