import type Provider from 'oidc-provider';
import type { Locale } from '../i18n/messages.ts';
import { ACCOUNT_CLIENT_ID } from '../config/clients.ts';
import { displayClientName } from './client-name.ts';

/** Where a member can go on from a page that ends something: the relying party they came from. */
export type Continuation = {
  /** The relying party's name, for "Back to <website>". */
  name: string;
  /** Its home page (`client_uri`), if it registered one. */
  home: string | undefined;
  /**
   * Where a new sign-in starts: its `initiate_login_uri` (OpenID Connect third-party-initiated
   * log-in, with `iss`), else its home page.
   */
  startAgain: string | undefined;
};

/**
 * The way on to the relying party `clientId`, from its registered metadata, named in `locale` where it
 * registered such a name; undefined for an unknown client or the IdP's own.
 */
export async function continuationOf(provider: Provider, issuer: string, clientId: string | undefined, locale?: Locale): Promise<Continuation | undefined> {
  if (!clientId || clientId === ACCOUNT_CLIENT_ID) return undefined;
  const client = await provider.Client.find(clientId).catch(() => undefined);
  if (!client) return undefined;
  const home = webUrl(client.clientUri);
  const initiate = webUrl(client.initiateLoginUri);
  if (initiate) initiate.searchParams.set('iss', issuer);
  return {
    name: displayClientName(client, locale),
    home: home?.href,
    startAgain: initiate?.href ?? home?.href,
  };
}

function webUrl(value: unknown): URL | undefined {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  return url && (url.protocol === 'https:' || url.protocol === 'http:') ? url : undefined;
}
