import { AsyncLocalStorage } from 'node:async_hooks';
import { createSecretKey, hkdfSync } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import views from 'koa-views';
import Provider from 'oidc-provider';
import { accountRouter } from '../interactions/account.ts';
import { formPageOf } from '../interactions/form-pages.ts';
import { interactionRouter } from '../interactions/router.ts';
import { createPasskeyOffer } from './account/passkey-offer.ts';
import { createPasskeySettings } from './account/passkey-settings.ts';
import { createAssertionVerifier } from './auth/passkey/assertion-verifier.ts';
import { CHALLENGE_KIND, createChallenges } from './auth/passkey/challenges.ts';
import { createPasskeyLogin } from './auth/passkey/passkey-login.ts';
import { createPasskeyRegistration } from './auth/passkey/passkey-registration.ts';
import { createDeviceTrust } from './auth/password/device-trust.ts';
import { createHashQueue } from './auth/password/hash-queue.ts';
import { createPasswordLogin } from './auth/password/password-login.ts';
import { createSmsSender } from './auth/sms-otp/create-sender.ts';
import type { SmsSender } from './auth/sms-otp/sms-sender.ts';
import { createSmsOtp } from './auth/sms-otp/sms-otp.ts';
import type { Config } from './config/load.ts';
import { busyRefusal, createAdmission, overBudget, signedSessionId } from './http/admission.ts';
import { assetsRouter } from './http/assets.ts';
import { providerBodyRefusal } from './http/body-limits.ts';
import { addressBudgets } from './http/address-budgets.ts';
import { createClientAddress, limitKeyOf, trustsProxies } from './http/client-address.ts';
import { CookieSigner } from './http/cookie-signer.ts';
import { pinToIssuer } from './http/issuer-origin.ts';
import { createCsrf } from './http/csrf.ts';
import { errorBoundary, logRequest } from './http/error-boundary.ts';
import { createReadiness, healthRouter } from './http/health.ts';
import { localization, pageLanguage } from './http/localize.ts';
import { isAuthorizationRequest, isEndSessionRequest, toOriginForm } from './http/request-target.ts';
import { rememberedClient } from './http/return-cookie.ts';
import { securityHeaders } from './http/security-headers.ts';
import { wellKnownRouter } from './http/well-known.ts';
import { createLogger, type Logger } from './log.ts';
import { memoizeMemberReads, type MemberReads } from './members/member-reads.ts';
import { createPasswordHasher } from './members/password.ts';
import { metricsEndpoint } from './metrics/endpoint.ts';
import { meteredHashQueue, meteredRateLimit, meteredSmsSender } from './metrics/metered.ts';
import { createPrometheusMetrics, type PrometheusMetrics } from './metrics/prometheus.ts';
import { observeRequest } from './metrics/request-metrics.ts';
import { continuationOf } from './oidc/continuation.ts';
import { createMemberSessions } from './oidc/member-sessions.ts';
import { createProvider } from './oidc/provider.ts';
import { watchSigningKeys } from './oidc/signing-key-watch.ts';
import { replaceProviderKeys } from './oidc/provider-keys.ts';
import { providerJwks } from './oidc/signing-keys.ts';
import { openStore } from './store/open.ts';
import type { Clock, Store } from './store/port.ts';
import { startPruning } from './store/pruning.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const viewsDir = path.join(root, 'views');
// The browser half of SimpleWebAuthn, served from the IdP's own origin (no CDN).
const webauthnBrowser = path.join(root, 'node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js');

export type AppOptions = {
  logger?: Logger;
  clock?: Clock;
  /** An already open store (tests share one between app and assertions). */
  store?: Store;
  /** Replaces the SMS transport SMS_TRANSPORT names (tests keep messages in memory). */
  smsSender?: SmsSender;
  /** How often the signing key store is read again (SIGNING_KEY_CHECK_SECONDS unless a test says otherwise). */
  signingKeyCheckMs?: number;
};

export type App = {
  /** The HTTP request listener: the provider's endpoints and our pages. */
  handler: RequestListener;
  provider: Provider;
  /** Reads the signing key store now, as the IdP does every minute; resolves once any change is in effect. */
  checkSigningKeys(): Promise<void>;
  store: Store;
  logger: Logger;
  /** The metrics listener's request handler (`GET /metrics`), for its own port: never the public one. */
  metricsHandler: RequestListener;
  /** What the metrics listener serves, for a cluster's primary to gather from each worker. */
  metricsRegistry: PrometheusMetrics['registry'];
  /** Runs a round of pruning now (the timer runs them every PRUNE_INTERVAL_SECONDS). */
  prune: ReturnType<typeof startPruning>['runNow'];
  /** What admission is deciding on now: requests being worked on, requests whose bodies are still arriving, event-loop delay. */
  load(): { inFlight: number; waiting: number; eventLoopDelayMs: number };
  /** Stops background work and closes the store. */
  close(): Promise<void>;
};

// Members with passkeys are counted in the store this often (a scan of the passkeys' member index);
// in between, this instance adjusts the figure for the passkeys it adds and deletes itself.
const RECOUNT_PASSKEY_MEMBERS_EVERY_MS = 30 * 60 * 1000;
// The provider's endpoints a browser visits (authorization, log-out): their refusals are pages.
const BROWSER_ENDPOINTS = /^\/(auth|session\/end)(\/|$)/i;

/** The composition root: opens the store, builds every collaborator once, and assembles the Koa app. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? Date.now;
  const { protection } = config;
  // Sign-ins in progress live minutes: on the embedded store they stay in this process's memory (a
  // restart asks members mid-sign-in to start again), each kind within its own bounds. About 2 KB
  // per interaction; challenges are a few dozen bytes. Pushed authorization requests live a minute
  // and are as short-lived as anything a client can make without a member: they stay in memory too,
  // never in the file, and are gone (on MongoDB, removed by its expiry index) once they expire.
  const signInKinds = {
    Interaction: protection.signIns,
    [CHALLENGE_KIND]: protection.challenges,
    PushedAuthorizationRequest: protection.pushedRequests.held,
  };
  // Built before the store, which reports its commits to it; what it reads from the store it reads
  // only when scraped.
  const prometheus = createPrometheusMetrics({
    ready: () => readiness.ready(),
    countMembersWithPasskeys: () => store.passkeys.countMembers(),
    signInsInMemory: () => store.inMemory?.() ?? [],
    walBytes: () => store.walBytes?.(),
    storeStatements: () => store.statementsRun?.(),
    storeRoundTrips: () => store.roundTripsRun?.(),
  }, { smsPricePerSegment: config.operations.smsPricePerSegment });
  const { metrics } = prometheus;
  const store = options.store ?? (await openStore(config.databaseUrl, {
    clock,
    ensureIndexes: !config.production,
    poolSize: config.storage.databasePoolSize,
    preparedStatements: config.storage.databasePreparedStatements,
    signInKinds,
    serving: true,
    sqliteSynchronous: config.storage.sqliteSynchronous,
    commits: { committed: metrics.storeCommit, failed: metrics.storeFailed },
  }));
  const readiness = createReadiness(store, logger, clock);
  const cookieSigner = new CookieSigner(config.cookieKeys);
  // The client address of the request being served, worked out once by the server (see handler):
  // what the request writes counts against that address, and every limit, log and audit entry uses it.
  const serving = new AsyncLocalStorage<string>();
  // The members read while serving a request: findAccount, the log-in methods and the passkey offer
  // share one read of a member per request (see memoizeMemberReads).
  const memberReads = new AsyncLocalStorage<MemberReads>();
  const members = memoizeMemberReads(store.members, () => memberReads.getStore());
  const passkeyOffer = createPasskeyOffer({
    members, passkeys: store.passkeys, counters: store.counters, audit: store.audit, clock, snoozeDays: config.passkeyOffer.snoozeDays, metrics,
  });
  // Where each member is logged in: noted whenever one of their sessions is saved.
  const memberSessions = createMemberSessions({ documents: store.documents, audit: store.audit, clock });
  const issuerOrigin = new URL(config.issuer).origin;

  const koa = new Koa({ proxy: trustsProxies(protection.trustProxy) });
  koa.keys = cookieSigner as unknown as string[];
  // What Koa reports after the error boundary (a response that could not be written, mostly to a
  // client already gone) is a log line like any other, never text on standard error.
  const undelivered = (error: Error & { code?: string }) => logger.info('response not delivered', { reason: error.code ?? error.message });
  koa.on('error', undelivered);
  const csrf = createCsrf(createSecretKey(Buffer.from(config.cookieKeys[0]!, 'utf8')), (ctx) => ctx.secure);
  const derivedKey = (purpose: string) => (secret: string) => Buffer.from(hkdfSync('sha256', secret, '', `jmb-idp ${purpose}`, 32));
  const devices = createDeviceTrust({ keys: config.cookieKeys.map(derivedKey('device-trust')), days: config.loginLimits.deviceCookieDays }, clock);
  const hashing = meteredHashQueue(createHashQueue(protection.hashing), metrics);
  const passwordLogin = createPasswordLogin({
    members, counters: store.counters, audit: store.audit, limits: config.loginLimits, devices, hashing, clock, addressKey: limitKeyOf,
    passwords: createPasswordHasher(config.passwordHashing),
  });
  const challenges = createChallenges(store.documents, { perBinding: protection.challenges.perSignIn, ownerOf: limitKeyOf });
  const assertions = createAssertionVerifier();
  const passkeyLogin = createPasskeyLogin({
    settings: config.webauthn,
    members,
    passkeys: store.passkeys,
    challenges,
    audit: store.audit,
    clock,
    verify: assertions.verify,
  });
  const smsOtp = createSmsOtp({
    documents: store.documents,
    counters: store.counters,
    audit: store.audit,
    sender: meteredSmsSender(options.smsSender ?? createSmsSender(config.sms, logger, clock), metrics),
    clock,
    limits: config.sms.limits,
    hashKey: derivedKey('sms-otp')(config.cookieKeys[0]!),
    // Origin-bound codes name the host alone: the format has no place for a port.
    issuerHost: new URL(config.issuer).hostname,
    addressKey: limitKeyOf,
    onRefused: metrics.smsRefused,
  });
  const passkeySettings = createPasskeySettings({
    passkeys: store.passkeys,
    registration: createPasskeyRegistration({ settings: config.webauthn, challenges, clock }),
    audit: store.audit,
    smsOtp,
    clock,
    metrics,
  });
  // Templates are compiled once and kept: they do not change while the IdP runs. Partials are
  // included by absolute path from `root`, which ejs resolves without looking on disk.
  const templates = views(viewsDir, { extension: 'ejs', options: { cache: true, root: viewsDir } });
  // koa-views first looks for a file named exactly as given, then adds the extension: naming the
  // file spares every page a failed disk lookup.
  const render: Koa.Middleware = (ctx, next) => templates(ctx, () => {
    const byName = ctx.render;
    ctx.render = (name, locals) => byName(`${name}.ejs`, { ...pageLanguage(ctx.state), ...locals });
    return next();
  });

  // Every request's client address, worked out once by the server (see handler below).
  const useClientAddress: Koa.Middleware = (ctx, next) => {
    ctx.request.ip = serving.getStore() ?? ctx.request.ip;
    return next();
  };
  // In this process on the embedded store, in the store every instance shares otherwise.
  const budget = addressBudgets(store, clock);
  const pushedRequestLimit = meteredRateLimit(budget('pushed_requests', protection.pushedRequests.perClientAndAddressPerMinute), 'pushed_requests', metrics);
  const provider = createProvider({
    config, jwks: providerJwks(config.jwks, clock()), store, logger, clock, cookieSigner, clientAddress: () => serving.getStore(), pushedRequestLimit,
    findMember: members.findById,
    offerPasskeyTo: config.passkeyOffer.enabled ? passkeyOffer.eligible : async () => false,
  });
  provider.on('session.saved', (session: { accountId?: string; uid: string; exp?: number; new?: boolean }) => {
    if (!session.accountId) return;
    const ctx = (Provider as unknown as { ctx?: Koa.Context }).ctx;
    const seen = { userAgent: ctx?.get('user-agent') || undefined, ip: serving.getStore() };
    memberSessions.touch(session.accountId, session.uid, new Date((session.exp ?? 0) * 1000), seen, session.new === true)
      .catch((error: unknown) => logger.warn('a session could not be noted for its member', { error }));
  });
  provider.on('end_session.success', () => metrics.logout());
  // The same for the provider's responses (a connection the server closed at its request timeout).
  (provider as unknown as Koa).on('error', undelivered);
  // The provider renders its own pages (errors, log-out) with the same templates and language.
  provider.use(securityHeaders());
  provider.use(render);
  provider.use(localization());
  // What escapes the provider's own error handling (a session that cannot be saved once the
  // response is ready) gets our pages too, never Koa's plain-text error.
  provider.use(errorBoundary(logger));
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      await ctx.render('error', { page: 'notfound', code: 'not_found', title: ctx.state.t('error.title') });
    }
  });
  provider.use(useClientAddress);
  // A rotation's keys are published, a key starts signing at its time, a retired key is withdrawn:
  // read from the key store every SIGNING_KEY_CHECK_SECONDS (a minute) and applied to the running
  // provider, never before a key's `signs_from`.
  const signingKeys = watchSigningKeys({
    file: config.jwksFile,
    initial: config.jwks,
    clock,
    everyMs: options.signingKeyCheckMs ?? config.operations.signingKeyCheckSeconds * 1000,
    onChange(jwks) {
      replaceProviderKeys(provider, jwks);
      logger.info('signing keys changed', { signing: jwks.keys.filter((key) => !key.key_ops).map((key) => key.kid), published: jwks.keys.length });
    },
    onError(problem, error) {
      metrics.signingKeysReloadFailed();
      logger.error('signing keys not reloaded: the IdP keeps signing with the keys it has', { problem, ...(error !== undefined && { error }) });
    },
  });

  // In the order a request is matched against them: the sign-in steps, which every log-in makes
  // several of, first. No two of them serve the same path.
  const passkeyOptionsLimit = meteredRateLimit(budget('passkey_options', protection.perAddressPerMinute.passkeyOptions), 'passkey_options', metrics);
  const signInStartLimit = meteredRateLimit(budget('signin_starts', protection.perAddressPerMinute.signInStarts), 'signin_starts', metrics);
  const admission = createAdmission(protection.shedding);
  const device = { trust: devices, days: config.loginLimits.deviceCookieDays };
  const routers = [
    interactionRouter({ provider, store, passwordLogin, passkeyLogin, smsOtp, csrf, issuerOrigin, rpId: config.webauthn.rpId, passkeyOptionsLimit, device, clock,
      offer: passkeyOffer, settings: passkeySettings, metrics, help: config.help, production: config.production }),
    accountRouter({ provider, store, smsOtp, settings: passkeySettings, csrf, issuer: config.issuer, rpId: config.webauthn.rpId, clock, sessions: memberSessions }),
    assetsRouter(path.join(viewsDir, 'assets'), { 'simplewebauthn-browser.js': webauthnBrowser }),
    wellKnownRouter(config),
    healthRouter(store, logger, clock, readiness),
  ];
  const refusals = new WeakMap<IncomingMessage, { error: Error; json: boolean }>();
  koa.use(useClientAddress);
  koa.use(securityHeaders());
  koa.use(render);
  koa.use(localization());
  // An expired sign-in offers "Start again" at the relying party the member came from.
  // A refused form post leads back to the page the form was on.
  koa.use(errorBoundary(logger, async (ctx) => (await continuationOf(provider, config.issuer, rememberedClient(ctx)))?.startAgain, formPageOf));
  // A request the server refused before it reached the provider gets its page here (JSON for the
  // provider's endpoints that browsers do not visit).
  koa.use((ctx, next) => {
    const refusal = refusals.get(ctx.req);
    if (!refusal) return next();
    if (refusal.json) ctx.state.json = true;
    throw refusal.error;
  });
  for (const router of routers) koa.use(router.routes()).use(router.allowedMethods());

  // Every other path is the OIDC provider's (discovery, /auth, /token, /jwks, /session/end, …). It goes
  // to the provider straight from the server: the provider has its own headers, pages and errors.
  const pages = koa.callback();
  const handleOidc = provider.callback();
  // Most requests are the provider's (/auth, /token): the first path segment rules them out cheaply.
  const firstSegment = (path: string) => path.split('/', 2)[1] ?? '';
  const ourPaths = routers.flatMap((router) => router.stack.map((layer) => layer.path));
  const literal = (p: string | RegExp): p is string => typeof p === 'string' && /^[\w.-]*$/.test(firstSegment(p));
  const ourSegments = ourPaths.every(literal) ? new Set(ourPaths.map(firstSegment)) : undefined;
  const ours = (method: string, path: string) => (ourSegments?.has(firstSegment(path)) ?? true)
    && routers.some((router) => router.match(path, method).path.length > 0);
  const clientAddress = createClientAddress(protection.trustProxy);
  const pinned = pinToIssuer(config.issuer);
  // Each request runs with its client address and its own member reads.
  const serve = (address: string, listener: RequestListener, req: IncomingMessage, res: ServerResponse) =>
    memberReads.run(new Map(), () => serving.run(address, listener, req, res));
  const refuse = (req: IncomingMessage, res: ServerResponse, address: string, error: Error, options: { json: boolean; close: boolean }) => {
    refusals.set(req, { error, json: options.json });
    // Refused unread: the connection is closed rather than kept for a body it would have to read.
    if (options.close) res.setHeader('Connection', 'close');
    return serve(address, pages, req, res);
  };
  // Whether a validly signed session cookie names a session a member is logged in with. A signature
  // proves only that the IdP once set the cookie: a logged-out or expired session's cookie keeps it.
  // One look-up by primary key, the one the provider makes next, and only for a signed cookie.
  const liveSession = async (req: IncomingMessage) => {
    const id = signedSessionId(req, cookieSigner);
    const session = id === undefined ? undefined : await store.documents.find('Session', id).catch(() => undefined);
    return typeof session?.accountId === 'string';
  };
  // An authorization request from a member with a live session usually returns to the relying party
  // at once: it passes. Every other one, whatever its cookies and however its target is written,
  // waits while the IdP is saturated and counts against its address's budget. A form post is
  // answered with the same request by GET (authorization-post.ts), which is the one counted.
  const admitAuthorization = async (req: IncomingMessage, res: ServerResponse, address: string, key: string) => {
    let refusal: Error | undefined;
    if (!(await liveSession(req))) {
      if (admission.busy()) {
        metrics.shed('new_signin');
        refusal = busyRefusal();
      }
      // A budget the store cannot count right now is answered like any store failure: the page's 503.
      refusal ??= await overBudget(signInStartLimit, key, 'sign-ins started').catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    }
    if (refusal) return refuse(req, res, address, refusal, { json: false, close: false });
    return serve(address, handleOidc, req, res);
  };
  // A log-out without a live session has nobody to log out, yet oidc-provider keeps a short-lived
  // record for its confirmation form: such requests count against the same budget as sign-ins started.
  const admitEndSession = async (req: IncomingMessage, res: ServerResponse, address: string, key: string) => {
    const refusal: Error | undefined = (await liveSession(req)) ? undefined
      : await overBudget(signInStartLimit, key, 'log-outs without a session').catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    if (refusal) return refuse(req, res, address, refusal, { json: false, close: false });
    return serve(address, handleOidc, req, res);
  };
  const handler: RequestListener = (req, res) => {
    pinned(req);
    const address = clientAddress(req);
    logRequest(logger, req, res, address);
    const path = toOriginForm(req);
    observeRequest(metrics, res, path);
    const key = limitKeyOf(address);
    const page = ours(req.method ?? 'GET', path);
    const overShare = admission.admit(req, res, key);
    if (overShare) metrics.rateLimited('in_flight');
    const refused = overShare ?? (page ? undefined : providerBodyRefusal(req, path, protection.pushedRequests.maxBytes));
    if (refused) return refuse(req, res, address, refused, { json: !page && !BROWSER_ENDPOINTS.test(path), close: true });
    if (page) return serve(address, pages, req, res);
    if (isAuthorizationRequest(req.method, path) && req.method !== 'POST') {
      return void admitAuthorization(req, res, address, key).catch((error: unknown) => {
        logger.error('request failed', { method: req.method, path, error });
        res.destroy();
      });
    }
    if (isEndSessionRequest(req.method, path)) {
      return void admitEndSession(req, res, address, key).catch((error: unknown) => {
        logger.error('request failed', { method: req.method, path, error });
        res.destroy();
      });
    }
    return serve(address, handleOidc, req, res);
  };

  const pruning = startPruning({ store, clock, logger }, {
    everyMs: config.storage.pruneIntervalSeconds * 1000,
    auditRetentionDays: config.storage.auditRetentionDays,
    shared: store.kind !== 'sqlite',
  });
  const recountPasskeyMembers = () => prometheus.recountMembersWithPasskeys()
    .catch((error: unknown) => logger.warn('counting members with passkeys failed', { error }));
  void recountPasskeyMembers();
  const recounting = setInterval(recountPasskeyMembers, RECOUNT_PASSKEY_MEMBERS_EVERY_MS);
  recounting.unref();

  return {
    handler,
    provider,
    checkSigningKeys: signingKeys.check,
    store,
    logger,
    metricsHandler: metricsEndpoint(prometheus.registry, config.operations.metricsToken, logger),
    metricsRegistry: prometheus.registry,
    prune: pruning.runNow,
    load: admission.load,
    async close() {
      pruning.stop();
      clearInterval(recounting);
      signingKeys.close();
      admission.close();
      await assertions.close();
      if (!options.store) await store.close();
    },
  };
}
