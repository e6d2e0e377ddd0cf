import { AsyncLocalStorage } from 'node:async_hooks';
import { createSecretKey, hkdfSync } from 'node:crypto';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';
import { formPageOf } from '../interactions/form-pages.ts';
import { idpRoutes } from '../interactions/routes.ts';
import { createFreshSms } from './account/fresh-sms.ts';
import { createPasskeyOffer } from './account/passkey-offer.ts';
import { createPasskeySettings } from './account/passkey-settings.ts';
import { assembleMemberSessions, assemblePasswordHasher, assembleProvider, assembleSmsSender } from './assembly.ts';
import { createAssertionVerifier } from './auth/passkey/assertion-verifier.ts';
import { CHALLENGE_KIND, createChallenges } from './auth/passkey/challenges.ts';
import { createPasskeyLogin } from './auth/passkey/passkey-login.ts';
import { createPasskeyRegistration } from './auth/passkey/passkey-registration.ts';
import { createDeviceTrust } from './auth/password/device-trust.ts';
import { createHashQueue } from './auth/password/hash-queue.ts';
import { createPasswordLogin } from './auth/password/password-login.ts';
import type { SmsSender } from './auth/sms-otp/sms-sender.ts';
import { createSmsOtp } from './auth/sms-otp/sms-otp.ts';
import { createSmsWayIn } from './auth/sms-otp/way-in.ts';
import type { Config } from './config/load.ts';
import { createAdmission } from './http/admission.ts';
import { loadAssets } from './http/assets.ts';
import { addressBudgets } from './http/address-budgets.ts';
import { limitKeyOf } from './http/client-address.ts';
import { createCsrf } from './http/csrf.ts';
import { createDispatch, createRefusals, routeMatcher } from './http/dispatch.ts';
import { createReadiness } from './http/health.ts';
import { createPagesApp, createRender } from './http/pages.ts';
import { rememberedClient } from './http/return-cookie.ts';
import { wellKnownDocuments } from './http/well-known.ts';
import { createLogger, type Logger } from './log.ts';
import { memoizeMemberReads, type MemberReads } from './members/member-reads.ts';
import { metricsEndpoint } from './metrics/endpoint.ts';
import { meteredHashQueue, meteredRateLimit, meteredSmsSender } from './metrics/metered.ts';
import { createPrometheusMetrics, type PrometheusMetrics } from './metrics/prometheus.ts';
import { continuationOf } from './oidc/continuation.ts';
import { noteSavedSessions } from './oidc/member-sessions.ts';
import { serveProviderPages } from './oidc/provider-pages.ts';
import { watchSigningKeys } from './oidc/signing-key-watch.ts';
import { replaceProviderKeys } from './oidc/provider-keys.ts';
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

/** The composition root: opens the store, builds every collaborator once, and wires the provider, the pages and the dispatch. */
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
  // The client address of the request being served, worked out once by the server (dispatch.ts):
  // what the request writes counts against that address, and every limit, log and audit entry uses it.
  const serving = new AsyncLocalStorage<string>();
  const clientAddress = () => serving.getStore();
  // The members read while serving a request: findAccount, the log-in methods and the passkey offer
  // share one read of a member per request (see memoizeMemberReads).
  const memberReads = new AsyncLocalStorage<MemberReads>();
  const members = memoizeMemberReads(store.members, () => memberReads.getStore());
  const passkeyOffer = createPasskeyOffer({
    members, passkeys: store.passkeys, counters: store.counters, audit: store.audit, clock, snoozeDays: config.passkeyOffer.snoozeDays, metrics,
  });
  const memberSessions = await assembleMemberSessions(store, clock);
  const issuerOrigin = new URL(config.issuer).origin;

  const csrf = createCsrf(createSecretKey(Buffer.from(config.cookieKeys[0]!, 'utf8')), (ctx) => ctx.secure);
  const derivedKey = (purpose: string) => (secret: string) => Buffer.from(hkdfSync('sha256', secret, '', `jmb-idp ${purpose}`, 32));
  const devices = createDeviceTrust({ keys: config.cookieKeys.map(derivedKey('device-trust')), days: config.loginLimits.deviceCookieDays }, clock);
  const hashing = meteredHashQueue(createHashQueue(protection.hashing), metrics);
  const passwordLogin = createPasswordLogin({
    members, counters: store.counters, audit: store.audit, limits: config.loginLimits, devices, hashing, clock, addressKey: limitKeyOf,
    passwords: assemblePasswordHasher(config.passwordHashing),
  });
  const challenges = createChallenges(store.documents, {
    perBinding: protection.challenges.perSignIn,
    ownerOf: limitKeyOf,
    releaseOnTake: (store.inMemory?.() ?? []).some(({ kind }) => kind === CHALLENGE_KIND),
  });
  const assertions = createAssertionVerifier();
  const passkeyLogin = createPasskeyLogin({
    settings: config.webauthn,
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
    sender: meteredSmsSender(options.smsSender ?? await assembleSmsSender(config.sms, logger, clock), metrics),
    clock,
    limits: config.sms.limits,
    hashKey: derivedKey('sms-otp')(config.cookieKeys[0]!),
    // Origin-bound codes name the host alone: the format has no place for a port.
    issuerHost: new URL(config.issuer).hostname,
    addressKey: limitKeyOf,
    onRefused: metrics.smsRefused,
  });
  // Every change to a member's passkeys needs their phone verified by SMS in the last ten minutes.
  const freshSms = createFreshSms({ documents: store.documents, smsOtp, clock });
  const passkeySettings = createPasskeySettings({
    passkeys: store.passkeys,
    registration: createPasskeyRegistration({ settings: config.webauthn, challenges, clock }),
    audit: store.audit,
    smsOtp,
    freshSms,
    clock,
    metrics,
  });
  const render = createRender(viewsDir);
  // In this process on the embedded store, in the store every instance shares otherwise.
  const budget = addressBudgets(store, clock);
  const pushedRequestLimit = meteredRateLimit(budget('pushed_requests', protection.pushedRequests.perClientAndAddressPerMinute), 'pushed_requests', metrics);
  const { provider, cookieSigner } = await assembleProvider(config, store, {
    logger, clock, clientAddress, pushedRequestLimit,
    findMember: members.findById,
    offerPasskeyTo: config.passkeyOffer.enabled ? passkeyOffer.eligible : async () => false,
  });
  // Where each member is logged in: noted whenever one of their sessions is saved.
  noteSavedSessions(provider, memberSessions, { clientAddress, logger });
  provider.on('end_session.success', () => metrics.logout());
  serveProviderPages(provider, { render, logger, clientAddress });
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

  const passkeyOptionsLimit = meteredRateLimit(budget('passkey_options', protection.perAddressPerMinute.passkeyOptions), 'passkey_options', metrics);
  const signInStartLimit = meteredRateLimit(budget('signin_starts', protection.perAddressPerMinute.signInStarts), 'signin_starts', metrics);
  const admission = createAdmission(protection.shedding);
  const device = { trust: devices, days: config.loginLimits.deviceCookieDays };
  const routes = idpRoutes({
    provider, store, passwordLogin, passkeyLogin, smsOtp, csrf, issuer: config.issuer, issuerOrigin, rpId: config.webauthn.rpId, passkeyOptionsLimit, device, clock,
    wayIn: createSmsWayIn({ members: store.members, counters: store.counters, smsOtp }),
    offer: passkeyOffer, settings: passkeySettings, freshSms, sessions: memberSessions, metrics, help: config.help, production: config.production,
    assets: loadAssets(path.join(viewsDir, 'assets'), { 'simplewebauthn-browser.js': webauthnBrowser }),
    wellKnown: wellKnownDocuments(config),
    readiness,
  });
  const refusals = createRefusals();
  const pages = createPagesApp({
    trustProxy: protection.trustProxy, cookieSigner, logger, render, clientAddress, refusals, routes, formPageOf,
    // An expired sign-in offers "Start again" at the relying party the member came from.
    startAgainFor: async (ctx) => (await continuationOf(provider, config.issuer, rememberedClient(ctx)))?.startAgain,
  });

  const handler = createDispatch({
    issuer: config.issuer,
    trustProxy: protection.trustProxy,
    pushedRequestMaxBytes: protection.pushedRequests.maxBytes,
    logger,
    metrics,
    admission,
    signInStartLimit,
    cookieSigner,
    documents: store.documents,
    ours: routeMatcher(routes),
    pages: pages.callback(),
    oidc: provider.callback(),
    refusals,
    // Each request runs with its client address and its own member reads.
    inRequest: (address, serve) => memberReads.run(new Map(), () => serving.run(address, serve)),
  });

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
