import { Construct } from 'constructs';
import type { KubeObject, NodeFile } from '../../policies/model';
import { AdmissionConfiguration, AdmissionConfigurationProps } from '../admission/admission-configuration';
import { BlueprintPropError } from '../common/errors';
import { AuditLogProps, AuditLogSettings, resolveAuditLog } from './audit-log';
import { AuditPolicy, AuditPolicyProps } from './audit-policy';
import { AuthenticationConfiguration } from './authentication-configuration';
import { BackupConfiguration, BackupConfigurationProps } from './backup-configuration';
import {
  ApiServerHardeningProps,
  ControllerManagerHardeningProps,
  EtcdHardeningProps,
  KubeadmClusterConfiguration,
  PkiProps,
  SchedulerHardeningProps,
} from './cluster-configuration';
import { EgressSelectorConfiguration } from './egress-selector-configuration';
import { EncryptionConfiguration, EncryptionConfigurationProps } from './encryption-configuration';
import { KubeadmInitConfiguration } from './init-configuration';
import { KubeadmJoinConfiguration, KubeadmJoinConfigurationProps } from './join-configuration';
import { KubeadmConfigFile } from './kubeadm-config-file';
import { KubeProxyConfiguration, KubeProxyHardeningProps } from './kube-proxy-configuration';
import { KubeletConfiguration, KubeletHardeningProps } from './kubelet-configuration';
import { NodeFileManifest } from './node-file-manifest';
import { ADMISSION_CONFIG_PATH, AUDIT_POLICY_PATH, AUTHENTICATION_CONFIG_PATH, ENCRYPTION_CONFIG_PATH } from './paths';
import { PROTECTION_PROFILES, ProtectionProfile } from './profile';
import { TlsPolicy, TlsPolicyProps } from './tls-policy';
import {
  checkCidr,
  checkDistinctPorts,
  checkDnsLabel,
  checkDnsSubdomain,
  checkIp,
  checkKubernetesVersion,
  checkPort,
  checkSan,
  hostPort,
  isLoopback,
} from './validation';

/** Audit policy rules plus where the log goes. */
export interface ControlPlaneAuditProps extends Omit<AuditPolicyProps, 'profile'> {
  /** Log file and retention. @default - see AuditLogProps */
  readonly log?: AuditLogProps;
}

/** Admission settings: Pod Security defaults/exemptions and EventRateLimit. */
export type ControlPlaneAdmissionProps = Omit<AdmissionConfigurationProps, 'profile' | 'kubernetesVersion'>;

/** File modes of kubeadm-created files. */
export interface ControlPlaneFileModeProps {
  /** @default 0o640 for high, 0o644 otherwise */
  readonly pkiCertMode?: number;
  /** @default 0o400 for high, 0o600 otherwise */
  readonly pkiKeyMode?: number;
  /** Mode of /var/lib/kubelet/config.yaml and kubeadm-flags.env (CIS 4.1.9: 600). @default 0o600 (every profile) */
  readonly kubeletConfigMode?: number;
}

export interface HardenedControlPlaneProps {
  /**
   * The cluster's backups (BSI APP.4.4.A5): how often `hcb backup now` runs, how many are kept
   * and how old the newest may be. @default interval 24h, maxAge 26h, retain 7
   */
  readonly backup?: BackupConfigurationProps;
  /** Pinned Kubernetes release. @default 'v1.36.3' */
  readonly kubernetesVersion?: string;
  /** BSI protection level choosing the defaults. @default 'standard' */
  readonly profile?: ProtectionProfile;
  /** API server advertise address. @default - kubeadm detects it (the local stack passes '127.0.0.1') */
  readonly advertiseAddress?: string;
  /**
   * Loopback-only control plane (the embedded local target): the API server advertises and
   * binds to the loopback address, etcd listens on it only, kubeconfigs point to it.
   * Also switched on by a loopback advertiseAddress.
   * @default false
   */
  readonly loopbackOnly?: boolean;
  /**
   * Loopback mode only: the address the API server advertises (its --advertise-address, so the
   * `kubernetes` Service's endpoints) while it still binds to loopback. Endpoints may not be
   * loopback addresses, so pods can only reach the API through the Service when something
   * serves it at this address: on the local target a forwarder on the node address.
   * @default - the loopback address (the `kubernetes` Service then has no valid endpoint)
   */
  readonly serviceAdvertiseAddress?: string;
  /**
   * Unix socket of an HTTP CONNECT proxy that carries the API server's traffic to the cluster
   * (kubelet API for logs, exec, attach and port-forward; node, pod and service proxies;
   * webhooks; aggregated APIs), for a control plane that cannot route to its nodes itself (the
   * local target: its node lives in a network namespace of its own). Renders an
   * EgressSelectorConfiguration (`cluster` over HTTPConnect/UDS) for
   * --egress-selector-config-file and mounts the socket's directory. TLS to the kubelet stays end
   * to end: the API server still presents its kubelet client certificate and verifies the
   * kubelet's serving certificate. Something on the node side must serve the socket (on the local
   * target: stacks/local/node; elsewhere e.g. konnectivity-server in http-connect mode).
   * @default - none: the API server dials nodes, pods and services directly
   */
  readonly clusterEgressProxySocket?: string;
  /** API server secure port. @default 6443 */
  readonly apiServerPort?: number;
  /** etcd client port. @default 2379 */
  readonly etcdClientPort?: number;
  /** etcd peer port. @default 2380 */
  readonly etcdPeerPort?: number;
  /** etcd metrics port (plain HTTP on loopback). @default - kubeadm's 2381 */
  readonly etcdMetricsPort?: number;
  /** kube-controller-manager secure port (bound to loopback). @default 10257 */
  readonly controllerManagerPort?: number;
  /** kube-scheduler secure port (bound to loopback). @default 10259 */
  readonly schedulerPort?: number;
  /**
   * Node name. Leave unset on real nodes: a name different from the host name makes kubeadm
   * give the kubelet --hostname-override (STIG V-242404). @default - the host name
   */
  readonly nodeName?: string;
  /** @default 'kubernetes' */
  readonly clusterName?: string;
  /** @default '10.96.0.0/12' */
  readonly serviceSubnet?: string;
  /** @default - none (the CNI decides) */
  readonly podSubnet?: string;
  /** @default 'cluster.local' */
  readonly dnsDomain?: string;
  /** Extra API server certificate SANs. @default - none */
  readonly certSANs?: string[];
  /** Stable address of the control plane (host or host:port), for HA. @default - none */
  readonly controlPlaneEndpoint?: string;
  /** TLS policy of every component. @default - profile defaults */
  readonly tls?: TlsPolicyProps;
  /** @default - hardened defaults */
  readonly apiServer?: ApiServerHardeningProps;
  /** @default - hardened defaults */
  readonly controllerManager?: ControllerManagerHardeningProps;
  /** @default - hardened defaults */
  readonly scheduler?: SchedulerHardeningProps;
  /** @default - hardened defaults */
  readonly etcd?: EtcdHardeningProps;
  /** @default - profile defaults */
  readonly pki?: PkiProps;
  /** @default - hardened defaults */
  readonly kubelet?: KubeletHardeningProps;
  /** kube-proxy's configuration (in the kubeadm configuration file). @default - hardened defaults */
  readonly kubeProxy?: KubeProxyHardeningProps;
  /** @default - required rules, noise reduction, Metadata catch-all */
  readonly audit?: ControlPlaneAuditProps;
  /** @default - secretbox with key 'encryption-key-1', identity as read-only fallback */
  readonly encryption?: EncryptionConfigurationProps;
  /** @default - restricted (every profile), pinned to the cluster's minor version */
  readonly admission?: ControlPlaneAdmissionProps;
  /** @default - profile defaults */
  readonly fileModes?: ControlPlaneFileModeProps;
  /** JoinConfiguration for further nodes. @default - a worker join via file discovery */
  readonly join?: KubeadmJoinConfigurationProps;
}

/**
 * A hardened kubeadm control plane as node files: the kubeadm configuration (Init, Cluster and
 * KubeletConfiguration), the audit policy, the encryption, admission and authentication
 * configuration the API server reads, and the manifest of every kubeadm-created file with
 * its owner and mode.
 */
export class HardenedControlPlane extends Construct {
  public readonly profile: ProtectionProfile;
  public readonly kubernetesVersion: string;
  public readonly tls: TlsPolicy;
  /** Set in loopback mode (loopbackOnly or a loopback advertiseAddress). */
  public readonly loopbackAddress?: string;
  public readonly auditLog: AuditLogSettings;
  public readonly auditPolicy: AuditPolicy;
  public readonly encryption: EncryptionConfiguration;
  public readonly admission: AdmissionConfiguration;
  /** Absent when apiServer.anonymousAuth is 'disabled'. */
  public readonly authentication?: AuthenticationConfiguration;
  /** Present when clusterEgressProxySocket is set. */
  public readonly egressSelector?: EgressSelectorConfiguration;
  public readonly kubelet: KubeletConfiguration;
  public readonly kubeProxy: KubeProxyConfiguration;
  public readonly init: KubeadmInitConfiguration;
  public readonly cluster: KubeadmClusterConfiguration;
  public readonly kubeadmConfig: KubeadmConfigFile;
  public readonly join: KubeadmJoinConfiguration;
  public readonly manifest: NodeFileManifest;
  /** What the cluster's backups are (BSI APP.4.4.A5), checked by the HCB-BACKUP-* controls. */
  public readonly backup: BackupConfiguration;
  /** Every file on the control-plane node, sorted by path. */
  public readonly nodeFiles: NodeFile[];
  /**
   * Every rendered configuration as a parsed object (for the audit engine): Init, Cluster and
   * KubeletConfiguration, audit Policy, EncryptionConfiguration, AdmissionConfiguration and,
   * when used, AuthenticationConfiguration. The node file manifest is nodeFileManifest().
   */
  public readonly documents: KubeObject[];

  constructor(scope: Construct, id: string, props: HardenedControlPlaneProps = {}) {
    super(scope, id);
    this.profile = props.profile ?? 'standard';
    if (!PROTECTION_PROFILES.includes(this.profile)) {
      throw new BlueprintPropError(
        this,
        'profile',
        this.profile,
        'unknown protection profile',
        "use 'basic', 'standard' or 'high'",
      );
    }
    this.kubernetesVersion = props.kubernetesVersion ?? 'v1.36.3';
    checkKubernetesVersion(this, 'kubernetesVersion', this.kubernetesVersion);

    const apiServerPort = checkPort(this, 'apiServerPort', props.apiServerPort ?? 6443);
    const etcdClientPort = checkPort(this, 'etcdClientPort', props.etcdClientPort ?? 2379);
    const etcdPeerPort = checkPort(this, 'etcdPeerPort', props.etcdPeerPort ?? 2380);
    const etcdMetricsPort =
      props.etcdMetricsPort === undefined ? undefined : checkPort(this, 'etcdMetricsPort', props.etcdMetricsPort);
    const controllerManagerPort = checkPort(this, 'controllerManagerPort', props.controllerManagerPort ?? 10257);
    const schedulerPort = checkPort(this, 'schedulerPort', props.schedulerPort ?? 10259);
    checkDistinctPorts(this, {
      apiServerPort,
      etcdClientPort,
      etcdPeerPort,
      etcdMetricsPort: etcdMetricsPort ?? 2381,
      controllerManagerPort,
      schedulerPort,
      kubeletPort: 10250,
    });

    if (props.advertiseAddress !== undefined) checkIp(this, 'advertiseAddress', props.advertiseAddress);
    const advertiseIsLoopback = props.advertiseAddress !== undefined && isLoopback(props.advertiseAddress);
    if (props.loopbackOnly && props.advertiseAddress !== undefined && !advertiseIsLoopback) {
      throw new BlueprintPropError(
        this,
        'advertiseAddress',
        props.advertiseAddress,
        'loopbackOnly is set but the address is not a loopback address',
        "remove advertiseAddress or use '127.0.0.1'",
      );
    }
    /** Loopback mode: kubeadm does not accept a loopback advertise address, flags carry it. */
    const loopbackAddress =
      props.loopbackOnly || advertiseIsLoopback ? (props.advertiseAddress ?? '127.0.0.1') : undefined;
    this.loopbackAddress = loopbackAddress;
    if (props.serviceAdvertiseAddress !== undefined) {
      checkIp(this, 'serviceAdvertiseAddress', props.serviceAdvertiseAddress);
      if (!loopbackAddress) {
        throw new BlueprintPropError(
          this,
          'serviceAdvertiseAddress',
          props.serviceAdvertiseAddress,
          'only a loopback-only control plane advertises an address it does not bind',
          'set advertiseAddress instead',
        );
      }
      if (isLoopback(props.serviceAdvertiseAddress)) {
        throw new BlueprintPropError(
          this,
          'serviceAdvertiseAddress',
          props.serviceAdvertiseAddress,
          'Service endpoints may not be loopback addresses',
          "use an address a forwarder serves the API on, e.g. the local node's '198.18.0.2'",
        );
      }
    }
    if (props.nodeName !== undefined) checkDnsSubdomain(this, 'nodeName', props.nodeName);
    const clusterName = checkDnsLabel(this, 'clusterName', props.clusterName ?? 'kubernetes');
    const serviceSubnet = checkCidr(this, 'serviceSubnet', props.serviceSubnet ?? '10.96.0.0/12');
    const podSubnet = props.podSubnet === undefined ? undefined : checkCidr(this, 'podSubnet', props.podSubnet);
    const dnsDomain = checkDnsSubdomain(this, 'dnsDomain', props.dnsDomain ?? 'cluster.local');
    const certSANs = (props.certSANs ?? []).map((s, i) => checkSan(this, `certSANs[${i}]`, s));
    if (new Set(certSANs).size !== certSANs.length) {
      throw new BlueprintPropError(this, 'certSANs', certSANs, 'a SAN is listed twice', 'list each SAN once');
    }
    if (props.controlPlaneEndpoint !== undefined && !/^[a-z0-9.\-[\]:]+$/i.test(props.controlPlaneEndpoint)) {
      throw new BlueprintPropError(
        this,
        'controlPlaneEndpoint',
        props.controlPlaneEndpoint,
        'not a host or host:port',
        "use e.g. 'api.example.org:6443'",
      );
    }
    const controlPlaneEndpoint =
      props.controlPlaneEndpoint ?? (loopbackAddress ? hostPort(loopbackAddress, apiServerPort) : undefined);

    this.tls = TlsPolicy.resolve(this, this.profile, props.tls);
    const { log: auditLogProps, ...auditPolicyProps } = props.audit ?? {};
    this.auditLog = resolveAuditLog(this, this.profile, auditLogProps);
    this.auditPolicy = new AuditPolicy(this, 'AuditPolicy', { ...auditPolicyProps, profile: this.profile });
    this.encryption = new EncryptionConfiguration(this, 'Encryption', props.encryption);
    this.admission = new AdmissionConfiguration(this, 'Admission', {
      ...props.admission,
      profile: this.profile,
      kubernetesVersion: this.kubernetesVersion,
    });
    const anonymous = props.apiServer?.anonymousAuth ?? 'health-endpoints';
    if (anonymous === 'health-endpoints') {
      this.authentication = new AuthenticationConfiguration(this, 'Authentication', {
        anonymousPaths: props.apiServer?.anonymousPaths,
      });
    } else if (props.apiServer?.anonymousPaths !== undefined) {
      throw new BlueprintPropError(
        this,
        'apiServer.anonymousPaths',
        props.apiServer.anonymousPaths,
        "anonymous paths have no effect when anonymousAuth is 'disabled'",
        'remove anonymousPaths',
      );
    }

    if (props.clusterEgressProxySocket !== undefined) {
      this.egressSelector = new EgressSelectorConfiguration(this, 'EgressSelector', {
        clusterProxySocket: props.clusterEgressProxySocket,
      });
    }

    this.kubelet = new KubeletConfiguration(this, 'Kubelet', { profile: this.profile, tls: this.tls }, props.kubelet);
    this.init = new KubeadmInitConfiguration(this, 'Init', {
      advertiseAddress: loopbackAddress ? undefined : props.advertiseAddress,
      apiServerPort,
      nodeName: props.nodeName,
    });
    this.cluster = new KubeadmClusterConfiguration(
      this,
      'Cluster',
      {
        kubernetesVersion: this.kubernetesVersion,
        profile: this.profile,
        tls: this.tls,
        clusterName,
        serviceSubnet,
        podSubnet,
        dnsDomain,
        certSANs,
        controlPlaneEndpoint,
        advertiseAddress: loopbackAddress ? undefined : props.advertiseAddress,
        loopbackAddress,
        serviceAdvertiseAddress: props.serviceAdvertiseAddress,
        nodeName: props.nodeName,
        apiServerPort,
        etcdClientPort,
        etcdPeerPort,
        etcdMetricsPort,
        controllerManagerPort,
        schedulerPort,
        auditLog: this.auditLog,
        auditPolicyPath: AUDIT_POLICY_PATH,
        encryptionConfigPath: ENCRYPTION_CONFIG_PATH,
        admissionConfigPath: ADMISSION_CONFIG_PATH,
        configuredAdmissionPlugins: this.admission.pluginNames,
        authenticationConfigPath: this.authentication ? AUTHENTICATION_CONFIG_PATH : undefined,
        egressSelector: this.egressSelector
          ? { configPath: this.egressSelector.path, socketDirectory: this.egressSelector.socketDirectory }
          : undefined,
      },
      {
        apiServer: props.apiServer,
        controllerManager: props.controllerManager,
        scheduler: props.scheduler,
        etcd: props.etcd,
        pki: props.pki,
      },
    );
    this.kubeProxy = new KubeProxyConfiguration(this, 'KubeProxy', { podSubnet }, props.kubeProxy);
    this.kubeadmConfig = new KubeadmConfigFile(this, 'KubeadmConfig', {
      init: this.init,
      cluster: this.cluster,
      kubelet: this.kubelet,
      kubeProxy: this.kubeProxy,
    });
    this.join = new KubeadmJoinConfiguration(this, 'Join', props.join);

    this.backup = new BackupConfiguration(this, 'Backup', props.backup);
    const configFiles = [
      this.kubeadmConfig,
      this.auditPolicy,
      this.encryption,
      this.admission,
      ...(this.authentication ? [this.authentication] : []),
      ...(this.egressSelector ? [this.egressSelector] : []),
      this.backup,
    ];
    this.manifest = new NodeFileManifest(this, 'Manifest', {
      profile: this.profile,
      ...props.fileModes,
      blueprintFiles: configFiles.map((f) => f.nodeFile),
      auditLogDirectory: this.auditLog.directory,
      etcdDataDir: this.cluster.etcdDataDir,
    });
    this.nodeFiles = [...this.manifest.files];
    this.documents = configFiles.flatMap((f) => f.toObjects());
  }

  /** The node file manifest as a document (apiVersion hcb.dev/v1alpha1, kind NodeFileManifest). */
  public nodeFileManifest(): KubeObject {
    return this.manifest.toDocument();
  }
}
