import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import * as client from 'openid-client';
import { createLogger, type Logger } from '../src/log.ts';
import { isSameOrigin, readForm } from './http.ts';
import { createIdpConnector, IdpUnavailableError, type IdpConnection, type IdpOptions } from './idp-connection.ts';
import { InvalidLogoutTokenError, verifyLogoutToken } from './logout-token.ts';
import { messagePage, notices, signedInPage, signedOutPage, type Notice } from './pages.ts';
import { createSessions, type Sessions, type SignedIn } from './sessions.ts';

export type DemoSiteOptions = IdpOptions & {
  /** 0 picks a free port; the site's URL (and so its redirect URI) follows the port it got. */
  port: number;
  /** The interface to listen on; all of them by default. */
  host?: string;
  logger?: Logger;
};

/** A running demo website. */
export type DemoSite = {
  /** Its origin, e.g. http://localhost:3001; the redirect URI is `${url}/callback`. */
  url: string;
  close(): Promise<void>;
};

const COOKIE = 'jmb_demo_site';
const SCOPE = 'openid profile phone jmb';

type SiteDeps = {
  url: string;
  clientId: string;
  connect: () => Promise<IdpConnection>;
  issuer: () => string | undefined;
  sessions: Sessions;
  logger: Logger;
};

/**
 * Starts the "JMB website" demo relying party: log-in with authorization code + PKCE, the member's
 * details, RP-initiated and back-channel logout. The IdP is discovered on first use.
 */
export async function createDemoSite(options: DemoSiteOptions): Promise<DemoSite> {
  const logger = options.logger ?? createLogger('info');
  let issuer: string | undefined;
  Promise.resolve(options.issuer).then((value) => { issuer = value; }, () => undefined);

  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  const koa = demoApp({ url, clientId: options.clientId, connect: createIdpConnector(options), issuer: () => issuer, sessions: createSessions(), logger });
  server.on('request', koa.callback());

  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function demoApp(deps: SiteDeps): Koa {
  const router = new Router();
  router.get('/', (ctx) => showHome(ctx, deps));
  router.post('/login', (ctx) => startLogin(ctx, deps));
  router.get('/login', (ctx) => initiateLogin(ctx, deps));
  router.get('/callback', (ctx) => finishLogin(ctx, deps));
  router.post('/logout', (ctx) => logOut(ctx, deps));
  router.post('/backchannel-logout', (ctx) => backchannelLogout(ctx, deps));

  const koa = new Koa();
  koa.use(pageBoundary(deps.logger));
  koa.use(router.routes()).use(router.allowedMethods());
  return koa;
}

function showHome(ctx: Context, { sessions, issuer, clientId }: SiteDeps): void {
  // Back from the IdP's log-out: only the state this browser left with says the IdP logged it out.
  // Without it (the member chose "Stay logged in") the member stays logged in here too.
  if (typeof ctx.query.state === 'string' && sessions.finishLogout(ctx.cookies.get(COOKIE), ctx.query.state)) {
    setCookie(ctx, undefined);
    return goHome(ctx, 'logged-out');
  }
  const session = sessions.find(ctx.cookies.get(COOKIE));
  const asked = String(ctx.query.notice ?? '');
  const notice = Object.hasOwn(notices, asked) ? (asked as Notice) : undefined;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = session ? signedInPage({ session, issuer: issuer() ?? '', clientId }) : signedOutPage({ issuer: issuer(), notice });
}

async function startLogin(ctx: Context, deps: SiteDeps): Promise<void> {
  if (!isSameOrigin(ctx, deps.url)) return refuseCrossSite(ctx);
  deps.sessions.end(ctx.cookies.get(COOKIE));
  await beginLogin(ctx, deps);
}

/**
 * GET /login?iss=…: a log-in started by the IdP (OpenID Connect third-party-initiated log-in, this
 * client's `initiate_login_uri`), e.g. "Start again" on an expired sign-in. Only for our own IdP;
 * a member who is already logged in just goes home.
 */
async function initiateLogin(ctx: Context, deps: SiteDeps): Promise<void> {
  const expected = deps.issuer();
  if (!expected || ctx.query.iss !== expected) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = messagePage('Log-in refused', 'This log-in was not started by the JMB IdP.');
    return;
  }
  if (deps.sessions.find(ctx.cookies.get(COOKIE))) return redirect(ctx, '/');
  await beginLogin(ctx, deps);
}

async function beginLogin(ctx: Context, { url, connect, sessions }: SiteDeps): Promise<void> {
  const connection = await connect().catch(() => undefined);
  if (!connection) return goHome(ctx, 'unavailable');

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  setCookie(ctx, sessions.beginLogin({ verifier, state, nonce }));
  const authorization = client.buildAuthorizationUrl(connection.config, {
    redirect_uri: `${url}/callback`,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  redirect(ctx, authorization.href);
}

async function finishLogin(ctx: Context, { url, connect, sessions, logger }: SiteDeps): Promise<void> {
  const checks = sessions.takeLogin(ctx.cookies.get(COOKIE));
  setCookie(ctx, undefined);
  if (!checks) return goHome(ctx, ctx.query.error === 'access_denied' ? 'cancelled' : 'expired');
  const connection = await connect().catch(() => undefined);
  if (!connection) return goHome(ctx, 'unavailable');

  let session: SignedIn;
  try {
    // Checks the iss parameter, state, PKCE, and the ID token's signature, audience and nonce.
    const tokens = await client.authorizationCodeGrant(connection.config, new URL(`/callback${ctx.search}`, url), {
      pkceCodeVerifier: checks.verifier,
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    const userinfo = await client.fetchUserInfo(connection.config, tokens.access_token, claims.sub);
    session = {
      sub: claims.sub,
      sid: typeof claims.sid === 'string' ? claims.sid : undefined,
      idToken: tokens.id_token!,
      name: typeof userinfo.name === 'string' ? userinfo.name : undefined,
      memberNumber: typeof userinfo.jmb_member_number === 'string' ? userinfo.jmb_member_number : undefined,
      acr: typeof claims.acr === 'string' ? claims.acr : undefined,
      amr: Array.isArray(claims.amr) ? claims.amr.filter((method) => typeof method === 'string') : [],
      authTime: typeof claims.auth_time === 'number' ? claims.auth_time : undefined,
    };
  } catch (error) {
    if (error instanceof client.AuthorizationResponseError) {
      logger.info('demo site: log-in ended without a code', { error: error.error });
      return goHome(ctx, error.error === 'access_denied' ? 'cancelled' : 'failed');
    }
    logger.warn('demo site: log-in failed', { error });
    return goHome(ctx, 'failed');
  }
  setCookie(ctx, sessions.signIn(session));
  redirect(ctx, '/');
}

/**
 * "Log out": to the IdP's log-out with the member's ID token and a fresh `state`. The website's
 * session lasts until the IdP sends the member back with that state (or ends it by the back channel),
 * so that a member who chooses "Stay logged in" at the IdP is still logged in here.
 */
async function logOut(ctx: Context, { url, connect, sessions }: SiteDeps): Promise<void> {
  if (!isSameOrigin(ctx, url)) return refuseCrossSite(ctx);
  const key = ctx.cookies.get(COOKIE);
  const session = sessions.find(key);
  if (!key || !session) {
    setCookie(ctx, undefined);
    return goHome(ctx, undefined);
  }
  const connection = await connect().catch(() => undefined);
  if (!connection) {
    // Logged out here at least; the IdP session ends when the member next reaches it.
    sessions.end(key);
    setCookie(ctx, undefined);
    return goHome(ctx, 'logged-out');
  }
  const state = client.randomState();
  sessions.beginLogout(key, state);
  const endSession = client.buildEndSessionUrl(connection.config, { id_token_hint: session.idToken, post_logout_redirect_uri: `${url}/`, state });
  redirect(ctx, endSession.href);
}

async function backchannelLogout(ctx: Context, { clientId, connect, sessions, logger }: SiteDeps): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  const refuse = (description: string) => {
    logger.info('demo site: back-channel logout refused', { reason: description });
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: description };
  };
  const form = await readForm(ctx);
  if (!form) return refuse('expected an application/x-www-form-urlencoded body of at most 16 KiB');
  const token = form.get('logout_token');
  if (!token) return refuse('expected a logout_token');
  let connection: IdpConnection;
  try {
    connection = await connect();
  } catch (error) {
    if (!(error instanceof IdpUnavailableError)) throw error;
    ctx.status = 503;
    ctx.body = { error: 'temporarily_unavailable', error_description: 'the IdP could not be discovered' };
    return;
  }
  try {
    const target = await verifyLogoutToken(token, { issuer: connection.issuer, clientId, keys: connection.keys, algorithms: connection.algorithms });
    const ended = sessions.endMatching(target);
    logger.info('demo site: back-channel logout', { ended });
  } catch (error) {
    if (error instanceof InvalidLogoutTokenError) return refuse(error.message);
    throw error;
  }
  ctx.status = 200;
  ctx.body = '';
}

function setCookie(ctx: Context, key: string | undefined): void {
  // Only a random key: the verifier, tokens and member details stay on the server.
  ctx.cookies.set(COOKIE, key ?? null, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: '/', signed: false, overwrite: true });
}

function goHome(ctx: Context, notice: Notice | undefined): void {
  redirect(ctx, notice ? `/?notice=${notice}` : '/');
}

function redirect(ctx: Context, location: string): void {
  ctx.redirect(location);
  ctx.status = 303;
}

function refuseCrossSite(ctx: Context): void {
  ctx.status = 403;
  ctx.type = 'html';
  ctx.body = messagePage('Refused', 'This request did not come from the JMB website, so it was refused.');
}

// One boundary: security headers on every answer, a plain page for a miss, and no stack trace ever.
function pageBoundary(logger: Logger): Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', "default-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Content-Type-Options', 'nosniff');
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.type = 'html';
        ctx.body = messagePage('Not found', 'There is no such page on the JMB website.');
      }
    } catch (error) {
      logger.error('demo site: request failed', { method: ctx.method, path: ctx.path, error });
      ctx.status = 500;
      ctx.type = 'html';
      ctx.body = messagePage('Something went wrong', 'Something went wrong on the JMB website. Please go back and try again.');
    }
  };
}
