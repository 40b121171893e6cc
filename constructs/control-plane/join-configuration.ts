import { Construct } from 'constructs';
import type { KubeObject, NodeFile } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { DISCOVERY_KUBECONFIG_PATH, KUBEADM_JOIN_CONFIG_PATH, KUBEADM_PATCHES_DIR, PKI_DIR } from './paths';
import { renderYaml } from './render';
import { checkAbsolutePath, checkDnsSubdomain, checkIp, checkPort } from './validation';

export interface KubeadmJoinConfigurationProps {
  /**
   * Join as an additional control-plane node (keeps static pods) instead of a worker.
   * @default false
   */
  readonly controlPlane?: boolean;
  /** Advertise address of a joining control-plane node. @default - detected by kubeadm */
  readonly advertiseAddress?: string;
  /** API server port of a joining control-plane node. @default 6443 */
  readonly apiServerPort?: number;
  /** Node name. @default - the host name (no --hostname-override) */
  readonly nodeName?: string;
  /**
   * File discovery: a kubeconfig with the cluster's CA and address (and the join credential),
   * which the stack writes to the node before joining (mode 0600). Token discovery through the
   * public cluster-info ConfigMap is not used: anonymous access is limited to health paths.
   * @default '/etc/kubernetes/discovery/cluster-info.conf'
   */
  readonly discoveryKubeconfigPath?: string;
}

/**
 * kubeadm JoinConfiguration (kubeadm.k8s.io/v1beta4) for further nodes. Worker nodes get a
 * kubeadm patch that removes staticPodPath from their KubeletConfiguration (STIG V-242397:
 * no static pods outside the control plane).
 */
export class KubeadmJoinConfiguration extends Construct {
  public readonly controlPlane: boolean;
  private readonly props: KubeadmJoinConfigurationProps;
  private readonly discovery: string;

  constructor(scope: Construct, id: string, props: KubeadmJoinConfigurationProps = {}) {
    super(scope, id);
    this.props = props;
    this.controlPlane = props.controlPlane ?? false;
    this.discovery = checkAbsolutePath(
      this,
      'discoveryKubeconfigPath',
      props.discoveryKubeconfigPath ?? DISCOVERY_KUBECONFIG_PATH,
    );
    if (props.advertiseAddress !== undefined) checkIp(this, 'advertiseAddress', props.advertiseAddress);
    if (props.apiServerPort !== undefined) checkPort(this, 'apiServerPort', props.apiServerPort);
    if (props.nodeName !== undefined) checkDnsSubdomain(this, 'nodeName', props.nodeName);
    if (!this.controlPlane && (props.advertiseAddress !== undefined || props.apiServerPort !== undefined)) {
      throw new BlueprintPropError(
        this,
        'advertiseAddress',
        props.advertiseAddress ?? props.apiServerPort,
        'only a joining control-plane node has an API endpoint',
        'set controlPlane: true or remove the endpoint props',
      );
    }
  }

  public toObject(): KubeObject {
    const registration: Record<string, unknown> = {};
    if (this.props.nodeName) registration.name = this.props.nodeName;
    registration.imagePullPolicy = 'IfNotPresent';
    const obj: KubeObject = {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'JoinConfiguration',
      caCertPath: `${PKI_DIR}/ca.crt`,
      discovery: { file: { kubeConfigPath: this.discovery } },
      nodeRegistration: registration,
    };
    if (this.controlPlane) {
      const endpoint: Record<string, unknown> = {};
      if (this.props.advertiseAddress) endpoint.advertiseAddress = this.props.advertiseAddress;
      endpoint.bindPort = this.props.apiServerPort ?? 6443;
      obj.controlPlane = { localAPIEndpoint: endpoint };
    } else {
      obj.patches = { directory: KUBEADM_PATCHES_DIR };
    }
    return obj;
  }

  /** The join configuration file and, for workers, the kubelet patch, as node files. */
  public get nodeFiles(): NodeFile[] {
    const files: NodeFile[] = [
      {
        path: KUBEADM_JOIN_CONFIG_PATH,
        owner: 'root',
        group: 'root',
        mode: 0o600,
        role: 'kubeadm-join-config',
        content: renderYaml([this.toObject()], 'kubeadm join configuration (kubeadm join --config)'),
        sensitive: false,
        createdBy: 'blueprint',
      },
    ];
    if (!this.controlPlane) {
      files.push({
        path: `${KUBEADM_PATCHES_DIR}/kubeletconfiguration+merge.yaml`,
        owner: 'root',
        group: 'root',
        mode: 0o600,
        role: 'kubeadm-patch',
        content: '# Worker nodes run no static pods (STIG V-242397).\nstaticPodPath: ""\n',
        sensitive: false,
        createdBy: 'blueprint',
      });
    }
    return files;
  }
}
