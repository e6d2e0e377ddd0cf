import test from 'ava';
import { hiddenField } from '../helpers/browser.ts';
import { RawBrowser, linksOf, rawRequest } from '../helpers/raw-http.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, WEBSITE, type TestApp } from '../helpers/test-app.ts';

// What a client may write to name another host: its own proxy header, the standard one, Host itself.
const forgeries: Record<string, Record<string, string>> = {
  'X-Forwarded-Host': { 'x-forwarded-host': 'evil.example' },
  'X-Forwarded-Host and -Port': { 'x-forwarded-host': 'evil.example:8443', 'x-forwarded-port': '8443' },
  'Forwarded: host=': { forwarded: 'for=198.51.100.7;host=evil.example;proto=https' },
  Host: { host: 'evil.example' },
  'Host and X-Forwarded-Host': { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
};

const apps = new Map<string, TestApp>();
test.before(async () => {
  for (const trust of ['1', '0']) apps.set(trust, await startTestApp({ env: { TRUST_PROXY: trust } }));
});
test.after.always(async () => {
  for (const app of apps.values()) await app.stop();
});

/** Every string in a document that is a URL. */
const urlsIn = (document: Record<string, unknown>) => Object.entries(document).filter(([, value]) => typeof value === 'string' && /^https?:/.test(value));

for (const trust of ['1', '0']) {
  test(`TRUST_PROXY=${trust}: a forged host never changes a URL in discovery, whatever header or request target names it`, async (t) => {
    const app = apps.get(trust)!;
    const discovery = '/.well-known/openid-configuration';
    const honest = JSON.parse((await rawRequest(app.url, discovery)).body) as Record<string, unknown>;
    t.is(honest.jwks_uri, `${app.url}/jwks`);
    const attempts = [
      ...Object.entries(forgeries).map(([name, headers]) => ({ name, target: discovery, headers })),
      // The absolute form of the request target (RFC 9112 §3.2.2) names a host too.
      { name: 'absolute-form target', target: `http://evil.example${discovery}`, headers: {} },
      { name: 'absolute-form target and Host', target: `https://evil.example${discovery}`, headers: { host: 'evil.example' } },
    ];
    for (const { name, target, headers } of attempts) {
      for (const path of [target, target.replace('openid-configuration', 'oauth-authorization-server')]) {
        const response = await rawRequest(app.url, path, { headers });
        t.is(response.status, 200, name);
        const document = JSON.parse(response.body) as Record<string, unknown>;
        t.deepEqual(document, honest, `${name}: the document is the honest one`);
        for (const [field, value] of urlsIn(document)) {
          if (['service_documentation', 'op_policy_uri', 'op_tos_uri'].includes(field)) continue;
          t.true((value as string).startsWith(`${app.url}/`) || value === app.url, `${name}: ${field} is ${value}`);
        }
      }
    }
  });

  test(`TRUST_PROXY=${trust}: a forged host never changes where a sign-in or a log-out sends the browser`, async (t) => {
    const app = apps.get(trust)!;
    const rp = await RelyingParty.website(app);
    for (const [name, headers] of Object.entries(forgeries)) {
      const member = await createMember(app.store);
      const browser = new RawBrowser(app.url, headers);
      const flow = await rp.start();
      const authorize = new URL(flow.url);
      const seen: string[] = [];

      const started = await browser.get(`${authorize.pathname}${authorize.search}`);
      t.is(started.status, 303, name);
      seen.push(started.location!);
      const interaction = new URL(started.location!, app.url).pathname;
      const page = await browser.get(interaction);
      t.is(page.status, 200, name);
      seen.push(...linksOf(page));
      const posted = await browser.post(`${interaction}/login`, { csrf: hiddenField(page.body, 'csrf'), number: member.number, password: member.password });
      t.is(posted.status, 303, name);
      // Where the browser resumes was written when the sign-in started, from that request.
      t.true(posted.location!.startsWith(`${app.url}/auth/`), `${name}: back to the IdP at ${posted.location}`);
      const resumed = await browser.get(new URL(posted.location!).pathname);
      t.true(resumed.location!.startsWith(`${WEBSITE.redirect_uris[0]}?`), `${name}: on to the relying party at ${resumed.location}`);
      t.is(new URL(resumed.location!).searchParams.get('iss'), app.url, name);

      const logout = await browser.get('/session/end');
      t.is(logout.status, 200, name);
      const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(logout.body)?.[1];
      t.is(action, `${app.url}/session/end/confirm`, name);
      seen.push(...linksOf(logout));
      const confirmed = await browser.post(new URL(action!).pathname, { xsrf: hiddenField(logout.body, 'xsrf'), logout: 'yes' });
      t.is(confirmed.location, `${app.url}/session/end/success`, name);
      const loggedOut = await browser.get('/session/end/success');
      seen.push(...linksOf(loggedOut));

      for (const link of seen) t.is(new URL(link, app.url).origin, app.url, `${name}: ${link}`);
    }
  });
}

test('X-Forwarded-Proto from a trusted proxy still marks cookies Secure, and the published URLs stay the issuer\'s', async (t) => {
  const app = apps.get('1')!;
  const rp = await RelyingParty.website(app);
  const authorize = new URL((await rp.start()).url);
  const started = await rawRequest(app.url, `${authorize.pathname}${authorize.search}`, { headers: { 'x-forwarded-proto': 'https' } });
  const cookies = started.headers['set-cookie'] ?? [];
  t.true(cookies.length > 0);
  for (const cookie of cookies) t.regex(cookie, /;\s*secure/i, 'behind a TLS-terminating proxy every cookie is Secure');
  const document = JSON.parse((await rawRequest(app.url, '/.well-known/openid-configuration', { headers: { 'x-forwarded-proto': 'https' } })).body) as Record<string, unknown>;
  t.is(document.jwks_uri, `${app.url}/jwks`, 'the scheme is the issuer\'s');

  const untrusted = apps.get('0')!;
  const plain = await rawRequest(untrusted.url, `${authorize.pathname}${authorize.search}`, { headers: { 'x-forwarded-proto': 'https' } });
  for (const cookie of plain.headers['set-cookie'] ?? []) t.notRegex(cookie, /;\s*secure/i, 'a client cannot claim https itself');
});

test('discovery and the JWKS may be cached briefly by anyone, so a new signing key reaches caches long before it signs', async (t) => {
  const app = apps.get('1')!;
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/jwks']) {
    const response = await rawRequest(app.url, path);
    t.is(response.status, 200, path);
    t.is(response.headers['cache-control'], 'public, max-age=300', path);
    t.regex(String(response.headers.vary), /origin/i, `${path}: its CORS answer depends on Origin, and says so to caches`);
  }
});
