import type { ClientMetadata } from './load.ts';

/** Port of the demo website started by `npm run demo`, unless DEMO_PORT says otherwise. */
export const DEMO_SITE_PORT = 3001;

/**
 * The development stand-ins for the programme's own relying parties: the website (a confidential
 * client) and the mobile app (a public native client that signs in through the system browser).
 * Refused in production, where OIDC_CLIENTS_FILE must list the real ones.
 */
export function demoClients(site = `http://localhost:${DEMO_SITE_PORT}`): ClientMetadata[] {
  return [
    {
      client_id: 'jmb-website',
      client_name: 'JMB website (demo)',
      'client_name#ja': 'JMBウェブサイト（デモ）',
      client_secret: 'jmb-website-development-secret-not-for-production',
      // Where members go back to ("Back to JMB website") and where a new sign-in starts ("Start again").
      // OpenID Connect allows only https for the latter; on http://localhost the home page serves.
      client_uri: `${site}/`,
      ...(site.startsWith('https:') && { initiate_login_uri: `${site}/login` }),
      redirect_uris: [`${site}/callback`],
      post_logout_redirect_uris: [`${site}/`],
      backchannel_logout_uri: `${site}/backchannel-logout`,
      backchannel_logout_session_required: true,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      // Named, not left to the RS256 default: an ES256 signature is a quarter of the size of RS256's
      // and costs the IdP about a tenth as much to make; every library our own clients use verifies it.
      id_token_signed_response_alg: 'ES256',
    },
    {
      client_id: 'jmb-app',
      client_name: 'JMB app (demo)',
      'client_name#ja': 'JMBアプリ（デモ）',
      application_type: 'native',
      redirect_uris: ['jp.jmb.app:/oauth2redirect'],
      post_logout_redirect_uris: ['jp.jmb.app:/logged-out'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256',
    },
  ];
}
