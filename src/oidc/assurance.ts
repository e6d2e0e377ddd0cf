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
} as const;

export type Acr = (typeof ACR)[keyof typeof ACR];

/** What a completed log-in step proved. A synced passkey lives in a provider's cloud, a device-bound one in hardware. */
export type Proof = { method: 'password' } | { method: 'passkey'; synced: boolean };

export type Assurance = { acr: Acr; amr: string[] };

/** The acr values this IdP can honestly issue, as advertised in discovery. */
export const supportedAcrValues: readonly Acr[] = [ACR.password, ACR.phishingResistant];

/** The assurance a set of proofs adds up to. */
export function assuranceOf(proofs: readonly Proof[]): Assurance {
  const passkey = proofs.find((proof) => proof.method === 'passkey');
  if (passkey) return { acr: ACR.phishingResistant, amr: [passkey.synced ? 'swk' : 'hwk', 'user', 'mfa'] };
  if (proofs.some((proof) => proof.method === 'password')) return { acr: ACR.password, amr: ['pwd'] };
  throw new Error('a log-in needs at least one proof');
}
