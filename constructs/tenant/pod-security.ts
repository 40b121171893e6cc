import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

/** Pod Security Standard levels a namespace can enforce through Pod Security Admission. */
export type NamespacePodSecurityLevel = 'restricted' | 'baseline';

/** Pod Security Standards version the blueprint pins by default (the Kubernetes minor it ships). */
export const DEFAULT_POD_SECURITY_VERSION = 'v1.36';

/**
 * A reviewed, expiring exception that lets a namespace enforce `baseline` instead of
 * `restricted`. Audit and warn stay at `restricted`, so every relaxed pod stays visible.
 */
export interface PodSecurityException {
  /** The level enforced instead of `restricted`. */
  readonly level: 'baseline';
  /** Why the namespace cannot run at `restricted`. */
  readonly justification: string;
  /** Who answers for the exception (team or person). */
  readonly owner: string;
  /** Last day the exception is valid (YYYY-MM-DD, UTC). An expired exception is refused. */
  readonly expires: string;
  /**
   * Ticket or change reference.
   * @default - none
   */
  readonly ticket?: string;
}

const VERSION = /^(latest|v1\.(0|[1-9]\d{0,2}))$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Throws unless `version` is a Pod Security Admission version label value ('v1.36' or 'latest'). */
export function requirePodSecurityVersion(scope: Construct, prop: string, version: unknown): string {
  if (typeof version !== 'string' || !VERSION.test(version)) {
    throw new BlueprintPropError(
      scope,
      prop,
      version,
      'is not a Pod Security Admission version',
      'pin a Kubernetes minor such as "v1.36" (or "latest", which moves with the cluster)',
    );
  }
  return version;
}

/** Throws unless the exception is complete, well formed and not expired at `today` (YYYY-MM-DD). */
export function requirePodSecurityException(
  scope: Construct,
  prop: string,
  ex: PodSecurityException,
  today: string,
): PodSecurityException {
  if (ex === null || typeof ex !== 'object') {
    throw new BlueprintPropError(scope, prop, ex, 'must be an object', 'give { level, justification, owner, expires }');
  }
  if (ex.level !== 'baseline') {
    throw new BlueprintPropError(
      scope,
      `${prop}.level`,
      ex.level,
      'the only relaxed level a namespace may enforce is "baseline"',
      'use level "baseline"; privileged workloads belong in a platform namespace, not an application namespace',
    );
  }
  for (const field of ['justification', 'owner'] as const) {
    if (typeof ex[field] !== 'string' || ex[field].trim().length === 0) {
      throw new BlueprintPropError(
        scope,
        `${prop}.${field}`,
        ex[field],
        'must not be empty',
        `say ${field === 'owner' ? 'who answers for' : 'why you need'} the exception`,
      );
    }
  }
  const m = typeof ex.expires === 'string' ? DATE.exec(ex.expires) : null;
  const date = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : undefined;
  if (!m || !date || date.getUTCMonth() !== +m[2] - 1 || date.getUTCDate() !== +m[3]) {
    throw new BlueprintPropError(
      scope,
      `${prop}.expires`,
      ex.expires,
      'is not a date (YYYY-MM-DD)',
      'give the last valid day, e.g. "2026-12-31"',
    );
  }
  if (ex.expires < today) {
    throw new BlueprintPropError(
      scope,
      `${prop}.expires`,
      ex.expires,
      `the exception expired (today is ${today})`,
      'fix the workloads so the namespace runs at "restricted", or renew the exception after review',
    );
  }
  return ex;
}

/** The six Pod Security Admission labels for a namespace. */
export function podSecurityLabels(enforce: NamespacePodSecurityLevel, version: string): Record<string, string> {
  return {
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/audit-version': version,
    'pod-security.kubernetes.io/enforce': enforce,
    'pod-security.kubernetes.io/enforce-version': version,
    'pod-security.kubernetes.io/warn': 'restricted',
    'pod-security.kubernetes.io/warn-version': version,
  };
}
