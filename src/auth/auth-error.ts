/** Why a passkey ceremony refused what the browser sent, at log-in and at registration alike. */
export const CEREMONY_ERRORS = [
  'invalid_request',
  'challenge_expired',
  'challenge_mismatch',
  'origin_mismatch',
  'rp_id_mismatch',
  'user_verification_required',
] as const;

/** Why a log-in step failed: a password, or a passkey's assertion. */
export const LOGIN_ERRORS = [
  ...CEREMONY_ERRORS,
  'invalid_credentials',
  'too_many_attempts',
  'busy',
  'unknown_credential',
  'credential_mismatch',
  'counter_regression',
  'invalid_assertion',
  'member_unavailable',
] as const;

/** Why a new passkey was not accepted. */
export const REGISTRATION_ERRORS = [...CEREMONY_ERRORS, 'invalid_attestation'] as const;

/** Why an SMS code was not sent or not accepted. */
export const OTP_ERRORS = [
  'not_eligible',
  'disabled',
  'locked',
  'cooldown',
  'limit_reached',
  'delivery_failed',
  'no_code',
  'invalid_code',
  'code_exhausted',
] as const;

/** A code of CEREMONY_ERRORS. */
export type CeremonyErrorCode = (typeof CEREMONY_ERRORS)[number];
/** A code of LOGIN_ERRORS. */
export type LoginErrorCode = (typeof LOGIN_ERRORS)[number];
/** A code of REGISTRATION_ERRORS. */
export type RegistrationErrorCode = (typeof REGISTRATION_ERRORS)[number];
/** A code of OTP_ERRORS. */
export type OtpErrorCode = (typeof OTP_ERRORS)[number];
/** Every reason a log-in method refuses; interaction handlers map each code to a page message or a JSON error. */
export type AuthErrorCode = LoginErrorCode | RegistrationErrorCode | OtpErrorCode;

/** What more a refusal says, where it applies. */
export type AuthErrorDetails = {
  /** When the member may try again (`too_many_attempts`, `busy`, `locked`, `cooldown`, `limit_reached`, a wrong password that started a wait). */
  retryAt?: Date;
  /** How many more tries may fail before one has to wait (a wrong password), or before the code is used up (a wrong SMS code). */
  triesLeft?: number;
  /** What failed underneath (the SMS transport's error for `delivery_failed`). */
  cause?: unknown;
};

/**
 * The one error every log-in method throws: the password and passkey log-ins, the passkey
 * registration ceremony and the SMS codes. `code` says why, from the method's own list.
 */
export class AuthError<Code extends AuthErrorCode = AuthErrorCode> extends Error {
  readonly code: Code;
  readonly retryAt: Date | undefined;
  readonly triesLeft: number | undefined;
  constructor(code: Code, message: string, details: AuthErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryAt = details.retryAt;
    this.triesLeft = details.triesLeft;
  }
}

/** True for an AuthError whose code is one of `codes` (one method's list), its code then typed as theirs. */
export function isAuthError<Code extends AuthErrorCode>(error: unknown, codes: readonly Code[]): error is AuthError<Code> {
  return error instanceof AuthError && (codes as readonly AuthErrorCode[]).includes(error.code);
}
