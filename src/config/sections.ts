import path from 'node:path';
import { z } from 'zod';
import type { Config, SmsSettings, StorageSettings, WebAuthnSettings } from './load.ts';
import { list, numberSettings, parse, positiveInt } from './parse.ts';

/** WEBAUTHN_*: the RP ID and every origin a ceremony may come from. */
export function loadWebAuthn(env: NodeJS.ProcessEnv, issuerUrl: URL | null, problems: string[]): WebAuthnSettings {
  const host = issuerUrl?.hostname ?? 'localhost';
  const rpId = (env.WEBAUTHN_RP_ID ?? host).toLowerCase();
  // An RP ID must be the origin's host or a registrable parent of it (WebAuthn §5.1.3).
  if (host !== rpId && !host.endsWith(`.${rpId}`)) {
    problems.push(`WEBAUTHN_RP_ID "${rpId}" must be the issuer host "${host}" or a parent domain of it`);
  }
  const extra = list(env.WEBAUTHN_ORIGINS);
  for (const origin of extra) {
    const url = URL.parse(origin);
    const web = url && url.origin === origin && (url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === 'localhost'));
    if (!web && !/^android:apk-key-hash:[A-Za-z0-9_-]{43}$/.test(origin)) {
      problems.push(`WEBAUTHN_ORIGINS: "${origin}" is neither an https origin nor android:apk-key-hash:<base64url SHA-256>`);
    }
  }
  const relatedOrigins = list(env.WEBAUTHN_RELATED_ORIGINS);
  for (const origin of relatedOrigins) {
    if (URL.parse(origin)?.origin !== origin || !origin.startsWith('https://')) problems.push(`WEBAUTHN_RELATED_ORIGINS: "${origin}" is not an https origin`);
  }
  const origins = [...new Set([issuerUrl?.origin ?? '', ...extra, ...relatedOrigins].filter(Boolean))];
  return { rpId, rpName: env.WEBAUTHN_RP_NAME ?? 'JMB', origins, relatedOrigins };
}

/** SMS_* and TWILIO_*: the transport and the budgets. */
export function loadSms(env: NodeJS.ProcessEnv, dataDir: string, production: boolean, problems: string[]): SmsSettings {
  const transport = parse('SMS_TRANSPORT', env.SMS_TRANSPORT ?? 'outbox', z.enum(['outbox', 'twilio']), problems) ?? 'outbox';
  if (production && transport === 'outbox') {
    problems.push('SMS_TRANSPORT must be "twilio" in production (the outbox file is for development only)');
  }
  let twilio: SmsSettings['twilio'];
  if (transport === 'twilio') {
    const { TWILIO_ACCOUNT_SID: accountSid = '', TWILIO_AUTH_TOKEN: authToken = '', TWILIO_FROM: from, TWILIO_MESSAGING_SERVICE_SID: messagingServiceSid } = env;
    if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) problems.push('TWILIO_ACCOUNT_SID must be set to your account SID (AC followed by 32 hex digits)');
    if (!authToken) problems.push('TWILIO_AUTH_TOKEN must be set with SMS_TRANSPORT=twilio');
    if (!from === !messagingServiceSid) problems.push('set exactly one of TWILIO_FROM and TWILIO_MESSAGING_SERVICE_SID with SMS_TRANSPORT=twilio');
    if (messagingServiceSid && !/^MG[0-9a-fA-F]{32}$/.test(messagingServiceSid)) problems.push('TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hex digits');
    twilio = { accountSid, authToken, ...(from && { from }), ...(messagingServiceSid && { messagingServiceSid }) };
  }
  const limit = numberSettings(env, problems);
  return {
    transport,
    outboxFile: path.resolve(env.SMS_OUTBOX_FILE ?? path.join(dataDir, 'sms-outbox.jsonl')),
    twilio,
    limits: {
      cooldownSeconds: limit('SMS_RESEND_COOLDOWN_SECONDS', 60),
      burstPerMember: limit('SMS_BURST_PER_MEMBER', 3),
      burstWindowSeconds: limit('SMS_BURST_WINDOW_SECONDS', 300),
      perMemberPerDay: limit('SMS_MAX_PER_MEMBER_PER_DAY', 10),
      perPhonePerDay: limit('SMS_MAX_PER_PHONE_PER_DAY', 10),
      perIpPerHour: limit('SMS_MAX_PER_IP_PER_HOUR', 20),
      perHour: limit('SMS_MAX_PER_HOUR', 1000),
    },
  };
}

/** ANDROID_APPS and IOS_APP_IDS: the app association files. */
export function loadApps(env: NodeJS.ProcessEnv, problems: string[]): Config['apps'] {
  const android = list(env.ANDROID_APPS).map((entry) => {
    const [packageName = '', fingerprint = ''] = entry.split('=');
    if (!/^[a-zA-Z][\w]*(\.[a-zA-Z][\w]*)+$/.test(packageName) || !/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(fingerprint)) {
      problems.push(`ANDROID_APPS: "${entry}" is not package.name=AA:BB:…(32 hex pairs)`);
    }
    return { packageName, fingerprint: fingerprint.toUpperCase() };
  });
  const ios = list(env.IOS_APP_IDS);
  for (const id of ios) if (!/^[A-Z0-9]{10}\.[\w.-]+$/.test(id)) problems.push(`IOS_APP_IDS: "${id}" is not TEAMID.bundle.id`);
  return { android, ios };
}

/** PRUNE_INTERVAL_SECONDS, AUDIT_RETENTION_DAYS, SQLITE_SYNCHRONOUS, DATABASE_POOL_SIZE and DATABASE_PREPARED_STATEMENTS: upkeep, durability and connections of the store. */
export function loadStorage(env: NodeJS.ProcessEnv, problems: string[]): StorageSettings {
  return {
    pruneIntervalSeconds: parse('PRUNE_INTERVAL_SECONDS', env.PRUNE_INTERVAL_SECONDS ?? '600', positiveInt, problems) ?? 600,
    auditRetentionDays: parse('AUDIT_RETENTION_DAYS', env.AUDIT_RETENTION_DAYS ?? '400', z.coerce.number().int().min(0), problems) ?? 400,
    // `normal` by default: `full` cost about 40% of the passkey log-in benchmark's throughput (docs/storage.md, Durability).
    sqliteSynchronous: parse('SQLITE_SYNCHRONOUS', env.SQLITE_SYNCHRONOUS ?? 'normal', z.enum(['full', 'normal']), problems) ?? 'normal',
    databasePoolSize: parse('DATABASE_POOL_SIZE', env.DATABASE_POOL_SIZE ?? '10', z.coerce.number().int().min(1).max(1000), problems) ?? 10,
    databasePreparedStatements: (parse('DATABASE_PREPARED_STATEMENTS', env.DATABASE_PREPARED_STATEMENTS ?? 'on', z.enum(['on', 'off']), problems) ?? 'on') === 'on',
  };
}
