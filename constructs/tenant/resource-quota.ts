import { Construct } from 'constructs';
import { KubeResourceQuota, Quantity } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
import { requireDnsSubdomain, requireUserNamespace } from './names';
import { NamespaceSize, requireSize, SIZED_QUOTA } from './namespace-size';
import { stampProvenance } from './provenance';
import { requireNotAbove, requireQuantity } from './quantity';

/** Overrides of the sized quota; each omitted figure comes from the namespace size. */
export interface ResourceQuotaLimits {
  /** @default per size: small '2', medium '8', large '32' */
  readonly requestsCpu?: string;
  /** @default per size: small '4Gi', medium '16Gi', large '64Gi' */
  readonly requestsMemory?: string;
  /** @default per size: small '4', medium '16', large '64' */
  readonly limitsCpu?: string;
  /** @default per size: small '8Gi', medium '32Gi', large '128Gi' */
  readonly limitsMemory?: string;
  /** @default per size: small '20Gi', medium '100Gi', large '500Gi' */
  readonly requestsStorage?: string;
  /** Node disk all pods together may reserve. @default per size: small '4Gi', medium '16Gi', large '64Gi' */
  readonly requestsEphemeralStorage?: string;
  /** Node disk all pods together may use. @default per size: small '20Gi', medium '64Gi', large '256Gi' */
  readonly limitsEphemeralStorage?: string;
  /** @default per size: small 20, medium 50, large 200 */
  readonly pods?: number;
  /** @default per size: small 10, medium 20, large 50 */
  readonly services?: number;
  /** @default per size: small 5, medium 20, large 50 */
  readonly persistentVolumeClaims?: number;
  /** @default per size: small 50, medium 100, large 200 */
  readonly configMaps?: number;
  /** @default per size: small 50, medium 100, large 200 */
  readonly secrets?: number;
  /**
   * Services of type LoadBalancer. Zero keeps the namespace from exposing itself (BSI A7).
   * @default 0
   */
  readonly loadBalancers?: number;
  /**
   * Services of type NodePort. Zero keeps node ports closed (BSI A7).
   * @default 0
   */
  readonly nodePorts?: number;
}

export interface NamespaceResourceQuotaProps extends ResourceQuotaLimits {
  /** Namespace the quota limits. */
  readonly namespace: string;
  /**
   * Name of the ResourceQuota.
   * @default 'hcb-quota'
   */
  readonly name?: string;
  /**
   * Size that picks the default figures.
   * @default 'small'
   */
  readonly size?: NamespaceSize;
}

const COUNT_KEYS: ReadonlyArray<[keyof ResourceQuotaLimits, string]> = [
  ['configMaps', 'count/configmaps'],
  ['persistentVolumeClaims', 'persistentvolumeclaims'],
  ['pods', 'pods'],
  ['secrets', 'count/secrets'],
  ['services', 'services'],
  ['loadBalancers', 'services.loadbalancers'],
  ['nodePorts', 'services.nodeports'],
];

/** Resolves and validates the quota figures of a size with overrides; shared with HardenedNamespace. */
export function resolveQuota(
  scope: Construct,
  size: NamespaceSize,
  o: ResourceQuotaLimits,
  propPrefix = '',
): Required<ResourceQuotaLimits> {
  const base = SIZED_QUOTA[size];
  const q: Required<ResourceQuotaLimits> = {
    requestsCpu: o.requestsCpu ?? base.requestsCpu,
    requestsMemory: o.requestsMemory ?? base.requestsMemory,
    limitsCpu: o.limitsCpu ?? base.limitsCpu,
    limitsMemory: o.limitsMemory ?? base.limitsMemory,
    requestsStorage: o.requestsStorage ?? base.requestsStorage,
    requestsEphemeralStorage: o.requestsEphemeralStorage ?? base.requestsEphemeralStorage,
    limitsEphemeralStorage: o.limitsEphemeralStorage ?? base.limitsEphemeralStorage,
    pods: o.pods ?? base.pods,
    services: o.services ?? base.services,
    persistentVolumeClaims: o.persistentVolumeClaims ?? base.persistentVolumeClaims,
    configMaps: o.configMaps ?? base.configMaps,
    secrets: o.secrets ?? base.secrets,
    loadBalancers: o.loadBalancers ?? 0,
    nodePorts: o.nodePorts ?? 0,
  };
  for (const k of [
    'requestsCpu',
    'requestsMemory',
    'limitsCpu',
    'limitsMemory',
    'requestsStorage',
    'requestsEphemeralStorage',
    'limitsEphemeralStorage',
  ] as const) {
    requireQuantity(scope, propPrefix + k, q[k]);
  }
  for (const [k] of COUNT_KEYS) {
    const v = q[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new BlueprintPropError(
        scope,
        propPrefix + k,
        v,
        'must be a whole number of objects, zero or more',
        'give an integer such as 10',
      );
    }
  }
  requireNotAbove(scope, propPrefix + 'requestsCpu', q.requestsCpu, propPrefix + 'limitsCpu', q.limitsCpu);
  requireNotAbove(scope, propPrefix + 'requestsMemory', q.requestsMemory, propPrefix + 'limitsMemory', q.limitsMemory);
  requireNotAbove(
    scope,
    propPrefix + 'requestsEphemeralStorage',
    q.requestsEphemeralStorage,
    propPrefix + 'limitsEphemeralStorage',
    q.limitsEphemeralStorage,
  );
  return q;
}

/**
 * A ResourceQuota that caps CPU, memory, storage, ephemeral storage and object counts of a namespace and keeps
 * LoadBalancer and NodePort services at zero unless asked for (BSI APP.4.4.A1 CPU and storage
 * separation, A7).
 */
export class NamespaceResourceQuota extends Construct {
  /** Name of the generated ResourceQuota. */
  public readonly quotaName: string;
  /** The resolved figures (size defaults with overrides applied). */
  public readonly limits: Required<ResourceQuotaLimits>;

  constructor(scope: Construct, id: string, props: NamespaceResourceQuotaProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    this.quotaName = requireDnsSubdomain(this, 'name', props.name ?? 'hcb-quota');
    const size = requireSize(this, 'size', props.size ?? 'small');
    const q = (this.limits = resolveQuota(this, size, props));
    const hard: Record<string, Quantity> = {
      'limits.cpu': Quantity.fromString(q.limitsCpu),
      'limits.memory': Quantity.fromString(q.limitsMemory),
      'requests.cpu': Quantity.fromString(q.requestsCpu),
      'requests.memory': Quantity.fromString(q.requestsMemory),
      'requests.storage': Quantity.fromString(q.requestsStorage),
      'requests.ephemeral-storage': Quantity.fromString(q.requestsEphemeralStorage),
      'limits.ephemeral-storage': Quantity.fromString(q.limitsEphemeralStorage),
    };
    for (const [k, key] of COUNT_KEYS) hard[key] = Quantity.fromString(String(q[k]));
    const sorted: Record<string, Quantity> = {};
    for (const key of Object.keys(hard).sort()) sorted[key] = hard[key];
    stampProvenance(
      new KubeResourceQuota(this, 'Resource', {
        metadata: { name: this.quotaName, namespace },
        spec: { hard: sorted },
      }),
    );
  }
}
