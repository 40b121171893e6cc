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
 * Lifetime of the bootstrap token `kubeadm init` creates. kubeadm's default is 24 h
 * (bootstraptoken/v1 DefaultTokenDuration); nodes join with tokens made for each join, so the init
 * token only has to outlive init itself.
 */
export const INIT_BOOTSTRAP_TOKEN_TTL = '15m0s';

/**
 * kubeadm InitConfiguration (kubeadm.k8s.io/v1beta4). It carries no bootstrap token value: kubeadm
 * generates a random one at init time (SetBootstrapTokensDynamicDefaults), so no credential is ever
 * part of the rendered file; only its lifetime is set, to INIT_BOOTSTRAP_TOKEN_TTL instead of 24 h.
 * Usages and groups stay kubeadm's defaults (signing, authentication; default-node-token group).
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
      bootstrapTokens: [{ ttl: INIT_BOOTSTRAP_TOKEN_TTL }],
      localAPIEndpoint: endpoint,
      nodeRegistration: registration,
    };
  }
}
