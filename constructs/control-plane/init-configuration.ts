import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';

/** Node-local settings of the first control-plane node. */
export interface InitConfigurationContext {
  /** @default - kubeadm detects the address of the default route's interface */
  readonly advertiseAddress?: string;
  readonly apiServerPort: number;
  /** @default - the host name (no --hostname-override for the kubelet) */
  readonly nodeName?: string;
}

/**
 * kubeadm InitConfiguration (kubeadm.k8s.io/v1beta4). It carries no bootstrap token: kubeadm
 * generates a random one at init time, so no credential is ever part of the rendered file.
 */
export class KubeadmInitConfiguration extends Construct {
  private readonly ctx: InitConfigurationContext;

  constructor(scope: Construct, id: string, ctx: InitConfigurationContext) {
    super(scope, id);
    this.ctx = ctx;
  }

  public toObject(): KubeObject {
    const endpoint: Record<string, unknown> = {};
    if (this.ctx.advertiseAddress) endpoint.advertiseAddress = this.ctx.advertiseAddress;
    endpoint.bindPort = this.ctx.apiServerPort;
    const registration: Record<string, unknown> = {};
    if (this.ctx.nodeName) registration.name = this.ctx.nodeName;
    registration.imagePullPolicy = 'IfNotPresent';
    return {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'InitConfiguration',
      localAPIEndpoint: endpoint,
      nodeRegistration: registration,
    };
  }
}
