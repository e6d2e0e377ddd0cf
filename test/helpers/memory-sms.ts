import { SmsDeliveryError, type SmsFailure, type SmsMessage, type SmsSender } from '../../src/auth/sms-otp/sms-sender.ts';

/** An SMS transport that keeps messages in memory; `failNext` makes the next sends fail like a provider outage. */
export class MemorySms implements SmsSender {
  readonly name = 'memory';
  readonly sent: SmsMessage[] = [];
  private failures: SmsFailure[] = [];

  async send(message: SmsMessage): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw new SmsDeliveryError(failure, `simulated ${failure}`);
    this.sent.push(message);
  }

  failNext(failure: SmsFailure, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(failure);
  }

  /** The code in the newest message to `to`, read from its origin-bound last line. */
  lastCode(to?: string): string {
    const message = [...this.sent].reverse().find((m) => !to || m.to === to);
    const code = message && /#(\d{6})\s*$/.exec(message.body)?.[1];
    if (!code) throw new Error(`no code was sent${to ? ` to ${to}` : ''}`);
    return code;
  }
}
