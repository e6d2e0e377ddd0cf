import type Provider from 'oidc-provider';
import type { SmsSender } from './auth/sms-otp/sms-sender.ts';
import type { Config, SmsSettings } from './config/load.ts';
import type { PasswordHashing } from './config/passwords.ts';
import { CookieSigner } from './http/cookie-signer.ts';
import type { Logger } from './log.ts';
import { createPasswordHasher, type PasswordHasher } from './members/password.ts';
import type { MemberSessions } from './oidc/member-sessions.ts';
import type { ProviderDeps } from './oidc/provider.ts';
import type { Clock, Store } from './store/port.ts';

// What the IdP (app.ts) and its command-line tools (src/cli/) both build, built here alone: a tool
// that hashes a password, sends an SMS notice or ends a member's sessions does it as the running IdP
// does. oidc-provider and the Twilio library take longer to load than most of the tools' commands
// take to run: the factories that need them load them when called.

/** Passwords hashed as the IdP hashes them: argon2id at the PASSWORD_ARGON2_* settings (scrypt hashes from before still verify). */
export function assemblePasswordHasher(hashing: PasswordHashing): PasswordHasher {
  return createPasswordHasher(hashing);
}

/** The SMS transport SMS_TRANSPORT names: the outbox file in development, Twilio otherwise. */
export async function assembleSmsSender(sms: SmsSettings, logger: Logger, clock: Clock): Promise<SmsSender> {
  const { createSmsSender } = await import('./auth/sms-otp/create-sender.ts');
  return createSmsSender(sms, logger, clock);
}

/** What a provider needs beyond the configuration and the store: what the serving IdP adds, or nothing for a tool. */
export type ProviderExtras = Omit<ProviderDeps, 'config' | 'jwks' | 'store' | 'cookieSigner'>;

/**
 * The OIDC provider over `store`, configured as the IdP runs it: its clients, its cookie keys, and the
 * signing keys the key store schedules for now, so that what it signs (a back-channel logout sent by
 * the members tool too) is signed as the IdP would sign it. Returns the cookie signer with it.
 */
export async function assembleProvider(config: Config, store: Store, extras: ProviderExtras): Promise<{ provider: Provider; cookieSigner: CookieSigner }> {
  const [{ createProvider }, { providerJwks }] = await Promise.all([import('./oidc/provider.ts'), import('./oidc/provider-keys.ts')]);
  const cookieSigner = new CookieSigner(config.cookieKeys);
  const provider = createProvider({ ...extras, config, jwks: providerJwks(config.jwks, extras.clock()), store, cookieSigner });
  return { provider, cookieSigner };
}

/** Where each member is logged in: noted as their sessions are saved, listed and ended by the account page and the support desk. */
export async function assembleMemberSessions(store: Store, clock: Clock): Promise<MemberSessions> {
  const { createMemberSessions } = await import('./oidc/member-sessions.ts');
  return createMemberSessions({ documents: store.documents, audit: store.audit, clock });
}
