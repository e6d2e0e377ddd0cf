/**
 * Every environment setting the IdP reads, once: name, development default and a one-line meaning.
 * The README's settings table and the docker-compose check are both driven by this list.
 */
export type Setting = {
  name: string;
  default: string;
  doc: string;
};

export const settings: readonly Setting[] = [
  { name: 'NODE_ENV', default: 'development', doc: '`production` refuses every unsafe development default' },
  { name: 'PORT', default: '3000', doc: 'listen port' },
  { name: 'ISSUER', default: 'http://localhost:$PORT', doc: 'the issuer URL (https in production, no trailing slash)' },
  { name: 'DATABASE_URL', default: 'sqlite:./data/jmb-idp.db', doc: '`sqlite:<path>`, `sqlite::memory:` or `mongodb://…`' },
  { name: 'DATA_DIR', default: './data', doc: 'where development keys and the SMS outbox are kept' },
  { name: 'OIDC_CLIENTS_FILE', default: '(built-in demo clients)', doc: 'JSON array of client metadata in oidc-provider format' },
  { name: 'COOKIE_KEYS', default: '(generated once under DATA_DIR)', doc: 'comma-separated cookie signing keys, newest first, 32+ characters each' },
  { name: 'JWKS_FILE', default: '(generated once under DATA_DIR)', doc: 'private JWKS (JSON) for token signing; an EC P-256 key is required' },
  { name: 'TRUST_PROXY', default: 'false', doc: 'trust `X-Forwarded-*` from a TLS-terminating proxy' },
  { name: 'WEBAUTHN_RP_ID', default: '(the issuer host)', doc: 'the WebAuthn relying party id passkeys are bound to: the issuer host or a parent domain of it' },
  { name: 'WEBAUTHN_RP_NAME', default: 'JMB', doc: 'the name devices show when a passkey is created' },
  { name: 'WEBAUTHN_ORIGINS', default: '(none)', doc: 'comma-separated extra origins allowed in passkey ceremonies, e.g. `android:apk-key-hash:…` for the Android apps or a related website' },
  { name: 'WEBAUTHN_RELATED_ORIGINS', default: '(none)', doc: 'comma-separated https origins on other domains that share the passkeys; served at `/.well-known/webauthn`' },
  { name: 'ANDROID_APPS', default: '(none)', doc: 'comma-separated `package=SHA256 fingerprint` pairs for `/.well-known/assetlinks.json`' },
  { name: 'IOS_APP_IDS', default: '(none)', doc: 'comma-separated `TEAMID.bundle.id` values for `/.well-known/apple-app-site-association`' },
  { name: 'SMS_TRANSPORT', default: 'outbox', doc: '`outbox` (development: messages appended to SMS_OUTBOX_FILE) or `twilio`' },
  { name: 'SMS_OUTBOX_FILE', default: '$DATA_DIR/sms-outbox.jsonl', doc: 'where the outbox transport writes one JSON line per message' },
  { name: 'TWILIO_ACCOUNT_SID', default: '(none)', doc: 'Twilio account SID (`AC…`), with SMS_TRANSPORT=twilio' },
  { name: 'TWILIO_AUTH_TOKEN', default: '(none)', doc: 'Twilio auth token, with SMS_TRANSPORT=twilio' },
  { name: 'TWILIO_FROM', default: '(none)', doc: 'the sending number or alphanumeric sender id (or set TWILIO_MESSAGING_SERVICE_SID)' },
  { name: 'TWILIO_MESSAGING_SERVICE_SID', default: '(none)', doc: 'a Twilio Messaging Service (`MG…`) to send through instead of TWILIO_FROM' },
  { name: 'SMS_RESEND_COOLDOWN_SECONDS', default: '60', doc: 'the wait between two codes to the same member' },
  { name: 'SMS_MAX_PER_MEMBER_PER_DAY', default: '10', doc: 'messages to one member per 24 hours' },
  { name: 'SMS_MAX_PER_PHONE_PER_DAY', default: '10', doc: 'messages to one phone number per 24 hours' },
  { name: 'SMS_MAX_PER_IP_PER_HOUR', default: '20', doc: 'messages requested from one client IP per hour' },
  { name: 'SMS_MAX_PER_HOUR', default: '1000', doc: 'the global hourly budget of messages, across all instances' },
  { name: 'LOG_LEVEL', default: 'info', doc: '`debug`, `info`, `warn`, `error` or `silent`' },
  { name: 'LOGIN_MAX_FAILURES_PER_MEMBER', default: '5', doc: 'failed password log-ins per member number before a pause' },
  { name: 'LOGIN_MAX_FAILURES_PER_IP', default: '30', doc: 'failed password log-ins per client IP before a pause' },
  { name: 'LOGIN_FAILURE_WINDOW_SECONDS', default: '900', doc: 'the window (and pause) for the two limits above' },
  { name: 'PRUNE_INTERVAL_SECONDS', default: '600', doc: 'how often expired sessions, tokens, codes and counters (and audit events past their retention) are deleted, in short slices' },
  { name: 'AUDIT_RETENTION_DAYS', default: '400', doc: 'how long security activity (the audit trail) is kept; `0` keeps it forever' },
  { name: 'SQLITE_SYNCHRONOUS', default: 'normal', doc: '`normal`: what was answered survives a crash of the IdP, not always of the machine; `full`: every commit is on disk before it is answered (survives power loss)' },
];

export const settingNames: ReadonlySet<string> = new Set(settings.map((s) => s.name));
