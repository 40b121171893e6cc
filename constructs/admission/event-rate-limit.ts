import { Construct } from 'constructs';
import { checkPositiveInt } from '../control-plane/validation';

/** One EventRateLimit limit. */
export interface EventRateLimitValues {
  readonly qps: number;
  readonly burst: number;
}

export interface EventRateLimitProps {
  /** Whole-server limit. @default { qps: 50, burst: 100 } */
  readonly server?: EventRateLimitValues;
  /** Per-namespace limit. @default { qps: 10, burst: 50 } */
  readonly namespace?: EventRateLimitValues;
  /** Per-user limit. @default { qps: 10, burst: 50 } */
  readonly user?: EventRateLimitValues;
}

/**
 * The EventRateLimit admission plugin's configuration (eventratelimit.admission.k8s.io/v1alpha1):
 * caps the rate of Event writes so that a noisy or hostile client cannot flood the API server
 * and etcd (CIS 1.2.9).
 */
export class EventRateLimit extends Construct {
  private readonly limits: Array<{ type: string; values: EventRateLimitValues }>;

  constructor(scope: Construct, id: string, props: EventRateLimitProps = {}) {
    super(scope, id);
    const check = (name: string, v: EventRateLimitValues) => {
      checkPositiveInt(this, `${name}.qps`, v.qps, 1, 100_000);
      checkPositiveInt(this, `${name}.burst`, v.burst, 1, 100_000);
      return v;
    };
    this.limits = [
      { type: 'Server', values: check('server', props.server ?? { qps: 50, burst: 100 }) },
      { type: 'Namespace', values: check('namespace', props.namespace ?? { qps: 10, burst: 50 }) },
      { type: 'User', values: check('user', props.user ?? { qps: 10, burst: 50 }) },
    ];
  }

  public toObject(): Record<string, unknown> {
    return {
      apiVersion: 'eventratelimit.admission.k8s.io/v1alpha1',
      kind: 'Configuration',
      limits: this.limits.map((l) =>
        l.type === 'Server'
          ? { type: l.type, qps: l.values.qps, burst: l.values.burst }
          : { type: l.type, qps: l.values.qps, burst: l.values.burst, cacheSize: 2000 },
      ),
    };
  }
}
