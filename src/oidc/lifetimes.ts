/** How long, in seconds, each kind of thing the provider issues lives (oidc-provider's `ttl`). */
export const LIFETIMES = {
  AccessToken: 900,
  AuthorizationCode: 60,
  IdToken: 3600,
  Interaction: 1800,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  RefreshToken: 14 * 24 * 3600,
  BackchannelAuthenticationRequest: 600,
  ClientCredentials: 600,
  DeviceCode: 600,
} as const;

/** oidc-provider gives every logout token two minutes. */
const LOGOUT_TOKEN_SECONDS = 120;

/**
 * How long a signing key must stay published after it stopped signing: until nothing it signed can
 * still be presented. ID tokens (and JWT userinfo answers) live an hour and logout tokens two
 * minutes, but a relying party sends an ID token back as `id_token_hint` when the member logs out,
 * which the provider accepts however old the token is, for as long as the session lasts: so the
 * session's lifetime decides, plus a few minutes for clocks that disagree.
 */
export const SIGNING_KEY_RETENTION_SECONDS = Math.max(LIFETIMES.IdToken, LIFETIMES.AccessToken, LOGOUT_TOKEN_SECONDS, LIFETIMES.Session) + 5 * 60;
