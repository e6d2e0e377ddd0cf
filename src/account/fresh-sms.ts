import type { OtpRequest, SmsOtp } from '../auth/sms-otp/sms-otp.ts';
import type { Clock, ExpiringDocuments, Member } from '../store/port.ts';

/** How long an SMS verification lets the member change their passkeys. */
export const FRESH_SMS_MS = 10 * 60 * 1000;

/**
 * Where a change to a member's passkeys is made: the account page (`account`, bound to the IdP
 * session) or a sign-in offering a passkey (`enrolment`, bound to the sign-in), with, for a
 * sign-in, the `amr` its log-in recorded.
 */
export type ChangeScope = { purpose: 'account' | 'enrolment'; bindTo: string; signInAmr?: readonly string[] };

// The kinds as the verifications have always been stored, so one made before an upgrade still counts.
const KIND = { account: 'AccountSmsVerification', enrolment: 'PasskeyOfferVerified' } as const;

/**
 * The rule that guards every change to a member's passkeys: their phone verified by an SMS code, in
 * the scope of the change, at most ten minutes ago; or, in a sign-in, by the sign-in's own SMS step.
 * A verification is a document that expires ten minutes after the code was accepted, so the store's
 * expiry is the clock of the rule.
 */
export function createFreshSms({ documents, smsOtp, clock }: { documents: ExpiringDocuments; smsOtp: Pick<SmsOtp, 'verify'>; clock: Clock }) {
  return {
    /** Checks the code sent for the scope; when it is right, the member's passkeys may change in that scope for ten minutes. Throws OtpError otherwise. */
    async verify(request: OtpRequest & { purpose: ChangeScope['purpose']; code: string }): Promise<void> {
      await smsOtp.verify(request);
      const verifiedAt = clock();
      await documents.upsert(KIND[request.purpose], request.bindTo, { memberId: request.member.id, verifiedAt }, new Date(verifiedAt + FRESH_SMS_MS));
    },

    /** Whether the member's passkeys may change in `scope` now. */
    async holds(member: Member, scope: ChangeScope): Promise<boolean> {
      if (scope.signInAmr?.includes('sms')) return true;
      return (await documents.find(KIND[scope.purpose], scope.bindTo))?.memberId === member.id;
    },
  };
}

/** The fresh-SMS rule, as createFreshSms builds it. */
export type FreshSms = ReturnType<typeof createFreshSms>;
