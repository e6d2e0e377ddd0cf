import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import * as client from 'openid-client';
import { openStore } from '../../src/store/open.ts';
import { Browser } from '../helpers/browser.ts';
import { createMember } from '../helpers/members.ts';
import { freePort } from '../helpers/ports.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { NATIVE_APP, WEBSITE } from '../helpers/test-app.ts';

const root = path.resolve(import.meta.dirname, '../..');

test('starting, serving, revoking and stopping print nothing but JSON lines', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-idp-output-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const databaseUrl = `sqlite:${path.join(dir, 'idp.db')}`;
  const clientsFile = path.join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([WEBSITE, NATIVE_APP]));

  // `npm start` as an operator runs it: the real entry point, its own process, its own output.
  const server = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    // Without the passkey offer, the log-in below ends at the relying party.
    env: { PATH: process.env.PATH, PORT: String(port), ISSUER: issuer, DATA_DIR: dir, DATABASE_URL: databaseUrl, OIDC_CLIENTS_FILE: clientsFile, LOG_LEVEL: 'debug', PASSKEY_OFFER: 'off' },
  });
  t.teardown(() => server.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  server.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  server.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = () => (stdout.includes('"msg":"listening"') ? resolve() : undefined);
    server.stdout.on('data', check);
    void exited.then((code) => reject(new Error(`the IdP exited (${code}) before listening: ${stderr || stdout}`)));
  });

  const store = await openStore(databaseUrl);
  const member = await createMember(store);
  await store.close();

  const rp = await RelyingParty.discover({ url: issuer }, { clientId: WEBSITE.client_id, clientSecret: WEBSITE.client_secret, redirectUri: WEBSITE.redirect_uris[0] });
  const flow = await rp.start();
  const tokens = await rp.redeem(await passwordLogIn(new Browser(issuer), flow.url, member.number, member.password), flow);
  await client.fetchUserInfo(rp.config, tokens.access_token, member.id);
  const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
  await fetch(`${issuer}/me`);
  await fetch(`${issuer}/no-such-page`);
  const revoke = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${issuer}/token/revocation`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });
  const basic = { authorization: `Basic ${Buffer.from(`${WEBSITE.client_id}:${WEBSITE.client_secret}`).toString('base64')}` };
  t.is((await revoke({ token: refreshed.access_token, client_id: NATIVE_APP.client_id })).status, 200, 'another client\'s token, by a public client');
  t.is((await revoke({ token: refreshed.access_token }, basic)).status, 200);
  t.is((await revoke({ token: refreshed.refresh_token! }, basic)).status, 200);
  await t.throwsAsync(client.refreshTokenGrant(rp.config, refreshed.refresh_token!), undefined, 'the revoked refresh token');

  server.kill('SIGTERM');
  t.is(await exited, 0);

  const lines = stdout.split('\n').filter((line) => line !== '');
  const notJson = lines.filter((line) => {
    try {
      const entry: unknown = JSON.parse(line);
      return typeof entry !== 'object' || entry === null || Array.isArray(entry);
    } catch {
      return true;
    }
  });
  t.deepEqual(notJson, [], 'every line on standard output is a JSON object');
  t.is(stderr, '', 'nothing on standard error');
  const entries = lines.map((line) => JSON.parse(line) as { msg: string; method?: string; path?: string });
  t.true(entries.some((entry) => entry.msg === 'listening'));
  t.is(entries.filter((entry) => entry.msg === 'request' && entry.method === 'POST' && entry.path === '/token/revocation').length, 3);
  t.true(entries.some((entry) => entry.msg === 'shutting down'));
});
