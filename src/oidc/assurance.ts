/**
 * The one place that says which proofs give which `acr` and `amr` (RFC 8176 values).
 * Every log-in method reports what it proved; only this file turns that into claims.
 */
export const ACR = {
  /** Member number and password. */
  password: 'urn:jmb:loa:1',
} as const;

export type Acr = (typeof ACR)[keyof typeof ACR];

/** What a completed log-in step proved. */
export type Proof = { method: 'password' };

export type Assurance = { acr: Acr; amr: string[] };

/** The acr values this IdP can honestly issue, as advertised in discovery. */
export const supportedAcrValues: readonly Acr[] = [ACR.password];

/** The assurance a set of proofs adds up to. */
export function assuranceOf(proofs: readonly Proof[]): Assurance {
  if (proofs.length === 0) throw new Error('a log-in needs at least one proof');
  return { acr: ACR.password, amr: ['pwd'] };
}
