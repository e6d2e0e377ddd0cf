/**
 * The one place that says which proofs give which `acr` and `amr` (RFC 8176 values; `phr` from
 * OpenID Connect EAP ACR Values). Every log-in method reports what it proved; only this file turns
 * that into claims.
 */
export const ACR = {
  /** Member number and password. */
  password: 'urn:jmb:loa:1',
  /** A passkey with user verification: phishing-resistant and multi-factor in one step. */
  phishingResistant: 'phr',
  /** A first factor plus a one-time code by SMS to the member's registered phone. */
  stepUp: 'urn:jmb:loa:2',
} as const;

export type Acr = (typeof ACR)[keyof typeof ACR];

/** What a completed log-in step proved. A synced passkey lives in a provider's cloud, a device-bound one in hardware. */
export type Proof = { method: 'password' } | { method: 'passkey'; synced: boolean } | { method: 'sms-otp' };

export type Assurance = { acr: Acr; amr: string[] };

/** The acr values this IdP can honestly issue, as advertised in discovery. */
export const supportedAcrValues: readonly Acr[] = [ACR.password, ACR.phishingResistant, ACR.stepUp];

/** The assurance a set of proofs adds up to. */
export function assuranceOf(proofs: readonly Proof[]): Assurance {
  const passkey = proofs.find((proof) => proof.method === 'passkey');
  const first = passkey ? [passkey.synced ? 'swk' : 'hwk', 'user'] : proofs.some((p) => p.method === 'password') ? ['pwd'] : [];
  if (first.length === 0) throw new Error('a log-in needs a first factor');
  if (proofs.some((proof) => proof.method === 'sms-otp')) return { acr: ACR.stepUp, amr: [...first, 'sms', 'otp', 'mfa'] };
  if (passkey) return { acr: ACR.phishingResistant, amr: [...first, 'mfa'] };
  return { acr: ACR.password, amr: first };
}

/** The first-factor proofs a session's `amr` records, so a later step can add to them. */
export function proofsFromAmr(amr: readonly string[] | undefined): Proof[] {
  if (amr?.includes('hwk') || amr?.includes('swk')) return [{ method: 'passkey', synced: amr.includes('swk') }];
  if (amr?.includes('pwd')) return [{ method: 'password' }];
  return [];
}
