import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { KubeadmClusterConfiguration } from './cluster-configuration';
import { KubeadmInitConfiguration } from './init-configuration';
import { KubeProxyConfiguration } from './kube-proxy-configuration';
import { KubeletConfiguration } from './kubelet-configuration';
import { NodeConfigFile } from './node-config-file';
import { KUBEADM_CONFIG_PATH } from './paths';

export interface KubeadmConfigFileProps {
  readonly init: KubeadmInitConfiguration;
  readonly cluster: KubeadmClusterConfiguration;
  readonly kubelet: KubeletConfiguration;
  /** kube-proxy's configuration (kubeadm puts it into kube-proxy's ConfigMap). */
  readonly kubeProxy?: KubeProxyConfiguration;
}

/**
 * The file `kubeadm init --config` reads: InitConfiguration, ClusterConfiguration,
 * KubeletConfiguration and KubeProxyConfiguration as one multi-document YAML (STIG V-242454/242455: root-owned, 0600).
 */
export class KubeadmConfigFile extends NodeConfigFile {
  private readonly parts: KubeadmConfigFileProps;

  constructor(scope: Construct, id: string, props: KubeadmConfigFileProps) {
    super(scope, id, { path: KUBEADM_CONFIG_PATH, mode: 0o600, role: 'kubeadm-config', sensitive: false });
    this.parts = props;
  }

  protected describe(): string {
    return (
      'kubeadm configuration (kubeadm init --config): InitConfiguration, ClusterConfiguration, KubeletConfiguration' +
      (this.parts.kubeProxy ? ', KubeProxyConfiguration' : '')
    );
  }

  public toObjects(): KubeObject[] {
    return [
      this.parts.init.toObject(),
      this.parts.cluster.toObject(),
      this.parts.kubelet.toObject(),
      ...(this.parts.kubeProxy ? [this.parts.kubeProxy.toObject()] : []),
    ];
  }
}
