/** Why a log-in step failed; interaction handlers map each code to a page message or a JSON error. */
export type AuthErrorCode =
  | 'invalid_credentials'
  | 'too_many_attempts'
  | 'busy'
  | 'invalid_request'
  | 'unknown_credential'
  | 'challenge_expired'
  | 'challenge_mismatch'
  | 'user_verification_required'
  | 'origin_mismatch'
  | 'rp_id_mismatch'
  | 'credential_mismatch'
  | 'counter_regression'
  | 'invalid_assertion'
  | 'member_unavailable';

/**
 * The one error every log-in method throws. `retryAt` is set when the member must wait
 * (`too_many_attempts`, `busy`, and a wrong password whose failure started a wait); `triesLeft`, on a
 * wrong password, says how many more tries may fail before one has to wait.
 */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly retryAt: Date | undefined;
  readonly triesLeft: number | undefined;
  constructor(code: AuthErrorCode, message: string, retryAt?: Date, extra: { triesLeft?: number } = {}) {
    super(message);
    this.code = code;
    this.retryAt = retryAt;
    this.triesLeft = extra.triesLeft;
  }
}
