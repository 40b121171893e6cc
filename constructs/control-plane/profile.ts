/**
 * BSI IT-Grundschutz protection levels used as configuration profiles. A profile only chooses
 * defaults: every setting it picks can be overridden by a typed prop.
 *
 * - `basic`: the MUST requirements (APP.4.4 basic level) plus the STIG settings that cost nothing.
 * - `standard`: state of the art (APP.4.4 standard level); the default.
 * - `high`: proposals for high protection needs (TLS 1.3 only, stricter file modes, more audit
 *   detail, AlwaysPullImages).
 */
export type ProtectionProfile = 'basic' | 'standard' | 'high';

export const PROTECTION_PROFILES: readonly ProtectionProfile[] = ['basic', 'standard', 'high'];

/** Picks the value for a profile. */
export function byProfile<T>(profile: ProtectionProfile, values: Record<ProtectionProfile, T>): T {
  return values[profile];
}
