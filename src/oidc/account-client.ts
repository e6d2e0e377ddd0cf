import { ACCOUNT_CLIENT_ID } from '../config/clients.ts';

/**
 * The account page's own client, which only routes a visitor through the standard log-in and back:
 * its metadata, registered beside the configured clients. `response_type=none` issues no code and no
 * token: after the log-in the account page reads the IdP session itself.
 */
export function accountClient(issuer: string): Record<string, unknown> & { client_id: string } {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'JMB',
    redirect_uris: [`${issuer}/account/callback`],
    response_types: ['none'],
    grant_types: [],
    token_endpoint_auth_method: 'none',
    // The account page has its own way to passkeys ("Register / Change / Delete Passkey").
    jmb_passkey_offer: false,
  };
}
