import type { Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { RESPONSE_MODES } from '../config/clients.ts';
import type { Config } from '../config/load.ts';
import { locales } from '../i18n/messages.ts';

/** Client authentication at the token and revocation endpoints: a secret for the website, none for native apps. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;

/** What discovery adds to oidc-provider's own document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2). */
export function discoveryMetadata(config: Pick<Config, 'documents'>): Record<string, unknown> {
  return {
    // RFC 8414 §2: left out, it would mean client_secret_basic alone.
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    // The pages follow the relying party's ui_locales (see src/i18n/negotiate.ts).
    ui_locales_supported: [...locales],
    service_documentation: config.documents.serviceDocumentation,
    op_policy_uri: config.documents.policyUri,
    op_tos_uri: config.documents.tosUri,
  };
}

/**
 * Discovery as relying parties can use it. oidc-provider lists every response type it is configured
 * with, and every response mode it knows; `none` serves only the account page's own client
 * (account-client.ts), and only `query` is offered (config/clients.ts RESPONSE_MODES).
 */
export function offeredDiscovery() {
  return async (ctx: KoaContextWithOIDC, next: Next): Promise<void> => {
    await next();
    if (ctx.oidc?.route !== 'discovery' || ctx.status !== 200) return;
    const document = ctx.body as { response_types_supported: string[]; response_modes_supported: string[] };
    document.response_types_supported = document.response_types_supported.filter((type) => type !== 'none');
    document.response_modes_supported = [...RESPONSE_MODES];
  };
}
