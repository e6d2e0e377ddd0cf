/** One text message. `body` may hold a one-time code: a sender never logs it. */
export type SmsMessage = { to: string; body: string };

/** Why a message could not be sent; each maps to a message the member understands. */
export type SmsFailure = 'invalid_number' | 'rate_limited' | 'unavailable';

/** A message was not sent. Nothing about the member's code or limits changes because of it. */
export class SmsDeliveryError extends Error {
  readonly failure: SmsFailure;
  constructor(failure: SmsFailure, message: string) {
    super(message);
    this.failure = failure;
  }
}

/** The port every SMS transport implements (outbox file, Twilio, in-memory for tests). */
export type SmsSender = {
  readonly name: string;
  /** Resolves once the provider accepted the message; throws SmsDeliveryError otherwise. */
  send(message: SmsMessage): Promise<void>;
};
