import { createSecretKey, hkdfSync } from 'node:crypto';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import views from 'koa-views';
import type Provider from 'oidc-provider';
import { accountRouter } from '../interactions/account.ts';
import { interactionRouter } from '../interactions/router.ts';
import { createPasskeySettings } from './account/passkey-settings.ts';
import { createAssertionVerifier } from './auth/passkey/assertion-verifier.ts';
import { CHALLENGE_KIND, createChallenges } from './auth/passkey/challenges.ts';
import { createPasskeyLogin } from './auth/passkey/passkey-login.ts';
import { createPasskeyRegistration } from './auth/passkey/passkey-registration.ts';
import { createPasswordLogin } from './auth/password/password-login.ts';
import { createSmsSender } from './auth/sms-otp/create-sender.ts';
import type { SmsSender } from './auth/sms-otp/sms-sender.ts';
import { createSmsOtp } from './auth/sms-otp/sms-otp.ts';
import type { Config } from './config/load.ts';
import { assetsRouter } from './http/assets.ts';
import { CookieSigner } from './http/cookie-signer.ts';
import { createCsrf } from './http/csrf.ts';
import { errorBoundary, logRequest, pathOf } from './http/error-boundary.ts';
import { healthRouter } from './http/health.ts';
import { localization, pageLanguage } from './http/localize.ts';
import { securityHeaders } from './http/security-headers.ts';
import { wellKnownRouter } from './http/well-known.ts';
import { createLogger, type Logger } from './log.ts';
import { createProvider } from './oidc/provider.ts';
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
};

export type App = {
  /** The HTTP request listener: the provider's endpoints and our pages. */
  handler: RequestListener;
  provider: Provider;
  store: Store;
  logger: Logger;
  /** Runs a round of pruning now (the timer runs them every PRUNE_INTERVAL_SECONDS). */
  prune: ReturnType<typeof startPruning>['runNow'];
  /** Stops background work and closes the store. */
  close(): Promise<void>;
};

/**
 * Sign-ins in progress live minutes: on the embedded store they stay in this process's memory (a
 * restart asks members mid-sign-in to start again), each kind bounded on its own. About 2 KB per
 * interaction; challenges are a few dozen bytes.
 */
const IN_MEMORY_KINDS = { Interaction: 50_000, [CHALLENGE_KIND]: 50_000 };

/** The composition root: opens the store, builds every collaborator once, and assembles the Koa app. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? Date.now;
  const store = options.store ?? (await openStore(config.databaseUrl, {
    clock,
    ensureIndexes: !config.production,
    inMemoryKinds: IN_MEMORY_KINDS,
    serving: true,
    sqliteSynchronous: config.storage.sqliteSynchronous,
  }));
  const cookieSigner = new CookieSigner(config.cookieKeys);
  const provider = createProvider({ config, store, logger, clock, cookieSigner });
  const issuerOrigin = new URL(config.issuer).origin;

  const koa = new Koa({ proxy: config.trustProxy });
  koa.keys = cookieSigner as unknown as string[];
  const csrf = createCsrf(createSecretKey(Buffer.from(config.cookieKeys[0]!, 'utf8')), (ctx) => ctx.secure);
  const passwordLogin = createPasswordLogin({ members: store.members, counters: store.counters, audit: store.audit, limits: config.loginLimits, clock });
  const challenges = createChallenges(store.documents);
  const assertions = createAssertionVerifier();
  const passkeyLogin = createPasskeyLogin({
    settings: config.webauthn,
    members: store.members,
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
    sender: options.smsSender ?? createSmsSender(config.sms, logger, clock),
    clock,
    limits: config.sms.limits,
    hashKey: Buffer.from(hkdfSync('sha256', config.cookieKeys[0]!, '', 'jmb-idp sms-otp', 32)),
    // Origin-bound codes name the host alone: the format has no place for a port.
    issuerHost: new URL(config.issuer).hostname,
  });
  const passkeySettings = createPasskeySettings({
    passkeys: store.passkeys,
    registration: createPasskeyRegistration({ settings: config.webauthn, challenges, clock }),
    audit: store.audit,
    smsOtp,
    clock,
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

  // In the order a request is matched against them: the sign-in steps, which every log-in makes
  // several of, first. No two of them serve the same path.
  const routers = [
    interactionRouter({ provider, store, passwordLogin, passkeyLogin, smsOtp, csrf, issuerOrigin, rpId: config.webauthn.rpId }),
    accountRouter({ provider, store, smsOtp, settings: passkeySettings, csrf, issuer: config.issuer, rpId: config.webauthn.rpId, clock }),
    assetsRouter(path.join(viewsDir, 'assets'), { 'simplewebauthn-browser.js': webauthnBrowser }),
    wellKnownRouter(config),
    healthRouter(store, logger, clock),
  ];
  koa.use(securityHeaders());
  koa.use(render);
  koa.use(localization());
  koa.use(errorBoundary(logger));
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
  const handler: RequestListener = (req, res) => {
    logRequest(logger, req, res, config.trustProxy);
    return ours(req.method ?? 'GET', pathOf(req.url)) ? pages(req, res) : handleOidc(req, res);
  };

  const pruning = startPruning({ store, clock, logger }, {
    everyMs: config.storage.pruneIntervalSeconds * 1000,
    auditRetentionDays: config.storage.auditRetentionDays,
  });

  return {
    handler,
    provider,
    store,
    logger,
    prune: pruning.runNow,
    async close() {
      pruning.stop();
      await assertions.close();
      if (!options.store) await store.close();
    },
  };
}
