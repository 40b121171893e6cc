import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { checkCidr } from './validation';

/** Where kubeadm's kube-proxy DaemonSet reads its kubeconfig (the same path on the local node). */
export const KUBE_PROXY_KUBECONFIG_PATH = '/var/lib/kube-proxy/kubeconfig.conf';
/** Where kube-proxy reads this configuration (kubeadm's ConfigMap key config.conf). */
export const KUBE_PROXY_CONFIG_PATH = '/var/lib/kube-proxy/config.conf';

export interface KubeProxyHardeningProps {
  /**
   * Conntrack table size per CPU. kube-proxy writes the host-wide `nf_conntrack_max` when this
   * is above 0; 0 leaves the kernel's value (required where kube-proxy runs in a network
   * namespace that cannot write the global sysctl, e.g. the local target's node).
   * @default - kube-proxy's default (32768)
   */
  readonly conntrackMaxPerCore?: number;
  /**
   * Addresses NodePort services listen on. 'primary' is the node's primary addresses only
   * (never loopback, so kube-proxy does not need route_localnet).
   * @default ['primary']
   */
  readonly nodePortAddresses?: string[];
  /** Pod range kube-proxy treats as cluster-internal. @default - kubeadm's podSubnet */
  readonly clusterCIDR?: string;
}

export interface KubeProxyConfigurationContext {
  /** Pod subnet of the cluster (kubeadm's networking.podSubnet), when set. */
  readonly podSubnet?: string;
}

/**
 * KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1), part of the kubeadm configuration
 * file so `kubeadm init` puts it into kube-proxy's ConfigMap; the local node's runner writes the
 * same document to /var/lib/kube-proxy/config.conf. Hardened: iptables mode, metrics and
 * health endpoints on loopback only, no profiling, NodePorts on the node's primary addresses
 * only and never on localhost (no route_localnet, CVE-2020-8558), kubeadm's kubeconfig path.
 */
export class KubeProxyConfiguration extends Construct {
  private readonly conntrackMaxPerCore?: number;
  private readonly nodePortAddresses: string[];
  private readonly clusterCIDR?: string;

  constructor(scope: Construct, id: string, ctx: KubeProxyConfigurationContext, props: KubeProxyHardeningProps = {}) {
    super(scope, id);
    if (
      props.conntrackMaxPerCore !== undefined &&
      (!Number.isInteger(props.conntrackMaxPerCore) || props.conntrackMaxPerCore < 0)
    ) {
      throw new BlueprintPropError(
        this,
        'kubeProxy.conntrackMaxPerCore',
        props.conntrackMaxPerCore,
        'not a non-negative integer',
        'use 0 (leave the kernel value) or e.g. 32768',
      );
    }
    this.conntrackMaxPerCore = props.conntrackMaxPerCore;
    this.nodePortAddresses = props.nodePortAddresses ?? ['primary'];
    for (const [i, a] of this.nodePortAddresses.entries()) {
      if (a === 'primary') continue;
      checkCidr(this, `kubeProxy.nodePortAddresses[${i}]`, a);
      if (/^127\.|^::1\//.test(a)) {
        throw new BlueprintPropError(
          this,
          `kubeProxy.nodePortAddresses[${i}]`,
          a,
          'NodePorts on loopback make kube-proxy set route_localnet=1 (CVE-2020-8558)',
          "use 'primary' or the node's own CIDRs",
        );
      }
    }
    this.clusterCIDR =
      props.clusterCIDR === undefined ? ctx.podSubnet : checkCidr(this, 'kubeProxy.clusterCIDR', props.clusterCIDR);
  }

  public toObject(): KubeObject {
    return {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      clientConnection: { kubeconfig: KUBE_PROXY_KUBECONFIG_PATH },
      ...(this.clusterCIDR ? { clusterCIDR: this.clusterCIDR } : {}),
      metricsBindAddress: '127.0.0.1:10249',
      healthzBindAddress: '127.0.0.1:10256',
      enableProfiling: false,
      nodePortAddresses: [...this.nodePortAddresses],
      iptables: { localhostNodePorts: false, masqueradeAll: false },
      ...(this.conntrackMaxPerCore !== undefined ? { conntrack: { maxPerCore: this.conntrackMaxPerCore } } : {}),
    };
  }
}
