import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { RESPONSE_MODES } from '../config/clients.ts';
import type { Config } from '../config/load.ts';
import { limitKeyOf, trustsProxies } from '../http/client-address.ts';
import type { CookieSigner } from '../http/cookie-signer.ts';
import { hrefFromIssuer } from '../http/issuer-origin.ts';
import type { RateLimit } from '../http/rate-limit.ts';
import { rememberedClient } from '../http/return-cookie.ts';
import { retryHref } from '../http/error-boundary.ts';
import type { Logger } from '../log.ts';
import type { Clock, Member, Store } from '../store/port.ts';
import { memberClaims } from '../members/members.ts';
import { accountClient } from './account-client.ts';
import { createOidcAdapter } from './adapter.ts';
import { withoutEmptySessions } from './empty-sessions.ts';
import { budgetPushedRequests } from './pushed-requests.ts';
import { assertClaimsParameter } from './claims-parameter.ts';
import { LOCALIZED_CLIENT_NAMES } from './client-name.ts';
import { continuationOf } from './continuation.ts';
import { supportedAcrValues } from './assurance.ts';
import { acceptAuthorizationPost } from './authorization-post.ts';
import { bareChallengeWithoutCredentials } from './bearer-challenge.ts';
import { CLIENT_AUTH_METHODS, discoveryMetadata, offeredDiscovery } from './discovery.ts';
import { loadFirstPartyGrant } from './grants.ts';
import { LIFETIMES } from './lifetimes.ts';
import { renderLoggedOutAgain, rpInitiatedLogout } from './logout.ts';
import { cacheablePublicDocuments } from './public-documents.ts';
import { MemberUnavailable, refuseSessionOf } from './member-unavailable.ts';
import { PASSKEY_OFFER_METADATA, createPolicy } from './policy.ts';
import type { Jwks } from './provider-keys.ts';
import { revokeOwnTokensOnly } from './revocation-policy.ts';
import { releasableClaims, scopeClaims, withinReleasable } from './scope-claims.ts';
import { passingAsUnavailable, ServiceUnavailable } from './unavailable.ts';

export type ProviderDeps = {
  config: Config;
  /** The keys to publish and sign with, signers marked (provider-keys.ts providerJwks). */
  jwks: Jwks;
  store: Store;
  logger: Logger;
  clock: Clock;
  cookieSigner: CookieSigner;
  /** The client address of the request being served, if any. */
  clientAddress?: () => string | undefined;
  /** Who may be offered a passkey after a password log-in. */
  offerPasskeyTo?: (memberId: string) => Promise<boolean>;
  /** Pushed authorization requests stored, per client and client address (none for tools that serve no requests). */
  pushedRequestLimit?: RateLimit;
  /** Reads a member by id (the app shares one read per request with the log-in methods); the store's when absent. */
  findMember?: (id: string) => Promise<Member | undefined>;
};

/** Builds the oidc-provider instance: code flow with PKCE for every client, first-party grants, our pages. */
export function createProvider({ config, jwks, store, logger, clock, cookieSigner, clientAddress = () => undefined, offerPasskeyTo = async () => false, pushedRequestLimit, findMember }: ProviderDeps): Provider {
  // What a request writes is owned by its network, as the limits count it (an IPv6 /64).
  const documents = createOidcAdapter(store.documents, clock, () => {
    const address = clientAddress();
    return address === undefined ? undefined : limitKeyOf(address);
  });
  const readMember = findMember ?? ((id: string) => store.members.findById(id));
  const configuration: Configuration = {
    adapter: withoutEmptySessions(pushedRequestLimit ? budgetPushedRequests(documents, pushedRequestLimit, clientAddress) : documents),
    clients: [...config.clients, accountClient(config.issuer)] as Configuration['clients'],
    // `jmb_passkey_offer: false` for an app that enrols passkeys in its own UI: no offer after its log-ins.
    // `client_name#ja` and the like: the relying party's name in each language the pages speak.
    extraClientMetadata: {
      properties: [PASSKEY_OFFER_METADATA, ...LOCALIZED_CLIENT_NAMES],
      validator(_ctx, key, value) {
        if (key === PASSKEY_OFFER_METADATA && value !== undefined && typeof value !== 'boolean') {
          throw new errors.InvalidClientMetadata(`${PASSKEY_OFFER_METADATA} must be true or false`);
        }
        if (LOCALIZED_CLIENT_NAMES.includes(key) && value !== undefined && (typeof value !== 'string' || !value.trim())) {
          throw new errors.InvalidClientMetadata(`${key} must be a non-empty string`);
        }
      },
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      response_modes: [...RESPONSE_MODES],
      // OpenID Connect Dynamic Client Registration 1.0 §2: "The default, if omitted, is RS256", the
      // algorithm every OP must offer (Core §15.1), so the one every relying party can count on. Our
      // own clients name ES256 (demo-clients.ts, docs/relying-parties.md).
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    jwks: jwks as Configuration['jwks'],
    cookies: {
      // Koa's cookies take a signer object in place of a key list (see CookieSigner).
      keys: cookieSigner as unknown as string[],
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    async findAccount(ctx, sub) {
      const member = await passingAsUnavailable(() => readMember(sub));
      if (!member || member.status !== 'active') {
        // A session outliving its member's access: ended here, with a page that says why.
        await refuseSessionOf(ctx, sub);
        return undefined;
      }
      // Only what a scope this client may ask for would release: the provider then releases what the
      // scopes, the `claims` parameter (OpenID Connect Core 5.5) and the grant allow, for the ID token
      // and userinfo alike, and a claim asked for one by one beyond the client's scopes is simply not
      // there (Core 5.5.1 lets even an essential one be left out). Checked at every release, so codes
      // and tokens issued before a client's scopes were narrowed obey the narrower list too.
      const client = ctx?.oidc?.client as { scope?: string } | undefined;
      // Without a client to say what it may ask for, nothing beyond `openid`.
      const releasable = releasableClaims(client ? client.scope : 'openid');
      return {
        accountId: member.id,
        async claims() {
          return { ...withinReleasable(memberClaims(member), releasable), sub: member.id };
        },
      };
    },
    claims: { ...scopeClaims, sid: null } as unknown as Configuration['claims'],
    scopes: ['openid', 'offline_access', ...Object.keys(scopeClaims).filter((scope) => scope !== 'openid')],
    acrValues: [...supportedAcrValues],
    // `none` only for the account page's own client (account-client.ts), and not in discovery
    // (discovery.ts); every other client uses `code`.
    responseTypes: ['code', 'none'],
    pkce: { required: () => true },
    enabledJWA: { idTokenSigningAlgValues: ['ES256', 'RS256'], userinfoSigningAlgValues: ['ES256', 'RS256'] },
    discovery: discoveryMetadata(config),
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true, assertClaimsParameter },
      // A client that sets userinfo_signed_response_alg gets a signed JWT; one that does not, plain JSON.
      jwtUserinfo: { enabled: true },
      revocation: { enabled: true, allowedPolicy: revokeOwnTokensOnly },
      // RFC 9126 and RFC 9449, for the apps: a client may require either through its metadata
      // (`require_pushed_authorization_requests`, `dpop_bound_access_tokens`).
      pushedAuthorizationRequests: { enabled: true },
      dPoP: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: rpInitiatedLogout(config.issuer),
    },
    interactions: {
      policy: createPolicy({ offerPasskeyTo }),
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
    ttl: { ...LIFETIMES, RefreshToken: () => LIFETIMES.RefreshToken },
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
      if (error instanceof MemberUnavailable) {
        rendering.status = error.status;
        await rendering.render('error', { page: 'member_unavailable', code: out.error, title: rendering.state.t('error.member_unavailable.title') });
        return;
      }
      if (await renderLoggedOutAgain(ctx, config.issuer)) return;
      const expired = error instanceof errors.SessionNotFound;
      const page = expired ? 'expired' : 'generic';
      rendering.status = expired ? 400 : rendering.status;
      const wayOn = expired ? await continuationOf(ctx.oidc.provider, config.issuer, rememberedClient(ctx)) : undefined;
      await rendering.render('error', {
        page,
        code: expired ? 'interaction_expired' : out.error,
        title: rendering.state.t(expired ? 'error.expired.title' : 'error.title'),
        startAgain: wayOn?.startAgain ?? '/account',
      });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  // The server resolves the client address, removes forwarding headers no trusted proxy set, and
  // pins the request's host to the issuer's (issuer-origin.ts): what Koa still takes from a trusted
  // proxy is `X-Forwarded-Proto`, so that `ctx.secure` (Secure cookies) holds behind TLS termination.
  provider.proxy = trustsProxies(config.protection.trustProxy);
  hrefFromIssuer(provider, config.issuer);
  provider.use(acceptAuthorizationPost(`${config.issuer}/auth`));
  provider.use(offeredDiscovery());
  provider.use(cacheablePublicDocuments());
  provider.use(bareChallengeWithoutCredentials());
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
  for (const name of ['authorization.error', 'grant.error', 'end_session.error', 'introspection.error', 'revocation.error', 'userinfo.error'] as const) {
    (provider.on as (event: string, listener: (ctx: KoaContextWithOIDC, error: Error & { error?: string; error_description?: string }) => void) => void)(name, (ctx, error) => {
      logger.info(`oidc ${name}`, { client: client(ctx), error: error.error ?? error.name, description: error.error_description ?? error.message });
    });
  }
  for (const name of ['grant.success', 'end_session.success', 'grant.revoked', 'interaction.ended'] as const) {
    (provider.on as (event: string, listener: (ctx: KoaContextWithOIDC) => void) => void)(name, (ctx) => logger.info(`oidc ${name}`, { client: client(ctx) }));
  }
  // A back-channel logout names the client it was sent to, which is not the request's.
  provider.on('backchannel.success', (_ctx, notified) => logger.info('oidc backchannel.success', { client: notified.clientId }));
  provider.on('backchannel.error', (_ctx, error, notified) => {
    logger.info('oidc backchannel.error', { client: notified.clientId, error: error.name, description: error.message });
  });
}
