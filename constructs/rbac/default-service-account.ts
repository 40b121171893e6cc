import { Construct } from 'constructs';
import { KubeServiceAccount } from 'cdk8s-plus-28/lib/imports/k8s';
import { requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';

export interface DefaultServiceAccountLockdownProps {
  /** Namespace whose `default` ServiceAccount is locked down. */
  readonly namespace: string;
}

/**
 * Takes over the `default` ServiceAccount of a namespace and turns off token automounting
 * (BSI APP.4.4.A9). The blueprint never binds a role to it; workloads get their own accounts
 * (see `WorkloadIdentity`).
 *
 * Kubernetes creates `default` itself when the namespace appears; applying this object updates it
 * (server-side apply, which the Pulumi Kubernetes provider uses by default, upserts).
 */
export class DefaultServiceAccountLockdown extends Construct {
  /** Always 'default'. */
  public readonly serviceAccountName = 'default';

  constructor(scope: Construct, id: string, props: DefaultServiceAccountLockdownProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    stampProvenance(new KubeServiceAccount(this, 'Resource', {
      metadata: { name: 'default', namespace },
      automountServiceAccountToken: false,
    }));
  }
}
