import test from 'ava';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp();
});
test.after.always(async () => app?.stop());

const discover = async (base: string, path = '/.well-known/openid-configuration') => {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, type: response.headers.get('content-type'), document: await response.json() as Record<string, unknown> };
};

test('discovery lists exactly what the IdP offers and the tests exercise, nothing more', async (t) => {
  const { status, type, document } = await discover(app.url);
  t.is(status, 200);
  t.regex(type ?? '', /^application\/json/);
  const at = (path: string) => `${app.url}${path}`;
  const methods = ['client_secret_basic', 'client_secret_post', 'none'];
  t.deepEqual(document, {
    issuer: app.url,
    authorization_endpoint: at('/auth'),
    token_endpoint: at('/token'),
    userinfo_endpoint: at('/me'),
    jwks_uri: at('/jwks'),
    end_session_endpoint: at('/session/end'),
    revocation_endpoint: at('/token/revocation'),
    pushed_authorization_request_endpoint: at('/request'),
    // The code flow alone, its code in the query (conformance.test.ts, authorization-endpoint.test.ts).
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    subject_types_supported: ['public'],
    scopes_supported: ['openid', 'offline_access', 'profile', 'phone', 'jmb'],
    // claims-parameter.test.ts
    claims_parameter_supported: true,
    claims_supported: ['sub', 'acr', 'amr', 'auth_time', 'name', 'phone_number', 'jmb_member_number', 'sid', 'iss'],
    claim_types_supported: ['normal'],
    acr_values_supported: ['urn:jmb:loa:1', 'phr', 'urn:jmb:loa:2'],
    // conformance.test.ts: oidcc-idtoken-signature, oidcc-idtoken-rs256, oidcc-userinfo-rs256
    id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    userinfo_signing_alg_values_supported: ['ES256', 'RS256'],
    token_endpoint_auth_methods_supported: methods,
    // revocation.test.ts
    revocation_endpoint_auth_methods_supported: methods,
    request_uri_parameter_supported: false,
    // par-dpop.test.ts
    dpop_signing_alg_values_supported: ['ES256', 'Ed25519', 'EdDSA'],
    // backchannel-logout.test.ts and the mod_auth_openidc end-to-end test
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    // pages-language.test.ts, conformance.test.ts: oidcc-ui-locales
    ui_locales_supported: ['ja', 'en'],
  });
});

test('the OAuth authorization server metadata is the same document', async (t) => {
  t.deepEqual((await discover(app.url, '/.well-known/oauth-authorization-server')).document, (await discover(app.url)).document);
});

test('the documentation, policy and terms pages are published when they are configured', async (t) => {
  const documented = await startTestApp({
    env: { SERVICE_DOCUMENTATION: 'https://developers.jmb.example/idp', OP_POLICY_URI: 'https://www.jmb.example/privacy', OP_TOS_URI: 'https://www.jmb.example/terms' },
  });
  try {
    const { document } = await discover(documented.url);
    t.is(document.service_documentation, 'https://developers.jmb.example/idp');
    t.is(document.op_policy_uri, 'https://www.jmb.example/privacy');
    t.is(document.op_tos_uri, 'https://www.jmb.example/terms');
  } finally {
    await documented.stop();
  }
  const { document } = await discover(app.url);
  for (const name of ['service_documentation', 'op_policy_uri', 'op_tos_uri']) t.false(name in document, `${name} without configuration`);
});
