import { readFileSync } from 'node:fs';
import test from 'ava';
import * as jose from 'jose';
import type { ClientMetadata } from '../../src/config/load.ts';
import { demoClients } from '../../src/config/demo-clients.ts';
import { logInWithPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

/** The manual's example OIDC_CLIENTS_FILE: the JSON block of "Registering a relying party" in docs/relying-parties.md. */
function documentedClients(): ClientMetadata[] {
  const guide = readFileSync(new URL('../../docs/relying-parties.md', import.meta.url), 'utf8');
  const heading = /^#+ Registering a relying party$/m.exec(guide);
  const block = heading && /```json\n([\s\S]*?)\n```/.exec(guide.slice(heading.index));
  if (!block) throw new Error('no JSON example under "Registering a relying party" in docs/relying-parties.md');
  return JSON.parse(block[1]!) as ClientMetadata[];
}

/** The algorithm of the ID token a password log-in at `client` receives. */
async function idTokenAlgorithm(app: TestApp, client: ClientMetadata): Promise<string | undefined> {
  const member = await createMember(app.store);
  const rp = await RelyingParty.of(app, client);
  const { tokens } = await logInWithPassword(rp, member, { params: { scope: 'openid' } });
  const { protectedHeader } = await jose.jwtVerify(tokens.id_token!, jose.createLocalJWKSet(await (await fetch(`${app.url}/jwks`)).json()));
  return protectedHeader.alg;
}

test('a client that names no algorithm gets RS256; the built-in demo clients name ES256 and get it', async (t) => {
  const app = await startTestApp({ clients: [WEBSITE, ...demoClients()] });
  try {
    t.false('id_token_signed_response_alg' in WEBSITE);
    t.is(await idTokenAlgorithm(app, WEBSITE), 'RS256');
    for (const client of demoClients()) {
      t.is(client.id_token_signed_response_alg, 'ES256', client.client_id);
      t.is(await idTokenAlgorithm(app, client), 'ES256', client.client_id);
    }
  } finally {
    await app.stop();
  }
});

test('the example clients file of docs/relying-parties.md is accepted as it stands, and its clients get ES256', async (t) => {
  const clients = documentedClients();
  const app = await startTestApp({ clients });
  try {
    const website = clients.find((c) => c.client_id === 'jmb-website')!;
    t.is(await idTokenAlgorithm(app, website), 'ES256');
    const nativeApp = clients.find((c) => c.application_type === 'native')!;
    t.like(nativeApp, { id_token_signed_response_alg: 'ES256', require_pushed_authorization_requests: true, dpop_bound_access_tokens: true });
  } finally {
    await app.stop();
  }
});
