/**
 * The ceiling for this stack: a stock oidc-provider (the IdP's own dependency, same version) with its
 * default in-memory adapter, the same client, PKCE required and ES256 ID tokens, and an interaction
 * route whose "log-in" checks nothing. It answers the same six requests as a passkey log-in:
 *
 *   GET  /auth?…                              → 303 /interaction/:uid        (oidc-provider)
 *   GET  /interaction/:uid                    → 200 a tiny page               (here)
 *   POST /interaction/:uid/passkey/options    → 200 {challenge, …}            (here, random)
 *   POST /interaction/:uid/passkey            → 200 {redirectTo}              (here, accepts anything)
 *   GET  /auth/:uid                           → 303 redirect_uri?code=…       (oidc-provider)
 *   POST /token                               → 200 {id_token, access_token}  (oidc-provider)
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';
import { BENCH_CLIENT, BENCH_RP_ID, listenOnLoopback, serveParent } from './common.ts';

// Stock oidc-provider announces its development defaults (in-memory adapter, default functions) on
// the console; they are expected here and would only clutter the benchmark's output.
console.warn = () => {};
console.info = () => {};

const ACCOUNT_ID = 'bench-member';

const server = createServer();
const port = await listenOnLoopback(server);
const issuer = `http://localhost:${port}`;

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const configuration: Configuration = {
  clients: [BENCH_CLIENT] as Configuration['clients'],
  jwks: { keys: [{ ...signingKey, kid: 'bench-es256', alg: 'ES256', use: 'sig' }] } as Configuration['jwks'],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  claims: { openid: ['sub'], profile: ['name'] },
  async findAccount(_ctx, sub) {
    return { accountId: sub, async claims() { return { sub, name: 'Bench Member' }; } };
  },
};
const provider = new Provider(issuer, configuration);
const handleOidc = provider.callback();

server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  const match = /^\/interaction\/([\w-]+)(\/[\w/]*)?(?:\?.*)?$/.exec(req.url ?? '');
  if (!match) {
    void handleOidc(req, res);
    return;
  }
  interaction(req, res, match[2] ?? '').catch((error: unknown) => {
    if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: 'server_error', error_description: String(error) }));
  });
});

async function interaction(req: IncomingMessage, res: ServerResponse, step: string): Promise<void> {
  if (req.method === 'GET' && step === '') {
    const details = await provider.interactionDetails(req, res);
    send(res, 200, 'text/html; charset=utf-8', `<!doctype html><title>Log in</title><p>Log in to ${String(details.params.client_id)}</p>`);
    return;
  }
  if (req.method === 'POST' && step === '/passkey/options') {
    await drain(req);
    send(res, 200, 'application/json', JSON.stringify({
      challenge: randomBytes(32).toString('base64url'),
      timeout: 300_000,
      rpId: BENCH_RP_ID,
      userVerification: 'required',
      allowCredentials: [],
    }));
    return;
  }
  if (req.method === 'POST' && step === '/passkey') {
    await drain(req);
    // Checks nothing: whoever posts here is the same fixed account, granted what the client asked for.
    const details = await provider.interactionDetails(req, res);
    const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    const redirectTo = await provider.interactionResult(req, res, { login: { accountId: ACCOUNT_ID }, consent: { grantId } }, { mergeWithLastSubmission: false });
    send(res, 200, 'application/json', JSON.stringify({ redirectTo }));
    return;
  }
  send(res, 404, 'application/json', '{"error":"not_found"}');
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req);
}

serveParent(server, issuer, port, async () => {});
