import type { SmsSettings } from '../../config/load.ts';
import type { Logger } from '../../log.ts';
import type { Clock } from '../../store/port.ts';
import { createOutboxSender } from './outbox-sender.ts';
import type { SmsSender } from './sms-sender.ts';
import { createTwilioSender } from './twilio-sender.ts';

/** The SMS transport SMS_TRANSPORT names: the development outbox file or Twilio. */
export function createSmsSender(settings: SmsSettings, logger: Logger, clock: Clock): SmsSender {
  // Five seconds per attempt and two retries keep a member waiting at most about sixteen seconds.
  if (settings.transport === 'twilio' && settings.twilio) return createTwilioSender({ ...settings.twilio, timeoutMs: 5000, logger });
  return createOutboxSender({ file: settings.outboxFile, logger, clock });
}
