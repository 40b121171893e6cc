import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

/**
 * Protection need of an application in the sense of BSI IT-Grundschutz (normal, high, very high).
 * Recorded on its namespace (BSI APP.4.4.A1) and used to pick stricter defaults.
 */
export type ProtectionNeed = 'normal' | 'high' | 'very-high';

export const PROTECTION_NEEDS: readonly ProtectionNeed[] = ['normal', 'high', 'very-high'];

/** Label keys the blueprint writes on namespaces and workloads. */
export const APP_LABEL = 'hcb.dev/app';
export const PROTECTION_NEED_LABEL = 'hcb.dev/protection-need';
export const TEAM_LABEL = 'hcb.dev/team';
export const ENVIRONMENT_LABEL = 'hcb.dev/environment';

/** Throws unless `value` is a protection need. */
export function requireProtectionNeed(scope: Construct, prop: string, value: unknown): ProtectionNeed {
  if (!PROTECTION_NEEDS.includes(value as ProtectionNeed)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'is not a protection need',
      `use one of ${PROTECTION_NEEDS.join(', ')}`,
    );
  }
  return value as ProtectionNeed;
}
