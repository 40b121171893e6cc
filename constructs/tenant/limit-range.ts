import { Construct } from 'constructs';
import { KubeLimitRange, Quantity } from 'cdk8s-plus-28/lib/imports/k8s';
import { BoundedResource, registerLimitRange } from '../common/collisions';
import { requireDnsSubdomain, requireUserNamespace } from './names';
import { NamespaceSize, requireSize, SIZED_CONTAINER_LIMITS } from './namespace-size';
import { stampProvenance } from './provenance';
import { requireNotAbove, requireQuantity } from './quantity';

/** Overrides of the sized per-container defaults and maxima. */
export interface ContainerLimitDefaults {
  /** Request given to containers that set none. @default per size: '100m' (large '250m') */
  readonly defaultRequestCpu?: string;
  /** @default per size: '128Mi' (large '256Mi') */
  readonly defaultRequestMemory?: string;
  /** Limit given to containers that set none. @default per size: '500m' (large '1') */
  readonly defaultLimitCpu?: string;
  /** @default per size: '512Mi' (large '1Gi') */
  readonly defaultLimitMemory?: string;
  /** Largest CPU limit one container may ask for. @default per size: small '2', medium '4', large '8' */
  readonly maxCpu?: string;
  /** Largest memory limit one container may ask for. @default per size: small '4Gi', medium '8Gi', large '16Gi' */
  readonly maxMemory?: string;
  /** Node disk reserved for containers that set none. @default per size: '64Mi' (large '128Mi') */
  readonly defaultRequestEphemeralStorage?: string;
  /** Node disk containers that set no limit may use before eviction. @default per size: '1Gi' (large '2Gi') */
  readonly defaultLimitEphemeralStorage?: string;
  /** Largest ephemeral-storage limit one container may ask for. @default per size: small '4Gi', medium '8Gi', large '16Gi' */
  readonly maxEphemeralStorage?: string;
  /** Smallest CPU request a container may ask for (LimitRange `min`). @default - no minimum */
  readonly minCpu?: string;
  /** Smallest memory request a container may ask for. @default - no minimum */
  readonly minMemory?: string;
  /** Smallest ephemeral-storage request a container may ask for. @default - no minimum */
  readonly minEphemeralStorage?: string;
}

type MinKey = 'minCpu' | 'minMemory' | 'minEphemeralStorage';
/** The resolved figures: every default and maximum, and the minima that were given. */
export type ResolvedContainerLimits = Required<Omit<ContainerLimitDefaults, MinKey>> &
  Pick<ContainerLimitDefaults, MinKey>;

export interface NamespaceLimitRangeProps extends ContainerLimitDefaults {
  /** Namespace the LimitRange applies to. */
  readonly namespace: string;
  /**
   * Name of the LimitRange.
   * @default 'hcb-limits'
   */
  readonly name?: string;
  /**
   * Size that picks the default figures.
   * @default 'small'
   */
  readonly size?: NamespaceSize;
}

/** Resolves and validates per-container limits: defaultRequest <= defaultLimit <= max. */
export function resolveContainerLimits(
  scope: Construct,
  size: NamespaceSize,
  o: ContainerLimitDefaults,
  propPrefix = '',
): ResolvedContainerLimits {
  const base = SIZED_CONTAINER_LIMITS[size];
  const l: Required<Omit<ContainerLimitDefaults, MinKey>> = {
    defaultRequestCpu: o.defaultRequestCpu ?? base.defaultRequestCpu,
    defaultRequestMemory: o.defaultRequestMemory ?? base.defaultRequestMemory,
    defaultLimitCpu: o.defaultLimitCpu ?? base.defaultLimitCpu,
    defaultLimitMemory: o.defaultLimitMemory ?? base.defaultLimitMemory,
    maxCpu: o.maxCpu ?? base.maxCpu,
    maxMemory: o.maxMemory ?? base.maxMemory,
    defaultRequestEphemeralStorage: o.defaultRequestEphemeralStorage ?? base.defaultRequestEphemeralStorage,
    defaultLimitEphemeralStorage: o.defaultLimitEphemeralStorage ?? base.defaultLimitEphemeralStorage,
    maxEphemeralStorage: o.maxEphemeralStorage ?? base.maxEphemeralStorage,
  };
  for (const k of Object.keys(l) as Array<keyof typeof l>)
    requireQuantity(scope, propPrefix + k, l[k], { positive: true });
  const p = (k: string) => propPrefix + k;
  requireNotAbove(scope, p('defaultRequestCpu'), l.defaultRequestCpu, p('defaultLimitCpu'), l.defaultLimitCpu);
  requireNotAbove(scope, p('defaultLimitCpu'), l.defaultLimitCpu, p('maxCpu'), l.maxCpu);
  requireNotAbove(
    scope,
    p('defaultRequestMemory'),
    l.defaultRequestMemory,
    p('defaultLimitMemory'),
    l.defaultLimitMemory,
  );
  requireNotAbove(scope, p('defaultLimitMemory'), l.defaultLimitMemory, p('maxMemory'), l.maxMemory);
  requireNotAbove(
    scope,
    p('defaultRequestEphemeralStorage'),
    l.defaultRequestEphemeralStorage,
    p('defaultLimitEphemeralStorage'),
    l.defaultLimitEphemeralStorage,
  );
  requireNotAbove(
    scope,
    p('defaultLimitEphemeralStorage'),
    l.defaultLimitEphemeralStorage,
    p('maxEphemeralStorage'),
    l.maxEphemeralStorage,
  );
  // A minimum above the namespace's own default request would make the API server refuse every
  // container that relies on the defaults.
  const mins: { -readonly [K in MinKey]?: string } = {};
  for (const [k, req] of [
    ['minCpu', 'defaultRequestCpu'],
    ['minMemory', 'defaultRequestMemory'],
    ['minEphemeralStorage', 'defaultRequestEphemeralStorage'],
  ] as const) {
    const v = o[k];
    if (v === undefined) continue;
    requireQuantity(scope, p(k), v, { positive: true });
    requireNotAbove(scope, p(k), v, p(req), l[req]);
    mins[k] = v;
  }
  return { ...l, ...mins };
}

/**
 * A LimitRange that gives every container a default request and limit (CPU, memory, ephemeral
 * storage) and caps what one container may ask for, so no pod runs unbounded (BSI APP.4.4.A1
 * CPU and storage separation).
 */
export class NamespaceLimitRange extends Construct {
  /** Name of the generated LimitRange. */
  public readonly limitRangeName: string;
  /** The resolved figures. */
  public readonly limits: ResolvedContainerLimits;

  constructor(scope: Construct, id: string, props: NamespaceLimitRangeProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    this.limitRangeName = requireDnsSubdomain(this, 'name', props.name ?? 'hcb-limits');
    const size = requireSize(this, 'size', props.size ?? 'small');
    const l = (this.limits = resolveContainerLimits(this, size, props));
    const min: Partial<Record<BoundedResource, string>> = {
      ...(l.minCpu !== undefined ? { cpu: l.minCpu } : {}),
      ...(l.minMemory !== undefined ? { memory: l.minMemory } : {}),
      ...(l.minEphemeralStorage !== undefined ? { 'ephemeral-storage': l.minEphemeralStorage } : {}),
    };
    // Workloads of this app in the namespace are checked against these bounds (HardenedWorkload).
    registerLimitRange(this, {
      path: this.node.path,
      namespace,
      limitRangeName: this.limitRangeName,
      min,
      max: { cpu: l.maxCpu, memory: l.maxMemory, 'ephemeral-storage': l.maxEphemeralStorage },
    });
    stampProvenance(
      new KubeLimitRange(this, 'Resource', {
        metadata: { name: this.limitRangeName, namespace },
        spec: {
          limits: [
            {
              type: 'Container',
              default: {
                cpu: Quantity.fromString(l.defaultLimitCpu),
                memory: Quantity.fromString(l.defaultLimitMemory),
                'ephemeral-storage': Quantity.fromString(l.defaultLimitEphemeralStorage),
              },
              defaultRequest: {
                cpu: Quantity.fromString(l.defaultRequestCpu),
                memory: Quantity.fromString(l.defaultRequestMemory),
                'ephemeral-storage': Quantity.fromString(l.defaultRequestEphemeralStorage),
              },
              max: {
                cpu: Quantity.fromString(l.maxCpu),
                memory: Quantity.fromString(l.maxMemory),
                'ephemeral-storage': Quantity.fromString(l.maxEphemeralStorage),
              },
              ...(Object.keys(min).length > 0
                ? { min: Object.fromEntries(Object.entries(min).map(([k, v]) => [k, Quantity.fromString(v!)])) }
                : {}),
            },
          ],
        },
      }),
    );
  }
}
