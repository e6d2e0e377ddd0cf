import { setTimeout as delay } from 'node:timers/promises';
import twilio from 'twilio';
import type { Logger } from '../../log.ts';
import { maskPhone } from '../../members/members.ts';
import { SmsDeliveryError, type SmsFailure, type SmsMessage, type SmsSender } from './sms-sender.ts';

export type TwilioSenderOptions = {
  accountSid: string;
  authToken: string;
  /** The sending number or alphanumeric sender id; give this or `messagingServiceSid`, not both. */
  from?: string;
  /** A Messaging Service (`MG…`) that picks the sender itself. */
  messagingServiceSid?: string;
  /** The most one attempt may take, in milliseconds. */
  timeoutMs?: number;
  /** Further attempts after a throttled, failed or unanswered one. */
  retries?: number;
  logger: Logger;
  /** Waits between attempts; tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
};

const FIRST_BACKOFF_MS = 250;

// Twilio error codes that mean this destination cannot receive our SMS, so another attempt would fail the same way.
// https://www.twilio.com/docs/api/errors
const UNDELIVERABLE_NUMBER_CODES = new Set([
  21211, // invalid 'To' phone number
  21214, // 'To' phone number cannot be reached
  21217, // phone number does not appear to be valid
  21265, // 'To' number cannot be a short code
  21401, // invalid phone number
  21407, // this phone number type does not support SMS
  21408, // sending to the region of the 'To' number is not enabled
  21421, // phone number is invalid
  21610, // the recipient has opted out (replied STOP)
  21612, // no route from our sender to the 'To' number
  21614, // 'To' number is not a mobile number
]);

type Outcome = { failure: SmsFailure; retry: boolean; status?: number; code?: number | string };

/** Sends through Twilio's Messages API with a bounded time per attempt and exponential back-off on throttling and outages. */
export function createTwilioSender(options: TwilioSenderOptions): SmsSender {
  const { accountSid, authToken, from, messagingServiceSid, timeoutMs = 10_000, retries = 2, logger } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  validate(options, timeoutMs, retries);

  // `timeout` bounds a whole attempt (request to last byte), failing with code ECONNABORTED.
  // Retries are ours (429, 5xx and transport failures alike), so the client's own 429-only retry stays off.
  const client = twilio(accountSid, authToken, { timeout: timeoutMs, autoRetry: false });
  const sender = messagingServiceSid ? { messagingServiceSid } : { from: from! };

  return {
    name: 'twilio',
    async send({ to, body }: SmsMessage) {
      const destination = maskPhone(to);
      for (let attempt = 1; ; attempt++) {
        try {
          const message = await client.messages.create({ to, body, ...sender });
          logger.info('sms accepted by twilio', { to: destination, sid: message.sid, attempt });
          return;
        } catch (error) {
          const outcome = classify(error);
          const willRetry = outcome.retry && attempt <= retries;
          // Twilio's own message may quote the full number; status and code say enough.
          const fields = { to: destination, attempt, status: outcome.status, code: outcome.code, failure: outcome.failure };
          if (willRetry) {
            const backoffMs = FIRST_BACKOFF_MS * 2 ** (attempt - 1);
            logger.warn('twilio send failed, retrying', { ...fields, backoffMs });
            await sleep(backoffMs);
            continue;
          }
          logger[outcome.failure === 'invalid_number' ? 'warn' : 'error']('twilio send failed', fields);
          throw new SmsDeliveryError(outcome.failure, describe(outcome, attempt));
        }
      }
    },
  };
}

function validate(options: TwilioSenderOptions, timeoutMs: number, retries: number): void {
  const problems: string[] = [];
  if (!options.accountSid?.startsWith('AC')) {
    problems.push(`the Twilio account SID must start with "AC" (an API key "SK…" is not an account SID), got ${JSON.stringify(preview(options.accountSid))}`);
  }
  if (!options.authToken) problems.push('the Twilio auth token is empty');
  if (options.from && options.messagingServiceSid) problems.push('give either a sender number or a messaging service SID, not both');
  if (!options.from && !options.messagingServiceSid) problems.push('a sender number or a messaging service SID is required');
  if (options.messagingServiceSid && !options.messagingServiceSid.startsWith('MG')) {
    problems.push(`the messaging service SID must start with "MG", got ${JSON.stringify(preview(options.messagingServiceSid))}`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) problems.push(`timeoutMs must be a positive number, got ${timeoutMs}`);
  if (!Number.isInteger(retries) || retries < 0) problems.push(`retries must be a whole number from 0, got ${retries}`);
  if (problems.length > 0) throw new Error(`Twilio SMS sender: ${problems.join('; ')}`);
}

// Enough of a misconfigured identifier to recognise it (an SK… API key given as the account, say) without echoing it whole.
function preview(value: string | undefined): string {
  if (!value) return '';
  return value.length > 6 ? `${value.slice(0, 4)}…` : value;
}

function classify(error: unknown): Outcome {
  const { status, code } = (error ?? {}) as { status?: unknown; code?: unknown };
  if (typeof status === 'number') {
    const twilioCode = typeof code === 'number' ? code : undefined;
    if (status === 429) return { failure: 'rate_limited', retry: true, status, code: twilioCode };
    if (status >= 500) return { failure: 'unavailable', retry: true, status, code: twilioCode };
    if (twilioCode !== undefined && UNDELIVERABLE_NUMBER_CODES.has(twilioCode)) {
      return { failure: 'invalid_number', retry: false, status, code: twilioCode };
    }
    // 401/403 and other 4xx: our credentials or request are wrong, which no retry will fix.
    return { failure: 'unavailable', retry: false, status, code: twilioCode };
  }
  // No HTTP answer: a timeout, a reset or a DNS failure, all worth another try.
  if (typeof code === 'string') return { failure: 'unavailable', retry: true, code };
  return { failure: 'unavailable', retry: false };
}

function describe(outcome: Outcome, attempts: number): string {
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  const detail = [outcome.status && `HTTP ${outcome.status}`, outcome.code && `code ${outcome.code}`].filter(Boolean).join(', ');
  const reason = {
    invalid_number: 'Twilio cannot deliver an SMS to this number',
    rate_limited: 'Twilio is throttling our messages',
    unavailable: 'Twilio did not accept the message',
  }[outcome.failure];
  return `${reason} (${detail || 'no answer'}) after ${tries}`;
}
