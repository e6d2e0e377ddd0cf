import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../log.ts';
import { maskPhone } from '../../members/members.ts';
import type { Clock } from '../../store/port.ts';
import type { SmsMessage, SmsSender } from './sms-sender.ts';

export type OutboxSenderOptions = { file: string; logger: Logger; clock: Clock };

/** A development sender: each message becomes one JSON line `{to, body, at}` in `file`, readable only by its owner. */
export function createOutboxSender({ file, logger, clock }: OutboxSenderOptions): SmsSender {
  return {
    name: 'outbox',
    async send({ to, body }: SmsMessage) {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const line = `${JSON.stringify({ to, body, at: new Date(clock()).toISOString() })}\n`;
      // One appendFile per message: a single write with O_APPEND, so concurrent sends never interleave within a line.
      await appendFile(file, line, { mode: 0o600 });
      // The body holds the member's code: the log names the destination only.
      logger.info('sms written to outbox', { to: maskPhone(to) });
    },
  };
}
