import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { FORBIDDEN_ADMISSION_PLUGINS, KNOWN_ADMISSION_PLUGINS, REQUIRED_ADMISSION_PLUGINS } from './admission-plugins';
import { AuditLogSettings } from './audit-log';
import { ETCD_DATA_DIR, PKI_DIR } from './paths';
import { ProtectionProfile } from './profile';
import { TlsPolicy } from './tls-policy';
import {
  checkAbsolutePath,
  checkDuration,
  checkFeatureGates,
  checkIp,
  checkPositiveInt,
  hostPort,
  isLoopback,
} from './validation';

/** How the API server treats requests without credentials. */
export type AnonymousAuthMode = 'health-endpoints' | 'disabled';

export interface ApiServerHardeningProps {
  /**
   * 'health-endpoints': anonymous requests only reach /livez, /readyz and /healthz (through an
   * AuthenticationConfiguration file; kubelet probes and load balancers keep working) and get
   * 401 everywhere else. 'disabled': --anonymous-auth=false (STIG V-242390 to the letter; a
   * kubelet's unauthenticated liveness probes of the API server then fail).
   * @default 'health-endpoints'
   */
  readonly anonymousAuth?: AnonymousAuthMode;
  /**
   * Paths reachable anonymously in 'health-endpoints' mode.
   * @default ['/livez', '/readyz', '/healthz']
   */
  readonly anonymousPaths?: string[];
  /**
   * Address the secure port binds to.
   * @default - the advertise address when it is a loopback address, otherwise all interfaces
   */
  readonly bindAddress?: string;
  /** --request-timeout (STIG V-242438): between 1s and 5m. @default '60s' */
  readonly requestTimeout?: string;
  /** Admission plugins enabled on top of the required ones. @default - none */
  readonly extraAdmissionPlugins?: string[];
  /** Default-on admission plugins to disable; the required ones cannot be. @default - none */
  readonly disableAdmissionPlugins?: string[];
  /** Enable AlwaysPullImages (multi-tenant nodes). @default true for the high profile */
  readonly alwaysPullImages?: boolean;
  /**
   * Verify kubelet serving certificates against the cluster CA (--kubelet-certificate-authority);
   * needs the kubelets' serving CSRs approved (serverTLSBootstrap).
   * @default true
   */
  readonly verifyKubeletServingCertificates?: boolean;
  /** Reload the encryption configuration when it changes (key rotation without restart). @default true */
  readonly encryptionConfigAutomaticReload?: boolean;
  /** API server feature gates (AllAlpha refused). @default - none */
  readonly featureGates?: Record<string, boolean>;
  /** Further flags; flags the blueprint sets cannot be overridden here. @default - none */
  readonly extraArgs?: Record<string, string>;
}

export interface ControllerManagerHardeningProps {
  /** --terminated-pod-gc-threshold (CIS 1.3.1). @default 10 */
  readonly terminatedPodGcThreshold?: number;
  /** Feature gates (AllAlpha refused). @default { RotateKubeletServerCertificate: true } */
  readonly featureGates?: Record<string, boolean>;
  /** Further flags; flags the blueprint sets cannot be overridden here. @default - none */
  readonly extraArgs?: Record<string, string>;
}

export interface SchedulerHardeningProps {
  /** Further flags; flags the blueprint sets cannot be overridden here. @default - none */
  readonly extraArgs?: Record<string, string>;
}

export interface EtcdHardeningProps {
  /** Data directory (mode 0700). @default '/var/lib/etcd' */
  readonly dataDir?: string;
  /** Further flags; flags the blueprint sets cannot be overridden here. @default - none */
  readonly extraArgs?: Record<string, string>;
}

/** Key algorithms kubeadm v1beta4 can generate. */
export type PkiKeyAlgorithm = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'ECDSA-P256' | 'ECDSA-P384';

/**
 * The cluster's own CA (SCS "self-controlled CA"): kubeadm creates it unless ca.crt/ca.key are
 * placed in /etc/kubernetes/pki beforehand, in which case kubeadm signs with the operator's CA.
 */
export interface PkiProps {
  /** @default 'ECDSA-P384' for high, 'RSA-3072' for standard, 'RSA-2048' for basic */
  readonly keyAlgorithm?: PkiKeyAlgorithm;
  /** Leaf certificate lifetime (at most 1 year). @default '8760h0m0s' */
  readonly certificateValidityPeriod?: string;
  /** CA certificate lifetime (at most 10 years). @default '87600h0m0s' */
  readonly caCertificateValidityPeriod?: string;
}

/** Resolved cluster-wide settings the ClusterConfiguration is built from. */
export interface ClusterConfigurationContext {
  readonly kubernetesVersion: string;
  readonly profile: ProtectionProfile;
  readonly tls: TlsPolicy;
  readonly clusterName: string;
  readonly serviceSubnet: string;
  readonly podSubnet?: string;
  readonly dnsDomain: string;
  readonly certSANs: readonly string[];
  readonly controlPlaneEndpoint?: string;
  readonly advertiseAddress?: string;
  /**
   * Loopback mode (local control plane): every listener on this loopback address. kubeadm
   * refuses a loopback advertise address in InitConfiguration, so the address is written as
   * explicit flags (API server advertise/bind address, etcd URLs) instead.
   */
  readonly loopbackAddress?: string;
  /** Loopback mode: --advertise-address (the `kubernetes` Service endpoints) instead of the loopback address. */
  readonly serviceAdvertiseAddress?: string;
  readonly nodeName?: string;
  readonly apiServerPort: number;
  readonly etcdClientPort: number;
  readonly etcdPeerPort: number;
  readonly etcdMetricsPort?: number;
  readonly controllerManagerPort: number;
  readonly schedulerPort: number;
  readonly auditLog: AuditLogSettings;
  readonly auditPolicyPath: string;
  readonly encryptionConfigPath: string;
  readonly admissionConfigPath: string;
  /** Plugins configured in the admission configuration file (enabled too). */
  readonly configuredAdmissionPlugins: readonly string[];
  /** Set in 'health-endpoints' mode. */
  readonly authenticationConfigPath?: string;
  /** Set when cluster traffic goes through a proxy: the EgressSelectorConfiguration file and the proxy socket's directory. */
  readonly egressSelector?: { readonly configPath: string; readonly socketDirectory: string };
}

export interface ClusterConfigurationProps {
  readonly apiServer?: ApiServerHardeningProps;
  readonly controllerManager?: ControllerManagerHardeningProps;
  readonly scheduler?: SchedulerHardeningProps;
  readonly etcd?: EtcdHardeningProps;
  readonly pki?: PkiProps;
}

/** A kubeadm v1beta4 extra argument. */
export interface ExtraArg {
  readonly name: string;
  readonly value: string;
}

/** A kubeadm v1beta4 host path volume. */
export interface ExtraVolume {
  readonly name: string;
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
  readonly pathType: 'File' | 'DirectoryOrCreate';
}

const DEFAULT_ETCD_CLIENT_PORT = 2379;
const DEFAULT_ETCD_PEER_PORT = 2380;
const KEY_ALGORITHMS: readonly PkiKeyAlgorithm[] = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384'];

/**
 * kubeadm ClusterConfiguration (kubeadm.k8s.io/v1beta4) with a hardened API server,
 * controller manager, scheduler and local etcd. Every flag is rendered as a sorted
 * `extraArgs` list of {name, value}; the files the API server reads are mounted read-only
 * (hostPath, pathType File), the audit log directory read-write (DirectoryOrCreate).
 */
export class KubeadmClusterConfiguration extends Construct {
  public readonly apiServerArgs: readonly ExtraArg[];
  public readonly controllerManagerArgs: readonly ExtraArg[];
  public readonly schedulerArgs: readonly ExtraArg[];
  public readonly etcdArgs: readonly ExtraArg[];
  public readonly apiServerVolumes: readonly ExtraVolume[];
  public readonly etcdDataDir: string;
  public readonly keyAlgorithm: PkiKeyAlgorithm;
  private readonly ctx: ClusterConfigurationContext;
  private readonly certificateValidityPeriod: string;
  private readonly caCertificateValidityPeriod: string;

  constructor(scope: Construct, id: string, ctx: ClusterConfigurationContext, props: ClusterConfigurationProps = {}) {
    super(scope, id);
    this.ctx = ctx;
    const pki = props.pki ?? {};
    this.keyAlgorithm =
      pki.keyAlgorithm ??
      (ctx.profile === 'high' ? 'ECDSA-P384' : ctx.profile === 'standard' ? 'RSA-3072' : 'RSA-2048');
    if (!KEY_ALGORITHMS.includes(this.keyAlgorithm)) {
      throw new BlueprintPropError(
        this,
        'pki.keyAlgorithm',
        this.keyAlgorithm,
        'not a key algorithm kubeadm supports',
        `use one of ${KEY_ALGORITHMS.join(', ')}`,
      );
    }
    this.certificateValidityPeriod = pki.certificateValidityPeriod ?? '8760h0m0s';
    if (checkDuration(this, 'pki.certificateValidityPeriod', this.certificateValidityPeriod) > 8760 * 3600) {
      throw new BlueprintPropError(
        this,
        'pki.certificateValidityPeriod',
        this.certificateValidityPeriod,
        'leaf certificates must not live longer than one year',
        "use at most '8760h'",
      );
    }
    this.caCertificateValidityPeriod = pki.caCertificateValidityPeriod ?? '87600h0m0s';
    if (checkDuration(this, 'pki.caCertificateValidityPeriod', this.caCertificateValidityPeriod) > 87600 * 3600) {
      throw new BlueprintPropError(
        this,
        'pki.caCertificateValidityPeriod',
        this.caCertificateValidityPeriod,
        'the CA must not live longer than ten years',
        "use at most '87600h'",
      );
    }
    this.etcdDataDir = checkAbsolutePath(this, 'etcd.dataDir', props.etcd?.dataDir ?? ETCD_DATA_DIR);

    this.apiServerArgs = this.apiServer(props.apiServer ?? {});
    this.apiServerVolumes = this.volumes();
    this.controllerManagerArgs = this.controllerManager(props.controllerManager ?? {});
    this.schedulerArgs = withExtra(this, 'scheduler.extraArgs', this.schedulerBase(), props.scheduler?.extraArgs);
    this.etcdArgs = withExtra(this, 'etcd.extraArgs', this.etcd(), props.etcd?.extraArgs);
  }

  private loopbackHost(): string {
    if (this.ctx.loopbackAddress) return this.ctx.loopbackAddress;
    return this.ctx.advertiseAddress && this.ctx.advertiseAddress.includes(':') ? '::1' : '127.0.0.1';
  }

  private apiServer(p: ApiServerHardeningProps): ExtraArg[] {
    const c = this.ctx;
    const mode = p.anonymousAuth ?? 'health-endpoints';
    if (mode !== 'health-endpoints' && mode !== 'disabled') {
      throw new BlueprintPropError(
        this,
        'apiServer.anonymousAuth',
        mode,
        'unknown mode',
        "use 'health-endpoints' or 'disabled'",
      );
    }
    const timeout = p.requestTimeout ?? '60s';
    const seconds = checkDuration(this, 'apiServer.requestTimeout', timeout);
    if (seconds < 1 || seconds > 300) {
      throw new BlueprintPropError(
        this,
        'apiServer.requestTimeout',
        timeout,
        'must be between 1s and 5m (0 disables the timeout, STIG V-242438)',
        "use e.g. '60s'",
      );
    }
    const bind = p.bindAddress ?? c.loopbackAddress;
    if (bind !== undefined) checkIp(this, 'apiServer.bindAddress', bind);
    if (c.loopbackAddress && bind !== undefined && !isLoopback(bind)) {
      throw new BlueprintPropError(
        this,
        'apiServer.bindAddress',
        bind,
        'the control plane is loopback-only, but this address is not a loopback address',
        'remove apiServer.bindAddress or use the loopback address',
      );
    }

    const enabled = new Set<string>([...REQUIRED_ADMISSION_PLUGINS, ...c.configuredAdmissionPlugins]);
    if (p.alwaysPullImages ?? c.profile === 'high') enabled.add('AlwaysPullImages');
    (p.extraAdmissionPlugins ?? []).forEach((name, i) => {
      this.checkPlugin(`apiServer.extraAdmissionPlugins[${i}]`, name);
      enabled.add(name);
    });
    const disabled = new Set<string>();
    (p.disableAdmissionPlugins ?? []).forEach((name, i) => {
      this.checkPlugin(`apiServer.disableAdmissionPlugins[${i}]`, name);
      if (enabled.has(name)) {
        throw new BlueprintPropError(
          this,
          `apiServer.disableAdmissionPlugins[${i}]`,
          name,
          'the blueprint requires this plugin',
          'keep it enabled',
        );
      }
      disabled.add(name);
    });
    const gates = this.featureGates('apiServer.featureGates', p.featureGates ?? {});

    const args: ExtraArg[] = [
      arg('admission-control-config-file', c.admissionConfigPath),
      mode === 'disabled' ? arg('anonymous-auth', 'false') : arg('authentication-config', c.authenticationConfigPath!),
      arg('audit-log-format', 'json'),
      arg('audit-log-maxage', String(c.auditLog.maxAgeDays)),
      arg('audit-log-maxbackup', String(c.auditLog.maxBackups)),
      arg('audit-log-maxsize', String(c.auditLog.maxSizeMb)),
      arg('audit-log-path', c.auditLog.path),
      arg('audit-policy-file', c.auditPolicyPath),
      arg('authorization-mode', 'Node,RBAC'),
      arg('client-ca-file', `${PKI_DIR}/ca.crt`),
      arg('enable-admission-plugins', [...enabled].sort().join(',')),
      arg('encryption-provider-config', c.encryptionConfigPath),
      arg('etcd-cafile', `${PKI_DIR}/etcd/ca.crt`),
      arg('etcd-certfile', `${PKI_DIR}/apiserver-etcd-client.crt`),
      arg('etcd-keyfile', `${PKI_DIR}/apiserver-etcd-client.key`),
      arg('etcd-servers', `https://${hostPort(this.loopbackHost(), c.etcdClientPort)}`),
      arg('kubelet-client-certificate', `${PKI_DIR}/apiserver-kubelet-client.crt`),
      arg('kubelet-client-key', `${PKI_DIR}/apiserver-kubelet-client.key`),
      arg('profiling', 'false'),
      arg('request-timeout', timeout),
      arg('service-account-key-file', `${PKI_DIR}/sa.pub`),
      arg('service-account-lookup', 'true'),
      arg('service-account-signing-key-file', `${PKI_DIR}/sa.key`),
      arg('tls-cert-file', `${PKI_DIR}/apiserver.crt`),
      arg('tls-cipher-suites', c.tls.cipherSuitesFlag),
      arg('tls-min-version', c.tls.minVersion),
      arg('tls-private-key-file', `${PKI_DIR}/apiserver.key`),
    ];
    if (c.auditLog.compress) args.push(arg('audit-log-compress', 'true'));
    if (bind !== undefined) args.push(arg('bind-address', bind));
    if (c.loopbackAddress) args.push(arg('advertise-address', c.serviceAdvertiseAddress ?? c.loopbackAddress));
    if (disabled.size) args.push(arg('disable-admission-plugins', [...disabled].sort().join(',')));
    if (p.encryptionConfigAutomaticReload ?? true)
      args.push(arg('encryption-provider-config-automatic-reload', 'true'));
    if (p.verifyKubeletServingCertificates ?? true)
      args.push(arg('kubelet-certificate-authority', `${PKI_DIR}/ca.crt`));
    if (gates) args.push(arg('feature-gates', gates));
    if (c.egressSelector) args.push(arg('egress-selector-config-file', c.egressSelector.configPath));
    return withExtra(this, 'apiServer.extraArgs', args, p.extraArgs, [
      'anonymous-auth',
      'authentication-config',
      'insecure-port',
      'insecure-bind-address',
      'token-auth-file',
      'basic-auth-file',
      'runtime-config',
    ]);
  }

  private checkPlugin(prop: string, name: string): void {
    if (!KNOWN_ADMISSION_PLUGINS.includes(name)) {
      throw new BlueprintPropError(
        this,
        prop,
        name,
        'unknown admission plugin',
        'use a plugin name kube-apiserver knows, e.g. AlwaysPullImages or DenyServiceExternalIPs',
      );
    }
    if (FORBIDDEN_ADMISSION_PLUGINS.includes(name)) {
      throw new BlueprintPropError(
        this,
        prop,
        name,
        'the plugin admits everything and defeats admission control',
        'remove it',
      );
    }
  }

  private featureGates(prop: string, gates: Record<string, boolean>): string | undefined {
    const entries = checkFeatureGates(this, prop, gates);
    return entries.length ? entries.map(([g, on]) => `${g}=${on}`).join(',') : undefined;
  }

  private volumes(): ExtraVolume[] {
    const c = this.ctx;
    const file = (name: string, path: string): ExtraVolume => ({
      name,
      hostPath: path,
      mountPath: path,
      readOnly: true,
      pathType: 'File',
    });
    const vols: ExtraVolume[] = [
      file('hcb-admission-config', c.admissionConfigPath),
      {
        name: 'hcb-audit-log',
        hostPath: c.auditLog.directory,
        mountPath: c.auditLog.directory,
        readOnly: false,
        pathType: 'DirectoryOrCreate',
      },
      file('hcb-audit-policy', c.auditPolicyPath),
      file('hcb-encryption-config', c.encryptionConfigPath),
    ];
    if (c.authenticationConfigPath) vols.push(file('hcb-authentication-config', c.authenticationConfigPath));
    if (c.egressSelector) {
      vols.push(file('hcb-egress-selector-config', c.egressSelector.configPath));
      // The proxy creates its socket here; connecting needs the socket, so the directory is mounted as a directory.
      vols.push({
        name: 'hcb-egress-proxy',
        hostPath: c.egressSelector.socketDirectory,
        mountPath: c.egressSelector.socketDirectory,
        readOnly: false,
        pathType: 'DirectoryOrCreate',
      });
    }
    return vols.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private controllerManager(p: ControllerManagerHardeningProps): ExtraArg[] {
    const c = this.ctx;
    const threshold = checkPositiveInt(
      this,
      'controllerManager.terminatedPodGcThreshold',
      p.terminatedPodGcThreshold ?? 10,
      1,
      100_000,
    );
    const gates = this.featureGates(
      'controllerManager.featureGates',
      p.featureGates ?? { RotateKubeletServerCertificate: true },
    );
    const args: ExtraArg[] = [
      arg('bind-address', this.loopbackHost()),
      arg('cluster-signing-cert-file', `${PKI_DIR}/ca.crt`),
      arg('cluster-signing-key-file', `${PKI_DIR}/ca.key`),
      arg('profiling', 'false'),
      arg('root-ca-file', `${PKI_DIR}/ca.crt`),
      arg('secure-port', String(c.controllerManagerPort)),
      arg('service-account-private-key-file', `${PKI_DIR}/sa.key`),
      arg('terminated-pod-gc-threshold', String(threshold)),
      arg('tls-cipher-suites', c.tls.cipherSuitesFlag),
      arg('tls-min-version', c.tls.minVersion),
      arg('use-service-account-credentials', 'true'),
    ];
    if (gates) args.push(arg('feature-gates', gates));
    args.push(...this.loopbackMaster());
    return withExtra(this, 'controllerManager.extraArgs', args, p.extraArgs);
  }

  private schedulerBase(): ExtraArg[] {
    const c = this.ctx;
    return [
      arg('bind-address', this.loopbackHost()),
      arg('profiling', 'false'),
      arg('secure-port', String(c.schedulerPort)),
      arg('tls-cipher-suites', c.tls.cipherSuitesFlag),
      arg('tls-min-version', c.tls.minVersion),
      ...this.loopbackMaster(),
    ];
  }

  /**
   * kubeadm points controller-manager.conf and scheduler.conf at the detected node address,
   * not at controlPlaneEndpoint; in loopback mode --master sends both to the loopback API.
   */
  private loopbackMaster(): ExtraArg[] {
    const c = this.ctx;
    return c.loopbackAddress ? [arg('master', `https://${hostPort(c.loopbackAddress, c.apiServerPort)}`)] : [];
  }

  private etcd(): ExtraArg[] {
    const c = this.ctx;
    const args: ExtraArg[] = [
      arg('auto-tls', 'false'),
      arg('cert-file', `${PKI_DIR}/etcd/server.crt`),
      arg('client-cert-auth', 'true'),
      arg('key-file', `${PKI_DIR}/etcd/server.key`),
      arg('peer-auto-tls', 'false'),
      arg('peer-cert-file', `${PKI_DIR}/etcd/peer.crt`),
      arg('peer-client-cert-auth', 'true'),
      arg('peer-key-file', `${PKI_DIR}/etcd/peer.key`),
      arg('peer-trusted-ca-file', `${PKI_DIR}/etcd/ca.crt`),
      arg('tls-min-version', c.tls.etcdMinVersion),
      arg('trusted-ca-file', `${PKI_DIR}/etcd/ca.crt`),
    ];
    if (c.tls.etcdConfiguresCipherSuites) args.push(arg('cipher-suites', c.tls.cipherSuitesFlag));
    const custom = c.etcdClientPort !== DEFAULT_ETCD_CLIENT_PORT || c.etcdPeerPort !== DEFAULT_ETCD_PEER_PORT;
    if (custom || c.loopbackAddress) {
      // kubeadm writes 2379/2380 and the advertise address into etcd's URLs; with other ports
      // (or loopback only) every URL is spelled out, which needs the address and member name
      // kubeadm would otherwise detect.
      const adv = c.loopbackAddress ?? c.advertiseAddress;
      if (!adv) {
        throw new BlueprintPropError(
          this,
          'advertiseAddress',
          c.advertiseAddress,
          'non-default etcd ports need an explicit advertise address (etcd URLs are written out)',
          "set advertiseAddress, e.g. '127.0.0.1' for a local control plane",
        );
      }
      if (!c.nodeName) {
        throw new BlueprintPropError(
          this,
          'nodeName',
          c.nodeName,
          'non-default etcd ports need an explicit node name (it names the etcd member in --initial-cluster)',
          "set nodeName, e.g. 'hcb-local'",
        );
      }
      const lo = this.loopbackHost();
      const clientUrls = [`https://${hostPort(lo, c.etcdClientPort)}`];
      if (adv !== lo) clientUrls.push(`https://${hostPort(adv, c.etcdClientPort)}`);
      const peer = `https://${hostPort(adv, c.etcdPeerPort)}`;
      args.push(
        arg('advertise-client-urls', `https://${hostPort(adv, c.etcdClientPort)}`),
        arg('initial-advertise-peer-urls', peer),
        arg('initial-cluster', `${c.nodeName}=${peer}`),
        arg('listen-client-urls', clientUrls.join(',')),
        arg('listen-peer-urls', peer),
      );
    }
    if (c.etcdMetricsPort !== undefined) {
      args.push(arg('listen-metrics-urls', `http://${hostPort(this.loopbackHost(), c.etcdMetricsPort)}`));
    }
    return args;
  }

  /** The ClusterConfiguration document (a fresh object). */
  public toObject(): KubeObject {
    const c = this.ctx;
    const list = (a: readonly ExtraArg[]) => a.map((x) => ({ name: x.name, value: x.value }));
    const networking: Record<string, string> = { dnsDomain: c.dnsDomain, serviceSubnet: c.serviceSubnet };
    if (c.podSubnet) networking.podSubnet = c.podSubnet;
    const apiServer: Record<string, unknown> = {};
    if (c.certSANs.length) apiServer.certSANs = [...c.certSANs];
    apiServer.extraArgs = list(this.apiServerArgs);
    apiServer.extraVolumes = this.apiServerVolumes.map((v) => ({ ...v }));
    const obj: KubeObject = {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      clusterName: c.clusterName,
      kubernetesVersion: c.kubernetesVersion,
      ...(c.controlPlaneEndpoint ? { controlPlaneEndpoint: c.controlPlaneEndpoint } : {}),
      certificatesDir: PKI_DIR,
      encryptionAlgorithm: this.keyAlgorithm,
      certificateValidityPeriod: this.certificateValidityPeriod,
      caCertificateValidityPeriod: this.caCertificateValidityPeriod,
      networking,
      apiServer,
      controllerManager: { extraArgs: list(this.controllerManagerArgs) },
      scheduler: { extraArgs: list(this.schedulerArgs) },
      etcd: { local: { dataDir: this.etcdDataDir, extraArgs: list(this.etcdArgs) } },
    };
    return obj;
  }
}

function arg(name: string, value: string): ExtraArg {
  return { name, value };
}

/** Adds user flags (refusing to override blueprint flags or `forbidden` ones) and sorts by name. */
function withExtra(
  scope: Construct,
  prop: string,
  base: ExtraArg[],
  extra: Record<string, string> | undefined,
  forbidden: string[] = [],
): ExtraArg[] {
  const out = [...base];
  const taken = new Set(base.map((a) => a.name));
  for (const [name, value] of Object.entries(extra ?? {})) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.${name}`,
        value,
        'not a flag name',
        "write the flag without dashes, e.g. 'event-ttl'",
      );
    }
    if (taken.has(name) || forbidden.includes(name)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.${name}`,
        value,
        'the blueprint sets or forbids this flag',
        'use the typed prop for it (see the construct docs) instead of extraArgs',
      );
    }
    if (typeof value !== 'string') {
      throw new BlueprintPropError(scope, `${prop}.${name}`, value, 'flag values must be strings', 'quote the value');
    }
    out.push({ name, value });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
