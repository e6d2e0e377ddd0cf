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
  { name: 'JWKS_FILE', default: '(generated once under DATA_DIR)', doc: 'private JWKS (JSON) for token signing; an RSA key (RS256) and an EC P-256 key (ES256) are required' },
  { name: 'SERVICE_DOCUMENTATION', default: '(none)', doc: 'URL of the documentation for relying-party developers, published in discovery as `service_documentation`' },
  { name: 'OP_POLICY_URI', default: '(none)', doc: 'URL of the privacy policy relying parties may show, published in discovery as `op_policy_uri`' },
  { name: 'OP_TOS_URI', default: '(none)', doc: 'URL of the terms of service relying parties may show, published in discovery as `op_tos_uri`' },
  { name: 'TRUST_PROXY', default: '0', doc: 'the proxies in front of the IdP whose `X-Forwarded-*` headers are believed: their number (`1` for one load balancer) or a comma-separated list of their addresses and CIDR ranges' },
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
  { name: 'SMS_RESEND_COOLDOWN_SECONDS', default: '60', doc: 'the wait before another code for the same SMS step' },
  { name: 'SMS_BURST_PER_MEMBER', default: '3', doc: 'codes to one member within SMS_BURST_WINDOW_SECONDS, across steps: a new step may send at once within it' },
  { name: 'SMS_BURST_WINDOW_SECONDS', default: '300', doc: 'the window of SMS_BURST_PER_MEMBER' },
  { name: 'SMS_MAX_PER_MEMBER_PER_DAY', default: '10', doc: 'messages to one member per 24 hours' },
  { name: 'SMS_MAX_PER_PHONE_PER_DAY', default: '10', doc: 'messages to one phone number per 24 hours' },
  { name: 'SMS_MAX_PER_IP_PER_HOUR', default: '20', doc: 'messages requested from one client IP per hour' },
  { name: 'SMS_MAX_PER_HOUR', default: '1000', doc: 'the global hourly budget of messages, across all instances' },
  { name: 'PASSKEY_OFFER', default: 'on', doc: '`on` offers a passkey right after a password log-in to members who can register one; `off` does not' },
  { name: 'PASSKEY_OFFER_SNOOZE_DAYS', default: '30', doc: 'after "Not now" on the passkey offered after a password log-in, the days before it is offered again' },
  { name: 'DEMO_PORT', default: '3001', doc: 'the port of the demo website (`npm run demo`); the built-in website client\'s addresses follow it' },
  { name: 'LOG_LEVEL', default: 'info', doc: '`debug`, `info`, `warn`, `error` or `silent`' },
  { name: 'LOGIN_MAX_FAILURES_PER_MEMBER', default: '5', doc: 'failed password log-ins on a member number from browsers it never logged in from, before growing waits begin' },
  { name: 'LOGIN_MAX_FAILURES_PER_DEVICE', default: '10', doc: 'failed password log-ins from a browser the member logged in from before (device cookie), before that browser waits' },
  { name: 'LOGIN_MAX_FAILURES_PER_IP', default: '30', doc: 'failed password log-ins per client address (IPv6: per /64) before the address is paused' },
  { name: 'LOGIN_FAILURE_WINDOW_SECONDS', default: '900', doc: 'the window (and pause) of the per-address limit' },
  { name: 'LOGIN_FAILURE_MEMORY_SECONDS', default: '43200', doc: 'how long a member number\'s or browser\'s failures are remembered (a success forgets them)' },
  { name: 'LOGIN_WAIT_BASE_SECONDS', default: '30', doc: 'the first wait after the free failures; each further failure doubles it' },
  { name: 'LOGIN_WAIT_MAX_SECONDS', default: '900', doc: 'the longest wait' },
  { name: 'LOGIN_SURGE_FAILURES_PER_MINUTE', default: '1000', doc: 'failed password log-ins per minute across all members from which unknown browsers wait after every failure (a spraying wave)' },
  { name: 'DEVICE_COOKIE_DAYS', default: '180', doc: 'how long a browser stays known to a member after a log-in (its failures then count against it alone)' },
  { name: 'SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE', default: '300', doc: 'sign-ins started without a session per client address and minute (a burst of as many is allowed); past it `429`' },
  { name: 'PASSKEY_OPTIONS_PER_ADDRESS_PER_MINUTE', default: '600', doc: 'passkey options asked for per client address and minute; past it `429`' },
  { name: 'SIGNINS_IN_PROGRESS_MAX', default: '50000', doc: 'sign-ins in progress held in memory on the embedded store; past it the address holding the most loses its oldest' },
  { name: 'SIGNINS_IN_PROGRESS_PER_ADDRESS', default: '3000', doc: 'sign-ins in progress one client address may hold (both stores); past it that address loses its oldest' },
  { name: 'PASSKEY_CHALLENGES_MAX', default: '50000', doc: 'passkey challenges held in memory on the embedded store; past it the address holding the most loses its oldest' },
  { name: 'PASSKEY_CHALLENGES_PER_SIGNIN', default: '3', doc: 'live passkey challenges per sign-in; asking again replaces its oldest' },
  { name: 'PASSWORD_HASH_CONCURRENCY', default: '(cores, at most 4)', doc: 'password hashes computed at once' },
  { name: 'PASSWORD_HASH_MAX_QUEUE', default: '64', doc: 'password checks waiting for a turn; past it `503`' },
  { name: 'PASSWORD_HASH_MAX_WAIT_MS', default: '400', doc: 'the longest a password check may expect to wait for its turn; past it `503` at once' },
  { name: 'SHED_EVENT_LOOP_DELAY_MS', default: '200', doc: 'event-loop delay (mean over 250 ms) above which new sign-ins get `503`' },
  { name: 'SHED_MAX_REQUESTS_IN_FLIGHT', default: '512', doc: 'requests being answered above which new sign-ins get `503`' },
  { name: 'PRUNE_INTERVAL_SECONDS', default: '600', doc: 'how often expired sessions, tokens, codes and counters (and audit events past their retention) are deleted, in short slices' },
  { name: 'AUDIT_RETENTION_DAYS', default: '400', doc: 'how long security activity (the audit trail) is kept; `0` keeps it forever' },
  { name: 'SQLITE_SYNCHRONOUS', default: 'normal', doc: '`normal`: what was answered survives a crash of the IdP, not always of the machine; `full`: every commit is on disk before it is answered (survives power loss)' },
];

export const settingNames: ReadonlySet<string> = new Set(settings.map((s) => s.name));
