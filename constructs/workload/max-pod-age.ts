import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

/**
 * Annotation that records the longest a pod of the workload should run (BSI APP.4.4.A21).
 *
 * Kubernetes itself never stops a pod for its age. The annotation is a declaration that a
 * mechanism must act on; what enforces it in a cluster built with this blueprint:
 * - `PodRestartSchedule` (this package) renders a CronJob that runs `kubectl rollout restart`
 *   on the workload more often than the maximum age, under a ServiceAccount that may patch only
 *   that one workload; or
 * - the descheduler's PodLifeTime strategy (third party, not shipped here), configured with the
 *   same age.
 * Without one of them the annotation alone enforces nothing; the catalogue can check that it is
 * present and that a restart schedule exists.
 */
export const MAX_POD_AGE_ANNOTATION = 'hcb.dev/max-pod-age';

const DURATION = /^([1-9]\d{0,3})(h|m)$/;

/** Parses '24h' or '90m' to minutes; throws on anything else or on less than 10 minutes. */
export function requireMaxPodAge(scope: Construct, prop: string, value: unknown): number {
  const m = typeof value === 'string' ? DURATION.exec(value) : null;
  const minutes = m ? Number(m[1]) * (m[2] === 'h' ? 60 : 1) : NaN;
  if (!m || minutes < 10 || minutes > 7 * 24 * 60) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'is not a maximum pod age between 10m and 168h',
      'write whole hours or minutes, e.g. "24h" (BSI APP.4.4.A21 asks for at most 24 hours)',
    );
  }
  return minutes;
}
