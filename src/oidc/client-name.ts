import type { Locale } from '../i18n/messages.ts';

/**
 * The language-tagged names a relying party may register beside `client_name` (OpenID Connect Dynamic
 * Client Registration 1.0 §2.1: `client_name#ja`), one or more for each language the pages speak.
 * oidc-provider keeps only the metadata it is told of, so each tag is listed.
 */
export const CLIENT_NAME_TAGS: Record<Locale, readonly string[]> = {
  ja: ['ja', 'ja-JP', 'ja-Jpan-JP'],
  en: ['en', 'en-US', 'en-GB'],
};

/** Every localized client name property the provider keeps, e.g. `client_name#ja`. */
export const LOCALIZED_CLIENT_NAMES: readonly string[] = Object.values(CLIENT_NAME_TAGS).flat().map((tag) => `client_name#${tag}`);

/** The relying party's name in `locale` where it registered one, else its `client_name`, else its id. */
export function displayClientName(client: { clientId: string; clientName?: unknown } & object, locale: Locale | undefined): string {
  const metadata = client as Record<string, unknown>;
  for (const tag of locale ? CLIENT_NAME_TAGS[locale] : []) {
    const name = metadata[`client_name#${tag}`];
    if (typeof name === 'string' && name.trim()) return name;
  }
  return String(client.clientName ?? client.clientId);
}
