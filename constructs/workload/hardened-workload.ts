import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  IntOrString,
  KubeHorizontalPodAutoscalerV2,
  KubePodDisruptionBudget,
  KubeService,
  MetricSpecV2,
} from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import {
  BoundedResource,
  claimObjectName,
  hardenedNamespacesOf,
  limitRangesOf,
  NamespaceContainerBounds,
} from '../common/collisions';
import { BlueprintPropError } from '../common/errors';
import { NetworkAllowPolicy } from '../network/allow-policy';
import { NetworkPeer, SERVICE_ACCOUNT_LABEL } from '../network/network-peer';
import { NetworkPort } from '../network/network-port';
import { PodSelection } from '../network/pod-selection';
import { WorkloadIdentity } from '../rbac/workload-identity';
import type { HardenedNamespace } from '../tenant/hardened-namespace';
import { isDnsLabel, isDnsSubdomain, objectNameFrom, requireDnsSubdomain, requireUserNamespace } from '../tenant/names';
import { APP_LABEL, PROTECTION_NEED_LABEL, ProtectionNeed, requireProtectionNeed } from '../tenant/protection-need';
import { parseQuantity, requireQuantity } from '../tenant/quantity';
import { stampProvenance } from '../tenant/provenance';
import {
  ContainerResources,
  ephemeralStorage,
  HardenedContainerBaseProps,
  HardenedContainerProps,
  HardenedInitContainerProps,
  resolvedResources,
  toPlusContainer,
  VolumeRegistry,
} from './hardened-container';
import { isPinnedByDigest } from './image-reference';
import { MAX_POD_AGE_ANNOTATION, requireMaxPodAge } from './max-pod-age';
import { DedicatedNodes, renderPlacement } from './placement';
import { checkPodSpec } from './pod-template-checks';

/** Controller kind of a hardened workload. */
export type WorkloadKind = 'Deployment' | 'StatefulSet';

/** How strictly replicas are spread over zones. */
export type ZoneSpread = 'preferred' | 'required';

/**
 * Pod label that selects a workload's pods: its value is the workload's name, and selectors use
 * nothing else (the namespace scopes them), so renaming a chart or moving the construct does not
 * change a Deployment's or StatefulSet's selector, which the API server keeps immutable.
 */
export const WORKLOAD_LABEL = 'hcb.dev/workload';

/** Horizontal autoscaling (autoscaling/v2): the HorizontalPodAutoscaler owns the replica count. */
export interface WorkloadAutoscaling {
  /** Fewest replicas (at least 2 with high availability). */
  readonly minReplicas: number;
  /** Most replicas (at most 1000). */
  readonly maxReplicas: number;
  /**
   * Target average CPU use, in percent of the containers' CPU requests.
   * @default - no CPU target (give at least one target)
   */
  readonly cpuUtilization?: number;
  /**
   * Target average memory use, in percent of the containers' memory requests.
   * @default - no memory target (give at least one target)
   */
  readonly memoryUtilization?: number;
}

/** One container port offered through the workload's Service, and who may connect to it. */
export interface WorkloadExposure {
  /** The container port: its name (e.g. 'http') or number. */
  readonly port: string | number;
  /**
   * Port of the Service.
   * @default - the container port's number
   */
  readonly servicePort?: number;
  /**
   * Who may connect: at least one peer. The workload's NetworkAllowPolicy admits exactly these
   * peers on this port; an address block of everything (0.0.0.0/0, ::/0) is refused. Peers in
   * the same namespace also need egress to these pods (the namespace denies egress by default):
   * AllowInNamespaceTraffic opens both directions.
   */
  readonly from: NetworkPeer[];
}

/** Access modes of a persistent volume claim. */
export type VolumeAccessMode = 'ReadWriteOnce' | 'ReadWriteOncePod' | 'ReadOnlyMany' | 'ReadWriteMany';

/** A StatefulSet's per-pod persistent volume claim (mounted with containers[].claimMounts). */
export interface VolumeClaimTemplate {
  /** Name of the template and of the pod volume (RFC 1123 label); each pod's claim is `<name>-<pod>`. */
  readonly name: string;
  /** Requested size, e.g. '10Gi'. */
  readonly size: string;
  /**
   * StorageClass.
   * @default - the cluster's default StorageClass
   */
  readonly storageClass?: string;
  /** @default 'ReadWriteOnce' */
  readonly accessMode?: VolumeAccessMode;
}

const ACCESS_MODES: readonly VolumeAccessMode[] = [
  'ReadWriteOnce',
  'ReadWriteOncePod',
  'ReadOnlyMany',
  'ReadWriteMany',
];

/** Metadata key under which workload warnings are recorded on the construct node. */
export const WARNING_METADATA = 'hcb:warning';

/**
 * Prints a construct's warnings to stderr when the app is synthesized (construct validation
 * runs in app.synth()), each as `warning: <construct path>: <message>`. Returns no errors, so it
 * never fails the synth. Set HCB_SYNTH_WARNINGS=off to silence it.
 */
export function printWarningsAtSynth(scope: Construct, warnings: readonly string[]): void {
  let printed = false;
  scope.node.addValidation({
    validate: () => {
      if (!printed && process.env.HCB_SYNTH_WARNINGS !== 'off') {
        printed = true;
        for (const w of warnings) process.stderr.write(`warning: ${scope.node.path}: ${w}\n`);
      }
      return [];
    },
  });
}

/** The HardenedNamespace passed as `namespace` (recognised by shape, so a second copy of this package works too). */
function namespaceObject(ns: unknown): Pick<HardenedNamespace, 'namespaceName' | 'protectionNeed'> | undefined {
  if (typeof ns !== 'object' || ns === null) return undefined;
  const o = ns as Partial<HardenedNamespace>;
  return typeof o.namespaceName === 'string' && typeof o.protectionNeed === 'string'
    ? { namespaceName: o.namespaceName, protectionNeed: o.protectionNeed }
    : undefined;
}

export interface HardenedWorkloadProps {
  /**
   * Namespace: a HardenedNamespace (its `namespaceName`; the workload inherits its protection need
   * unless `protectionNeed` is set) or a namespace name. Reserved namespaces are refused (STIG V-242417).
   */
  readonly namespace: string | HardenedNamespace;
  /**
   * Name of the Deployment or StatefulSet.
   * @default - the construct id, if it is a valid object name
   */
  readonly name?: string;
  /**
   * Controller kind.
   * @default 'Deployment'
   */
  readonly kind?: WorkloadKind;
  /**
   * Application label (`hcb.dev/app`, `app.kubernetes.io/name`).
   * @default - the workload name
   */
  readonly app?: string;
  /**
   * Protection need; `high` turns high availability on by default, `very-high` also requires
   * dedicated nodes (or `dedicatedCluster`) and sets a 24h maximum pod age by default.
   * @default - the HardenedNamespace's, when `namespace` is one; else 'normal'
   */
  readonly protectionNeed?: ProtectionNeed;
  /** Application containers, at least one. Liveness and readiness probes are required. */
  readonly containers: HardenedContainerProps[];
  /**
   * Init containers for initialisation (BSI APP.4.4.A6); they run to completion, in order,
   * before the app containers start.
   * @default - none
   */
  readonly initContainers?: HardenedInitContainerProps[];
  /**
   * The pods' identity. A string names an existing ServiceAccount.
   * @default - a new WorkloadIdentity named like the workload, token automount off
   */
  readonly serviceAccount?: WorkloadIdentity | string;
  /**
   * User and group the containers run as (never 0).
   * @default 65532
   */
  readonly runAsUser?: number;
  /** @default - same as runAsUser */
  readonly runAsGroup?: number;
  /**
   * Number of replicas. Not with `autoscaling`, whose HorizontalPodAutoscaler owns the count.
   * @default - 2 with high availability, else 1 (none rendered with autoscaling)
   */
  readonly replicas?: number;
  /**
   * Horizontal autoscaling: a HorizontalPodAutoscaler (autoscaling/v2) named like the workload,
   * with CPU and/or memory targets; the Deployment or StatefulSet then renders no `replicas`.
   * @default - no autoscaling
   */
  readonly autoscaling?: WorkloadAutoscaling;
  /**
   * Container ports offered to others: a ClusterIP Service named like the workload, and a
   * NetworkAllowPolicy `<name>-expose` that admits exactly the named peers on those ports.
   * @default - no Service (a StatefulSet still gets its headless Service)
   */
  readonly expose?: WorkloadExposure[];
  /**
   * Where the NetworkAllowPolicy of `expose` is created. By default beside the workload; pass
   * the platform chart when a pipeline identity with the deployer preset applies the app chart
   * (the preset does not write NetworkPolicies).
   * @default - this workload
   */
  readonly exposeRulesScope?: Construct;
  /**
   * Secrets (type kubernetes.io/dockerconfigjson) the kubelet uses to pull the images.
   * @default - none
   */
  readonly imagePullSecrets?: string[];
  /**
   * StatefulSet only: a persistent volume claim per pod for each template; containers mount them
   * with `claimMounts: [{ claim: '<template name>', mountPath }]`.
   * @default - none
   */
  readonly volumeClaimTemplates?: VolumeClaimTemplate[];
  /**
   * Inject every Service of the namespace as environment variables (`<SVC>_SERVICE_HOST`, ...).
   * Off by default: it leaks the namespace's services into each process and slows pod start.
   * @default false
   */
  readonly enableServiceLinks?: boolean;
  /**
   * High availability (BSI APP.4.4.A19): at least 2 replicas, spread over zones and nodes, and a
   * PodDisruptionBudget that keeps all but one replica up during voluntary disruptions.
   * @default - true for protection need `high` and `very-high`, else false
   */
  readonly highAvailability?: boolean;
  /**
   * Zone spread with high availability: 'required' refuses to schedule a replica that would
   * unbalance the zones (nodes need the `topology.kubernetes.io/zone` label); 'preferred' only tries.
   * @default 'preferred'
   */
  readonly zoneSpread?: ZoneSpread;
  /**
   * Run only on dedicated nodes (BSI APP.4.4.A14, A15).
   * @default - no placement constraint
   */
  readonly dedicatedNodes?: DedicatedNodes;
  /**
   * Declares that the whole cluster is dedicated to this application, which satisfies
   * BSI APP.4.4.A15 for `very-high` without dedicated nodes.
   * @default false
   */
  readonly dedicatedCluster?: boolean;
  /**
   * Longest a pod should run, e.g. '24h' (BSI APP.4.4.A21). Recorded as the pod annotation
   * `hcb.dev/max-pod-age`; pair it with a PodRestartSchedule, which enforces it.
   * @default - '24h' for protection need `very-high`, else none
   */
  readonly maxPodAge?: string;
  /**
   * Termination grace period in seconds.
   * @default 30
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * The namespace is created outside this app (e.g. by the platform team's app). Only matters in
   * an app that has HardenedNamespaces of its own: there, a workload in a namespace none of them
   * creates fails at synth (a misspelt or forgotten namespace would otherwise be found only when
   * the apply fails, or land in an unhardened namespace), unless this is true. In an app without
   * any HardenedNamespace (an application app next to a platform app) nothing is checked.
   * @default false
   */
  readonly externalNamespace?: boolean;
}

/**
 * A Deployment or StatefulSet (cdk8s-plus-28) whose pods meet Pod Security `restricted` and the
 * workload controls of STIG and BSI APP.4.4:
 * non-root user, read-only root filesystem, no privilege escalation, capabilities drop ALL and
 * seccomp RuntimeDefault (both left unset by cdk8s-plus), explicit requests and limits (instead of
 * cdk8s-plus' fixed defaults), liveness and readiness probes (A11), init containers (A6), Secrets
 * only as read-only volumes (V-242415), no host namespaces and no host ports below 1024
 * (V-242414), own ServiceAccount without token (A9), dedicated nodes (A14/A15), zone spread and a
 * PodDisruptionBudget (A19), maximum pod age (A21). Images not pinned by digest are warned about.
 *
 * The rendered pod spec is checked again at synth time, so changes through escape hatches that
 * break a control fail the synth.
 *
 * Collisions fail instead of overwriting: two HardenedWorkloads of one app with the same name in
 * the same namespace (they would render the same ServiceAccount, PodDisruptionBudget and, for
 * Deployment and StatefulSet alike, pods of the same name); a container whose limit is above (or
 * request below) the namespace's LimitRange max (min), which the API server would refuse pod by
 * pod (checked when built if the namespace's HardenedNamespace/NamespaceLimitRange exists already,
 * else at synth); and, in an app that has HardenedNamespaces, a namespace none of them creates
 * (see `externalNamespace`).
 */
export class HardenedWorkload extends Construct {
  /** Name of the Deployment or StatefulSet. */
  public readonly workloadName: string;
  public readonly namespace: string;
  public readonly kind: WorkloadKind;
  /** Name of the pods' ServiceAccount. */
  public readonly serviceAccountName: string;
  /** The identity created for the workload (undefined when one was passed in or named). */
  public readonly identity?: WorkloadIdentity;
  /** Name of the PodDisruptionBudget (with high availability). */
  public readonly podDisruptionBudgetName?: string;
  /** Name of the StatefulSet's headless Service. */
  public readonly serviceName?: string;
  /** Name of the Service of `expose`. */
  public readonly exposedServiceName?: string;
  /** The NetworkAllowPolicy of `expose`. */
  public readonly exposePolicy?: NetworkAllowPolicy;
  /** Name of the HorizontalPodAutoscaler (with autoscaling). */
  public readonly autoscalerName?: string;
  /** The labels the workload's selector matches (`hcb.dev/workload: <name>`). */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  /** Labels every pod carries (and that selectors can use). */
  public readonly podLabels: Readonly<Record<string, string>>;
  /** The underlying cdk8s-plus workload (escape hatch; the synth-time check still applies). */
  public readonly workload: kplus.Deployment | kplus.StatefulSet;
  /** Warnings raised while building (e.g. images without digest). */
  public readonly warnings: readonly string[];

  constructor(scope: Construct, id: string, props: HardenedWorkloadProps) {
    super(scope, id);
    const warnings: string[] = [];
    this.warnings = warnings;
    const warn = (msg: string) => {
      warnings.push(msg);
      this.node.addMetadata(WARNING_METADATA, msg);
    };

    const nsObject = namespaceObject(props.namespace);
    const namespace = (this.namespace = requireUserNamespace(
      this,
      'namespace',
      nsObject ? nsObject.namespaceName : props.namespace,
    ));
    const name = (this.workloadName = objectNameFrom(this, id, props.name, 'web'));
    claimObjectName(
      this,
      'name',
      { kind: 'HardenedWorkload', namespace, name },
      'another HardenedWorkload',
      (other) =>
        `give one of the two workloads another name (props.name), or another namespace; both would render the workload, its ServiceAccount and PodDisruptionBudget "${namespace}/${name}" (other: ${other.path})`,
    );
    if (props.externalNamespace !== undefined && typeof props.externalNamespace !== 'boolean') {
      throw new BlueprintPropError(
        this,
        'externalNamespace',
        props.externalNamespace,
        'must be true or false',
        'pass true when another app creates the namespace',
      );
    }
    if (name.length > 52) {
      throw new BlueprintPropError(
        this,
        'name',
        name,
        'is longer than 52 characters, too long for the pods and revisions derived from it',
        'use a shorter name',
      );
    }
    const kind = (this.kind = props.kind ?? 'Deployment');
    if (kind !== 'Deployment' && kind !== 'StatefulSet') {
      throw new BlueprintPropError(this, 'kind', kind, 'is not a workload kind', "use 'Deployment' or 'StatefulSet'");
    }
    const app = props.app ?? name;
    if (!isDnsSubdomain(app) || app.length > 63) {
      throw new BlueprintPropError(
        this,
        'app',
        app,
        'must be a label value that is also an object name',
        "use lower-case letters, digits and '-'",
      );
    }
    const need = requireProtectionNeed(
      this,
      'protectionNeed',
      props.protectionNeed ?? nsObject?.protectionNeed ?? 'normal',
    );

    // Identity (BSI A9): a dedicated ServiceAccount, never "default".
    let saName: string;
    if (props.serviceAccount instanceof WorkloadIdentity) {
      if (props.serviceAccount.namespace !== namespace) {
        throw new BlueprintPropError(
          this,
          'serviceAccount',
          props.serviceAccount.serviceAccountName,
          `the identity lives in namespace "${props.serviceAccount.namespace}", the workload in "${namespace}"`,
          "create the WorkloadIdentity in the workload's namespace",
        );
      }
      saName = props.serviceAccount.serviceAccountName;
    } else if (typeof props.serviceAccount === 'string') {
      saName = requireDnsSubdomain(this, 'serviceAccount', props.serviceAccount);
      if (saName === 'default') {
        throw new BlueprintPropError(
          this,
          'serviceAccount',
          saName,
          'pods must not use the "default" ServiceAccount (BSI APP.4.4.A9)',
          'omit the prop to get an own ServiceAccount',
        );
      }
    } else if (props.serviceAccount === undefined) {
      this.identity = new WorkloadIdentity(this, 'Identity', { namespace, name });
      saName = name;
    } else {
      throw new BlueprintPropError(
        this,
        'serviceAccount',
        props.serviceAccount,
        'is not an identity',
        'pass a WorkloadIdentity, a ServiceAccount name, or nothing',
      );
    }
    this.serviceAccountName = saName;
    if (saName.length > 63) {
      throw new BlueprintPropError(
        this,
        'serviceAccount',
        saName,
        'is longer than 63 characters, too long for the service-account pod label',
        'use a shorter name',
      );
    }

    const user = props.runAsUser ?? 65532;
    const group = props.runAsGroup ?? user;
    for (const [p, v] of [
      ['runAsUser', user],
      ['runAsGroup', group],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1 || v > 2147483647) {
        throw new BlueprintPropError(
          this,
          p,
          v,
          'must be a non-root id (1 to 2147483647)',
          'use an unprivileged id such as 65532',
        );
      }
    }

    // High availability (A19).
    const ha = props.highAvailability ?? need !== 'normal';
    const autoscaling = props.autoscaling === undefined ? undefined : requireAutoscaling(this, props.autoscaling, ha);
    if (autoscaling && props.replicas !== undefined) {
      throw new BlueprintPropError(
        this,
        'replicas',
        props.replicas,
        'conflicts with autoscaling: the HorizontalPodAutoscaler owns the replica count, and a fixed count would be reset on every apply',
        'drop replicas and set autoscaling.minReplicas instead',
      );
    }
    const replicas = props.replicas ?? (ha ? 2 : 1);
    if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > 1000) {
      throw new BlueprintPropError(
        this,
        'replicas',
        replicas,
        'must be a whole number from 0 to 1000',
        'give the number of pods, e.g. 2',
      );
    }
    if (ha && replicas < 2) {
      throw new BlueprintPropError(
        this,
        'replicas',
        replicas,
        'high availability needs at least 2 replicas',
        'raise replicas to 2 or more, or set highAvailability: false',
      );
    }
    if (props.enableServiceLinks !== undefined && typeof props.enableServiceLinks !== 'boolean') {
      throw new BlueprintPropError(
        this,
        'enableServiceLinks',
        props.enableServiceLinks,
        'must be true or false',
        'omit it (false): read Service addresses from DNS',
      );
    }
    const pullSecrets = requireImagePullSecrets(this, props.imagePullSecrets);
    const zoneSpread = props.zoneSpread ?? 'preferred';
    if (zoneSpread !== 'preferred' && zoneSpread !== 'required') {
      throw new BlueprintPropError(
        this,
        'zoneSpread',
        zoneSpread,
        'is not a spread mode',
        "use 'preferred' or 'required'",
      );
    }
    if (props.zoneSpread !== undefined && !ha) {
      throw new BlueprintPropError(
        this,
        'zoneSpread',
        props.zoneSpread,
        'has no effect without high availability',
        'set highAvailability: true or drop zoneSpread',
      );
    }

    // Dedicated nodes (A14/A15).
    if (need === 'very-high' && !props.dedicatedNodes && !props.dedicatedCluster) {
      throw new BlueprintPropError(
        this,
        'dedicatedNodes',
        undefined,
        'protection need "very-high" needs dedicated nodes or a dedicated cluster (BSI APP.4.4.A15)',
        'set dedicatedNodes: { nodeSelector, tolerations } or, if the cluster serves only this application, dedicatedCluster: true',
      );
    }
    const placement = props.dedicatedNodes ? renderPlacement(this, 'dedicatedNodes', props.dedicatedNodes) : undefined;

    // Maximum pod age (A21).
    const maxPodAge = props.maxPodAge ?? (need === 'very-high' ? '24h' : undefined);
    if (maxPodAge !== undefined) requireMaxPodAge(this, 'maxPodAge', maxPodAge);

    const grace = props.terminationGracePeriodSeconds ?? 30;
    if (!Number.isSafeInteger(grace) || grace < 0 || grace > 3600) {
      throw new BlueprintPropError(
        this,
        'terminationGracePeriodSeconds',
        grace,
        'must be whole seconds from 0 to 3600',
        'e.g. 30',
      );
    }

    // Containers.
    if (!Array.isArray(props.containers) || props.containers.length === 0) {
      throw new BlueprintPropError(
        this,
        'containers',
        props.containers,
        'needs at least one container',
        'pass [{ name, image, liveness, readiness }]',
      );
    }
    const volumes = new VolumeRegistry(this);
    const templates = requireClaimTemplates(this, props.volumeClaimTemplates, kind);
    for (const t of templates) volumes.claimTemplates.add(t.name);
    const names = new Set<string>();
    const checkName = (c: { name: string }, where: string) => {
      if (names.has(c?.name))
        throw new BlueprintPropError(
          this,
          `${where}.name`,
          c.name,
          'is used by another container of the pod',
          'give every container its own name',
        );
      names.add(c?.name);
    };
    const initContainers = (props.initContainers ?? []).map((c, i) => {
      const pc = toPlusContainer(this, `initContainers[${i}]`, c, true, volumes, { user, group });
      checkName(c, `initContainers[${i}]`);
      return pc;
    });
    const containers = props.containers.map((c, i) => {
      const pc = toPlusContainer(this, `containers[${i}]`, c, false, volumes, { user, group });
      checkName(c, `containers[${i}]`);
      for (const port of c.ports ?? []) {
        if (port.hostPort !== undefined) {
          warn(
            `containers[${i}] "${c.name}" uses host port ${port.hostPort}: Pod Security baseline and restricted reject host ports`,
          );
        }
      }
      return pc;
    });
    [...(props.initContainers ?? []), ...props.containers].forEach((c) => {
      if (!isPinnedByDigest(c.image))
        warn(
          `image "${c.image}" of container "${c.name}" is not pinned by digest (@sha256:...); a tag can be moved to other content`,
        );
    });
    // The namespace's LimitRanges: now, for those built already; at synth for those built later.
    const bounded = [
      ...(props.initContainers ?? []).map((c, i) => ({ prop: `initContainers[${i}]`, c })),
      ...props.containers.map((c, i) => ({ prop: `containers[${i}]`, c })),
    ];
    const boundsProblems = () =>
      limitRangesOf(this, namespace).flatMap((b) =>
        bounded.flatMap(({ prop, c }) => limitRangeProblems(this, prop, c, b)),
      );
    const early = boundsProblems();
    if (early.length > 0) throw early[0];
    const externalNamespace = props.externalNamespace === true;
    this.node.addValidation({
      validate: () => {
        const errors: string[] = boundsProblems().map((e) => e.message);
        const created = hardenedNamespacesOf(this);
        if (!externalNamespace && created.size > 0 && !created.has(namespace)) {
          errors.push(
            new BlueprintPropError(
              this,
              'namespace',
              namespace,
              `no HardenedNamespace of this app creates it (the app's: ${[...created.keys()].sort().join(', ')})`,
              "use a HardenedNamespace's namespaceName (or Tenant.namespace(env).namespaceName); if another app creates the namespace, set externalNamespace: true",
            ).message,
          );
        }
        return errors;
      },
    });

    if (kind === 'StatefulSet' && !props.containers.some((c) => (c.ports ?? []).length > 0)) {
      throw new BlueprintPropError(
        this,
        'containers',
        props.containers.map((c) => c.name),
        'a StatefulSet needs at least one container port for its headless Service',
        'add ports to a container, or use kind: Deployment',
      );
    }

    const selectorLabels = { [WORKLOAD_LABEL]: name };
    this.selectorLabels = selectorLabels;
    const podLabels: Record<string, string> = {
      ...selectorLabels,
      [APP_LABEL]: app,
      'app.kubernetes.io/name': app,
      [PROTECTION_NEED_LABEL]: need,
      [SERVICE_ACCOUNT_LABEL]: saName,
    };
    this.podLabels = podLabels;

    const common: kplus.WorkloadProps = {
      metadata: { name, namespace, labels: { [APP_LABEL]: app, 'app.kubernetes.io/name': app } },
      podMetadata: {
        labels: podLabels,
        annotations: maxPodAge !== undefined ? { [MAX_POD_AGE_ANNOTATION]: maxPodAge } : undefined,
      },
      containers,
      initContainers,
      volumes: undefined,
      serviceAccount: kplus.ServiceAccount.fromServiceAccountName(this, 'ServiceAccountRef', saName),
      automountServiceAccountToken: this.identity ? this.identity.automountToken : false,
      securityContext: {
        ensureNonRoot: true,
        user,
        group,
        fsGroup: group,
        fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
      },
      hostNetwork: false,
      isolate: false,
      spread: false,
      // cdk8s-plus' own selector is a label derived from the construct path (chart name included);
      // ours is the workload's name only.
      select: false,
      terminationGracePeriod: Duration.seconds(grace),
    };

    // Exposure: validated before anything is rendered.
    const exposures = requireExposures(this, props.expose, props.containers);
    if (
      props.exposeRulesScope !== undefined &&
      (!Construct.isConstruct(props.exposeRulesScope) || exposures.length === 0)
    ) {
      throw new BlueprintPropError(
        this,
        'exposeRulesScope',
        props.exposeRulesScope?.node?.path ?? props.exposeRulesScope,
        exposures.length === 0 ? 'has no effect without expose' : 'is not a construct',
        exposures.length === 0 ? 'drop exposeRulesScope or add expose' : 'pass the platform chart (a cdk8s Chart)',
      );
    }

    const ownedReplicas = autoscaling ? undefined : replicas;
    let headless: kplus.Service | undefined;
    if (kind === 'Deployment') {
      this.workload = new kplus.Deployment(this, 'Deployment', { ...common, replicas: ownedReplicas });
    } else {
      this.serviceName = `${name}-headless`;
      claimObjectName(
        this,
        'name',
        { kind: 'Service', namespace, name: this.serviceName },
        'the headless Service of a StatefulSet',
        (other) => `rename the workload (props.name) or the other Service (${other.path})`,
      );
      headless = new kplus.Service(this, 'HeadlessService', {
        metadata: { name: this.serviceName, namespace },
        clusterIP: 'None',
        ports: props.containers.flatMap((c) =>
          (c.ports ?? []).map((p) => ({
            port: p.number,
            targetPort: p.number,
            name: p.name,
            protocol: p.protocol as kplus.Protocol | undefined,
          })),
        ),
      });
      this.workload = new kplus.StatefulSet(this, 'StatefulSet', {
        ...common,
        replicas: ownedReplicas,
        service: headless,
      });
    }
    this.workload.select(kplus.LabelSelector.of({ labels: selectorLabels }));
    if (autoscaling) this.workload.markHasAutoscaler();

    // Close cdk8s-plus gaps on the pod level: seccomp, host namespaces, placement, spread.
    // Patches apply to the typed (camelCase) props before they are rendered: hostPid, not hostPID.
    const obj = ApiObject.of(this.workload);
    const podSpec = '/spec/template/spec';
    obj.addJsonPatch(JsonPatch.add(`${podSpec}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
    obj.addJsonPatch(JsonPatch.add(`${podSpec}/hostPid`, false));
    obj.addJsonPatch(JsonPatch.add(`${podSpec}/hostIpc`, false));
    obj.addJsonPatch(JsonPatch.add(`${podSpec}/enableServiceLinks`, props.enableServiceLinks === true));
    if (pullSecrets.length > 0)
      obj.addJsonPatch(
        JsonPatch.add(
          `${podSpec}/imagePullSecrets`,
          pullSecrets.map((n) => ({ name: n })),
        ),
      );
    // cdk8s-plus labels every pod with its construct address even when it does not select on it;
    // that label would change the pod template (and roll the pods) when the chart is renamed.
    obj.addJsonPatch(
      JsonPatch.remove(
        `/spec/template/metadata/labels/${kplus.Pod.ADDRESS_LABEL.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      ),
    );
    if (headless) {
      // cdk8s-plus points the headless Service at the construct address label: the stable selector instead.
      ApiObject.of(headless).addJsonPatch(JsonPatch.replace('/spec/selector', { ...selectorLabels }));
    }
    if (templates.length > 0) {
      obj.addJsonPatch(
        JsonPatch.add(
          '/spec/volumeClaimTemplates',
          templates.map((t) => ({
            metadata: { name: t.name },
            spec: {
              accessModes: [t.accessMode],
              ...(t.storageClass !== undefined ? { storageClassName: t.storageClass } : {}),
              resources: { requests: { storage: { value: t.size } } },
            },
          })),
        ),
      );
    }
    // Mounts of volumeClaimTemplates: the StatefulSet controller adds their pod volumes.
    const addTemplateMounts = (path: string, c: HardenedInitContainerProps, rendered: kplus.ContainerProps) => {
      const extra = (volumes.templateMounts.get(c.name) ?? []).map((m) => ({
        name: m.name,
        mountPath: m.mountPath,
        ...(m.readOnly ? { readOnly: true } : {}),
      }));
      if (extra.length === 0) return;
      if ((rendered.volumeMounts ?? []).length === 0) obj.addJsonPatch(JsonPatch.add(`${path}/volumeMounts`, extra));
      else for (const m of extra) obj.addJsonPatch(JsonPatch.add(`${path}/volumeMounts/-`, m));
    };
    (props.initContainers ?? []).forEach((c, i) =>
      addTemplateMounts(`${podSpec}/initContainers/${i}`, c, initContainers[i]),
    );
    props.containers.forEach((c, i) => addTemplateMounts(`${podSpec}/containers/${i}`, c, containers[i]));
    if (placement) {
      obj.addJsonPatch(JsonPatch.add(`${podSpec}/nodeSelector`, placement.nodeSelector));
      if (placement.tolerations.length > 0)
        obj.addJsonPatch(JsonPatch.add(`${podSpec}/tolerations`, placement.tolerations));
    }
    // Ephemeral storage as written (cdk8s-plus would render whole Gi only). The typed props hold
    // Quantity objects, rendered from their `value`.
    const storage = (path: string, c: HardenedInitContainerProps) => {
      const s = ephemeralStorage(c);
      obj.addJsonPatch(JsonPatch.add(`${path}/resources/requests/ephemeral-storage`, { value: s.request }));
      obj.addJsonPatch(JsonPatch.add(`${path}/resources/limits/ephemeral-storage`, { value: s.limit }));
    };
    (props.initContainers ?? []).forEach((c, i) => storage(`${podSpec}/initContainers/${i}`, c));
    props.containers.forEach((c, i) => storage(`${podSpec}/containers/${i}`, c));
    props.containers.forEach((c, i) => {
      const first = c.ports?.[0];
      if (!first) return;
      obj.addJsonPatch(
        JsonPatch.replace(`${podSpec}/containers/${i}/ports/0`, {
          containerPort: first.number,
          ...(first.hostPort !== undefined ? { hostPort: first.hostPort } : {}),
          ...(first.name !== undefined ? { name: first.name } : {}),
          protocol: first.protocol ?? 'TCP',
        }),
      );
      if (!c.startup && (first.protocol ?? 'TCP') !== 'TCP') {
        // cdk8s-plus' default startup probe is a TCP connect, which a UDP or SCTP port never answers.
        obj.addJsonPatch(JsonPatch.remove(`${podSpec}/containers/${i}/startupProbe`));
      }
    });
    const selector = { matchLabels: { ...this.workload.matchLabels } };
    if (ha) {
      obj.addJsonPatch(
        JsonPatch.add(`${podSpec}/topologySpreadConstraints`, [
          {
            maxSkew: 1,
            topologyKey: 'topology.kubernetes.io/zone',
            whenUnsatisfiable: zoneSpread === 'required' ? 'DoNotSchedule' : 'ScheduleAnyway',
            labelSelector: selector,
          },
          {
            maxSkew: 1,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: selector,
          },
        ]),
      );
      this.podDisruptionBudgetName = name;
      claimObjectName(
        this,
        'name',
        { kind: 'PodDisruptionBudget', namespace, name },
        'the PodDisruptionBudget of a HardenedWorkload',
        (other) => `rename the workload (props.name) or the other budget (${other.path})`,
      );
      new KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: { name, namespace, labels: { [APP_LABEL]: app } },
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector },
      });
    }

    if (autoscaling) {
      this.autoscalerName = name;
      claimObjectName(
        this,
        'autoscaling',
        { kind: 'HorizontalPodAutoscaler', namespace, name },
        'the autoscaler of a HardenedWorkload',
        (other) => `rename the workload (props.name) or the other autoscaler (${other.path})`,
      );
      const metrics: MetricSpecV2[] = [];
      for (const [resource, target] of [
        ['cpu', autoscaling.cpuUtilization],
        ['memory', autoscaling.memoryUtilization],
      ] as const) {
        if (target !== undefined)
          metrics.push({
            type: 'Resource',
            resource: { name: resource, target: { type: 'Utilization', averageUtilization: target } },
          });
      }
      new KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: { name, namespace, labels: { [APP_LABEL]: app } },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind, name },
          minReplicas: autoscaling.minReplicas,
          maxReplicas: autoscaling.maxReplicas,
          metrics,
        },
      });
    }

    if (exposures.length > 0) {
      const serviceName = (this.exposedServiceName = name);
      claimObjectName(
        this,
        'expose',
        { kind: 'Service', namespace, name: serviceName },
        "the Service of a HardenedWorkload's expose",
        (other) => `rename the workload (props.name) or the other Service (${other.path})`,
      );
      new KubeService(this, 'Service', {
        metadata: { name: serviceName, namespace, labels: { [APP_LABEL]: app } },
        spec: {
          type: 'ClusterIP',
          selector: { ...selectorLabels },
          ports: exposures.map((e) => ({
            port: e.servicePort,
            targetPort: IntOrString.fromNumber(e.containerPort),
            protocol: e.protocol,
            ...(e.portName !== undefined ? { name: e.portName } : {}),
          })),
        },
      });
      const rulesScope = props.exposeRulesScope ?? this;
      this.exposePolicy = new NetworkAllowPolicy(
        rulesScope,
        rulesScope === this ? 'ExposeRules' : `${namespace}-${name}-expose`,
        {
          namespace,
          name: `${name}-expose`,
          appliesTo: PodSelection.labels({ ...selectorLabels }),
          ingress: exposures.map((e) => ({ peers: e.from, ports: [portOf(e.protocol, e.containerPort)] })),
        },
      );
    }

    for (const c of this.node.findAll()) {
      if (c instanceof ApiObject) stampProvenance(c);
    }

    // Warnings reach the person running the synth: cdk8s has no warning annotations, so they are
    // printed to stderr while the app validates (app.synth()), once per workload.
    printWarningsAtSynth(this, warnings);

    // Defence in depth: check what is finally rendered.
    this.node.addValidation({
      validate: () =>
        checkPodSpec(ApiObject.of(this.workload).toJson()?.spec?.template?.spec).map((p) => `${this.node.path}: ${p}`),
    });
  }
}

const BOUNDED: ReadonlyArray<[BoundedResource, keyof ContainerResources, keyof ContainerResources]> = [
  ['cpu', 'cpuRequest', 'cpuLimit'],
  ['memory', 'memoryRequest', 'memoryLimit'],
  ['ephemeral-storage', 'ephemeralStorageRequest', 'ephemeralStorageLimit'],
];

/**
 * What the API server's LimitRanger would refuse for one container (requests and limits as
 * rendered, defaults included): a limit above `max`, a request below `min`
 * (plugin/pkg/admission/limitranger maxConstraint/minConstraint; since request <= limit, these
 * two cover the request above max and the limit below min as well).
 */
function limitRangeProblems(
  scope: Construct,
  prop: string,
  c: HardenedContainerBaseProps,
  b: NamespaceContainerBounds,
): BlueprintPropError[] {
  const res = resolvedResources(c);
  const out: BlueprintPropError[] = [];
  const lr = `LimitRange "${b.namespace}/${b.limitRangeName}" (${b.path})`;
  for (const [resource, requestKey, limitKey] of BOUNDED) {
    const max = b.max[resource];
    const limit = res[limitKey];
    if (max !== undefined && parseQuantity(limit)! > parseQuantity(max)!) {
      out.push(
        new BlueprintPropError(
          scope,
          `${prop}.resources.${limitKey}`,
          limit,
          `is above the ${resource} max ${max} of ${lr}; the API server would refuse every pod`,
          `lower ${prop}.resources.${limitKey} to at most ${max}, or raise the namespace's containerLimits.max${limitKey.startsWith('cpu') ? 'Cpu' : limitKey.startsWith('memory') ? 'Memory' : 'EphemeralStorage'}`,
        ),
      );
    }
    const min = b.min[resource];
    const request = res[requestKey];
    if (min !== undefined && parseQuantity(request)! < parseQuantity(min)!) {
      out.push(
        new BlueprintPropError(
          scope,
          `${prop}.resources.${requestKey}`,
          request,
          `is below the ${resource} min ${min} of ${lr}; the API server would refuse every pod`,
          `raise ${prop}.resources.${requestKey} to at least ${min}, or lower the namespace's containerLimits.min${requestKey.startsWith('cpu') ? 'Cpu' : requestKey.startsWith('memory') ? 'Memory' : 'EphemeralStorage'}`,
        ),
      );
    }
  }
  return out;
}

function isWholeNumber(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** Validates `autoscaling` (with high availability the minimum is 2). */
function requireAutoscaling(scope: Construct, a: WorkloadAutoscaling, ha: boolean): WorkloadAutoscaling {
  if (!a || typeof a !== 'object') {
    throw new BlueprintPropError(
      scope,
      'autoscaling',
      a,
      'must be an object',
      'pass { minReplicas: 2, maxReplicas: 10, cpuUtilization: 70 }',
    );
  }
  if (!isWholeNumber(a.minReplicas, 1, 1000)) {
    throw new BlueprintPropError(
      scope,
      'autoscaling.minReplicas',
      a.minReplicas,
      'must be a whole number from 1 to 1000',
      'e.g. 2',
    );
  }
  if (ha && a.minReplicas < 2) {
    throw new BlueprintPropError(
      scope,
      'autoscaling.minReplicas',
      a.minReplicas,
      'high availability needs at least 2 replicas',
      'raise minReplicas to 2 or more, or set highAvailability: false',
    );
  }
  if (!isWholeNumber(a.maxReplicas, a.minReplicas, 1000)) {
    throw new BlueprintPropError(
      scope,
      'autoscaling.maxReplicas',
      a.maxReplicas,
      `must be a whole number from minReplicas (${a.minReplicas}) to 1000`,
      `e.g. ${Math.max(a.minReplicas, 1) * 2}`,
    );
  }
  if (a.cpuUtilization === undefined && a.memoryUtilization === undefined) {
    throw new BlueprintPropError(
      scope,
      'autoscaling',
      a,
      'names no target, so the autoscaler has nothing to scale on',
      'set cpuUtilization (e.g. 70) and/or memoryUtilization',
    );
  }
  for (const k of ['cpuUtilization', 'memoryUtilization'] as const) {
    if (a[k] !== undefined && !isWholeNumber(a[k], 1, 1000)) {
      throw new BlueprintPropError(
        scope,
        `autoscaling.${k}`,
        a[k],
        'must be a whole percentage of the request from 1 to 1000',
        'e.g. 70',
      );
    }
  }
  return a;
}

/** Validates `imagePullSecrets`: Secret names, each once. */
function requireImagePullSecrets(scope: Construct, names: string[] | undefined): string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names))
    throw new BlueprintPropError(
      scope,
      'imagePullSecrets',
      names,
      'must be a list of Secret names',
      "pass ['registry-credentials']",
    );
  const seen = new Set<string>();
  return names.map((n, i) => {
    const name = requireDnsSubdomain(scope, `imagePullSecrets[${i}]`, n);
    if (seen.has(name))
      throw new BlueprintPropError(scope, `imagePullSecrets[${i}]`, name, 'is listed twice', 'list each Secret once');
    seen.add(name);
    return name;
  });
}

/** Validates `volumeClaimTemplates` (StatefulSet only) and fills in the access mode. */
function requireClaimTemplates(
  scope: Construct,
  templates: VolumeClaimTemplate[] | undefined,
  kind: WorkloadKind,
): Array<Required<Omit<VolumeClaimTemplate, 'storageClass'>> & { storageClass?: string }> {
  if (templates === undefined) return [];
  if (!Array.isArray(templates)) {
    throw new BlueprintPropError(
      scope,
      'volumeClaimTemplates',
      templates,
      'must be a list',
      "pass [{ name: 'data', size: '10Gi' }]",
    );
  }
  if (kind !== 'StatefulSet' && templates.length > 0) {
    throw new BlueprintPropError(
      scope,
      'volumeClaimTemplates',
      templates.map((t) => t?.name),
      'only a StatefulSet gives each pod its own claim',
      "use kind: 'StatefulSet', or mount an existing claim with containers[].claimMounts",
    );
  }
  const seen = new Set<string>();
  return templates.map((t, i) => {
    const where = `volumeClaimTemplates[${i}]`;
    if (!t || typeof t !== 'object')
      throw new BlueprintPropError(scope, where, t, 'must be a template', "pass { name: 'data', size: '10Gi' }");
    if (!isDnsLabel(t.name))
      throw new BlueprintPropError(
        scope,
        `${where}.name`,
        t.name,
        'must be an RFC 1123 label (it names the pod volume)',
        "e.g. 'data'",
      );
    if (seen.has(t.name))
      throw new BlueprintPropError(
        scope,
        `${where}.name`,
        t.name,
        'is used by another template',
        'give every template its own name',
      );
    seen.add(t.name);
    requireQuantity(scope, `${where}.size`, t.size, { positive: true });
    if (t.storageClass !== undefined) requireDnsSubdomain(scope, `${where}.storageClass`, t.storageClass);
    const accessMode = t.accessMode ?? 'ReadWriteOnce';
    if (!ACCESS_MODES.includes(accessMode)) {
      throw new BlueprintPropError(
        scope,
        `${where}.accessMode`,
        accessMode,
        'is not an access mode',
        `use ${ACCESS_MODES.join(', ')}`,
      );
    }
    return {
      name: t.name,
      size: t.size,
      accessMode,
      ...(t.storageClass !== undefined ? { storageClass: t.storageClass } : {}),
    };
  });
}

interface ResolvedExposure {
  containerPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  portName?: string;
  servicePort: number;
  from: NetworkPeer[];
}

/** Validates `expose`: each names a container port, a Service port and at least one peer, never everything. */
function requireExposures(
  scope: Construct,
  expose: WorkloadExposure[] | undefined,
  containers: HardenedContainerProps[],
): ResolvedExposure[] {
  if (expose === undefined) return [];
  if (!Array.isArray(expose)) {
    throw new BlueprintPropError(
      scope,
      'expose',
      expose,
      'must be a list',
      "pass [{ port: 'http', from: [NetworkPeer.namespace('ingress-nginx')] }]",
    );
  }
  const ports = containers.flatMap((c) => (c.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })));
  const seenTarget = new Set<string>();
  const seenService = new Set<string>();
  return expose.map((e, i) => {
    const where = `expose[${i}]`;
    if (!e || typeof e !== 'object')
      throw new BlueprintPropError(scope, where, e, 'must be an exposure', "pass { port: 'http', from: [...] }");
    const matches = ports.filter((p) => (typeof e.port === 'string' ? p.name === e.port : p.number === e.port));
    if (matches.length !== 1) {
      const known =
        ports.map((p) => (p.name !== undefined ? `${p.name} (${p.number})` : String(p.number))).join(', ') || 'none';
      throw new BlueprintPropError(
        scope,
        `${where}.port`,
        e.port,
        matches.length === 0
          ? `is not a port of the workload's containers (ports: ${known})`
          : 'matches more than one container port',
        matches.length === 0
          ? 'name a port listed in containers[].ports, by name or number'
          : 'name the port by its name',
      );
    }
    const target = matches[0];
    const servicePort = e.servicePort ?? target.number;
    if (!isWholeNumber(servicePort, 1, 65535))
      throw new BlueprintPropError(
        scope,
        `${where}.servicePort`,
        servicePort,
        'is not a port number',
        'use an integer from 1 to 65535',
      );
    const tkey = `${target.number}/${target.protocol}`;
    if (seenTarget.has(tkey))
      throw new BlueprintPropError(
        scope,
        `${where}.port`,
        e.port,
        'is exposed twice',
        'expose each container port once; list all its peers in one from',
      );
    seenTarget.add(tkey);
    const skey = `${servicePort}/${target.protocol}`;
    if (seenService.has(skey))
      throw new BlueprintPropError(
        scope,
        `${where}.servicePort`,
        servicePort,
        'is used by another exposure',
        'give each exposure its own Service port',
      );
    seenService.add(skey);
    if (!Array.isArray(e.from) || e.from.length === 0) {
      throw new BlueprintPropError(
        scope,
        `${where}.from`,
        e.from,
        'names no peer; exposing a port to everybody is not offered',
        "name who may connect, e.g. [NetworkPeer.namespace('ingress-nginx')] or [NetworkPeer.serviceAccount('frontend')]",
      );
    }
    e.from.forEach((peer, j) => {
      if (!(peer instanceof NetworkPeer))
        throw new BlueprintPropError(
          scope,
          `${where}.from[${j}]`,
          peer,
          'is not a NetworkPeer',
          'build peers with the NetworkPeer factories',
        );
      for (const rendered of peer.render(scope, `${where}.from[${j}]`)) {
        const cidr = rendered.ipBlock?.cidr;
        if (cidr !== undefined && /\/0$/.test(cidr)) {
          throw new BlueprintPropError(
            scope,
            `${where}.from[${j}]`,
            cidr,
            'admits every address, an allow-all',
            "name the peers that need the port (e.g. the ingress controller's namespace or the load balancer's address block)",
          );
        }
      }
    });
    return {
      containerPort: target.number,
      protocol: target.protocol,
      portName: target.name,
      servicePort,
      from: [...e.from],
    };
  });
}

function portOf(protocol: 'TCP' | 'UDP' | 'SCTP', port: number): NetworkPort {
  return protocol === 'UDP'
    ? NetworkPort.udp(port)
    : protocol === 'SCTP'
      ? NetworkPort.sctp(port)
      : NetworkPort.tcp(port);
}
