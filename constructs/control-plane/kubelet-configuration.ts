import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { MANIFESTS_DIR, PKI_DIR } from './paths';
import { ProtectionProfile } from './profile';
import { TlsPolicy } from './tls-policy';
import { checkDuration, checkFeatureGates, checkPositiveInt } from './validation';

export interface KubeletHardeningProps {
  /**
   * Idle timeout of exec/attach/port-forward streams; STIG V-245541 wants at least 5 minutes
   * and never 0 (no timeout). Must be between 5m and 4h.
   * @default '5m'
   */
  readonly streamingConnectionIdleTimeout?: string;
  /**
   * Fail when kernel tunables differ from the kubelet's defaults instead of changing them
   * (STIG V-242434).
   * @default true
   */
  readonly protectKernelDefaults?: boolean;
  /**
   * Run every container with the RuntimeDefault seccomp profile unless it asks otherwise.
   * @default true
   */
  readonly seccompDefault?: boolean;
  /**
   * Request the kubelet's serving certificate from the cluster CA (CSR, signer
   * kubernetes.io/kubelet-serving) instead of self-signing it; the CSRs must be approved by
   * an approver or an administrator.
   * @default true
   */
  readonly serverTLSBootstrap?: boolean;
  /**
   * Rotate the kubelet's client certificate before it expires.
   * @default true
   */
  readonly rotateCertificates?: boolean;
  /** Event writes per second (0, which means unlimited, is refused). @default 50 */
  readonly eventRecordQPS?: number;
  /** Event burst. @default 100 */
  readonly eventBurst?: number;
  /** Maximum processes per pod. @default 1024 for the high profile, 4096 otherwise */
  readonly podPidsLimit?: number;
  /** Maximum pods on the node. @default 110 */
  readonly maxPods?: number;
  /** Resources kept for Kubernetes daemons. @default { cpu: '100m', memory: '256Mi' } */
  readonly kubeReserved?: Record<string, string>;
  /** Resources kept for the operating system. @default { cpu: '100m', memory: '256Mi' } */
  readonly systemReserved?: Record<string, string>;
  /**
   * Hard eviction thresholds.
   * @default { 'imagefs.available': '15%', 'memory.available': '200Mi', 'nodefs.available': '10%', 'nodefs.inodesFree': '5%' }
   */
  readonly evictionHard?: Record<string, string>;
  /** Container log size before rotation. @default '10Mi' */
  readonly containerLogMaxSize?: string;
  /** Rotated container log files kept. @default 5 */
  readonly containerLogMaxFiles?: number;
  /** Kubelet feature gates; AllAlpha and alpha gates by name are refused. @default - none */
  readonly featureGates?: Record<string, boolean>;
  /**
   * How the kubelet manages cgroups; must match the container runtime's setting. 'cgroupfs'
   * is for hosts without systemd as PID 1 (the embedded local target). @default 'systemd'
   */
  readonly cgroupDriver?: 'systemd' | 'cgroupfs';
  /**
   * Parent cgroup of the kubelet's pod cgroups (kubepods). The local target gives every
   * cluster its own, so two local clusters on one machine never manage each other's pods.
   * @default - the root cgroup
   */
  readonly cgroupRoot?: string;
  /**
   * Refuse to start on a cgroup v1 host (kubelet default since 1.35). Setting false is only
   * for hosts that have no cgroup v2 (the local target on such a machine) and is visible in
   * the rendered configuration. @default - kubelet default (true)
   */
  readonly failCgroupV1?: boolean;
}

/** Settings from the surrounding cluster. */
export interface KubeletConfigurationContext {
  readonly profile: ProtectionProfile;
  readonly tls: TlsPolicy;
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?%?$/;

/**
 * KubeletConfiguration (kubelet.config.k8s.io/v1beta1) for every node, carried in the kubeadm
 * configuration (kubeadm writes it to /var/lib/kubelet/config.yaml and the kubelet-config
 * ConfigMap). Anonymous access off, Webhook authentication and authorization, no read-only
 * port, kernel defaults protected, stream timeouts, RuntimeDefault seccomp, TLS policy,
 * certificate rotation and server TLS bootstrap. No hostname override is configured
 * (STIG V-242404): leave the node name to the host name on real nodes.
 *
 * staticPodPath stays /etc/kubernetes/manifests because a kubeadm control plane runs as
 * static pods; worker nodes drop it (STIG V-242397) through the kubeadm patch that
 * KubeadmJoinConfiguration ships.
 */
export class KubeletConfiguration extends Construct {
  private readonly object: KubeObject;

  constructor(scope: Construct, id: string, context: KubeletConfigurationContext, props: KubeletHardeningProps = {}) {
    super(scope, id);
    const idle = props.streamingConnectionIdleTimeout ?? '5m';
    const idleSeconds = checkDuration(this, 'streamingConnectionIdleTimeout', idle);
    if (idleSeconds < 300 || idleSeconds > 4 * 3600) {
      throw new BlueprintPropError(
        this,
        'streamingConnectionIdleTimeout',
        idle,
        'must be at least 5m (STIG V-245541) and at most 4h (0 disables the timeout)',
        "use a duration such as '5m' or '1h'",
      );
    }
    const eventRecordQPS = checkPositiveInt(this, 'eventRecordQPS', props.eventRecordQPS ?? 50, 1, 10_000);
    const eventBurst = checkPositiveInt(this, 'eventBurst', props.eventBurst ?? 100, 1, 100_000);
    const podPidsLimit = checkPositiveInt(
      this,
      'podPidsLimit',
      props.podPidsLimit ?? (context.profile === 'high' ? 1024 : 4096),
      64,
      4_194_304,
    );
    const maxPods = checkPositiveInt(this, 'maxPods', props.maxPods ?? 110, 1, 10_000);
    const containerLogMaxFiles = checkPositiveInt(
      this,
      'containerLogMaxFiles',
      props.containerLogMaxFiles ?? 5,
      2,
      100,
    );
    const containerLogMaxSize = props.containerLogMaxSize ?? '10Mi';
    if (!/^[0-9]+(Ki|Mi|Gi)$/.test(containerLogMaxSize)) {
      throw new BlueprintPropError(
        this,
        'containerLogMaxSize',
        containerLogMaxSize,
        'not a size',
        "use a quantity such as '10Mi'",
      );
    }
    const kubeReserved = this.quantities('kubeReserved', props.kubeReserved ?? { cpu: '100m', memory: '256Mi' });
    const systemReserved = this.quantities('systemReserved', props.systemReserved ?? { cpu: '100m', memory: '256Mi' });
    const evictionHard = this.quantities(
      'evictionHard',
      props.evictionHard ?? {
        'imagefs.available': '15%',
        'memory.available': '200Mi',
        'nodefs.available': '10%',
        'nodefs.inodesFree': '5%',
      },
    );
    const featureGates = props.featureGates ?? {};
    checkFeatureGates(this, 'featureGates', featureGates);
    const cgroupDriver = props.cgroupDriver ?? 'systemd';
    if (cgroupDriver !== 'systemd' && cgroupDriver !== 'cgroupfs') {
      throw new BlueprintPropError(
        this,
        'cgroupDriver',
        cgroupDriver,
        'unknown cgroup driver',
        "use 'systemd' or 'cgroupfs'",
      );
    }
    if (props.cgroupRoot !== undefined && !/^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(props.cgroupRoot)) {
      throw new BlueprintPropError(
        this,
        'cgroupRoot',
        props.cgroupRoot,
        'not an absolute cgroup path',
        "use a path such as '/hcb-local'",
      );
    }
    if (props.cgroupRoot !== undefined && cgroupDriver === 'systemd' && !/\.slice$/.test(props.cgroupRoot)) {
      throw new BlueprintPropError(
        this,
        'cgroupRoot',
        props.cgroupRoot,
        'the systemd driver needs a slice name',
        "use a slice such as '/hcb.slice', or cgroupDriver 'cgroupfs'",
      );
    }
    this.object = {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true, cacheTTL: '2m0s' },
        x509: { clientCAFile: `${PKI_DIR}/ca.crt` },
      },
      authorization: {
        mode: 'Webhook',
        webhook: { cacheAuthorizedTTL: '5m0s', cacheUnauthorizedTTL: '30s' },
      },
      readOnlyPort: 0,
      protectKernelDefaults: props.protectKernelDefaults ?? true,
      makeIPTablesUtilChains: true,
      seccompDefault: props.seccompDefault ?? true,
      streamingConnectionIdleTimeout: idle,
      tlsMinVersion: context.tls.minVersion,
      tlsCipherSuites: [...context.tls.cipherSuites],
      rotateCertificates: props.rotateCertificates ?? true,
      serverTLSBootstrap: props.serverTLSBootstrap ?? true,
      staticPodPath: MANIFESTS_DIR,
      healthzBindAddress: '127.0.0.1',
      cgroupDriver,
      ...(props.cgroupRoot !== undefined ? { cgroupRoot: props.cgroupRoot } : {}),
      ...(props.failCgroupV1 !== undefined ? { failCgroupV1: props.failCgroupV1 } : {}),
      failSwapOn: true,
      eventRecordQPS,
      eventBurst,
      maxPods,
      podPidsLimit,
      kubeReserved,
      systemReserved,
      evictionHard,
      enforceNodeAllocatable: ['pods'],
      containerLogMaxSize,
      containerLogMaxFiles,
      ...(Object.keys(featureGates).length ? { featureGates: sortKeys(featureGates) } : {}),
    };
  }

  private quantities(prop: string, values: Record<string, string>): Record<string, string> {
    for (const [k, v] of Object.entries(values)) {
      if (!/^[a-z][a-z0-9.-]*$/i.test(k) || typeof v !== 'string' || !QUANTITY.test(v)) {
        throw new BlueprintPropError(
          this,
          `${prop}.${k}`,
          v,
          'not a resource quantity',
          "use a quantity such as '100m', '256Mi' or '10%'",
        );
      }
    }
    return sortKeys(values);
  }

  /** The KubeletConfiguration document (a fresh deep copy). */
  public toObject(): KubeObject {
    return JSON.parse(JSON.stringify(this.object)) as KubeObject;
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
