import { Construct } from 'constructs';
import { KubeServiceAccount } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';
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
    stampProvenance(
      new KubeServiceAccount(this, 'Resource', {
        metadata: { name: 'default', namespace },
        automountServiceAccountToken: false,
      }),
    );
  }
}

/** The namespaces Kubernetes and kubeadm create, each with its own `default` ServiceAccount. */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

export interface SystemServiceAccountLockdownProps {
  /**
   * System namespaces whose `default` ServiceAccount is locked down; each must be one of
   * SYSTEM_NAMESPACES. @default all of SYSTEM_NAMESPACES
   */
  readonly namespaces?: string[];
}

/**
 * The same lockdown for the namespaces the cluster brings itself (default, kube-node-lease,
 * kube-public, kube-system; CIS 5.1.5): a pod that lands there without naming a service account
 * gets no token. The control-plane components and the blueprint's add-ons use accounts of their
 * own, so nothing of the cluster depends on these tokens.
 */
export class SystemServiceAccountLockdown extends Construct {
  readonly namespaces: readonly string[];

  constructor(scope: Construct, id: string, props: SystemServiceAccountLockdownProps = {}) {
    super(scope, id);
    const namespaces = props.namespaces ?? SYSTEM_NAMESPACES;
    if (!Array.isArray(namespaces)) {
      throw new BlueprintPropError(
        this,
        'namespaces',
        namespaces,
        'must be a list of namespace names',
        `list some of ${SYSTEM_NAMESPACES.join(', ')}`,
      );
    }
    const seen = new Set<string>();
    for (const [i, ns] of namespaces.entries()) {
      if (typeof ns !== 'string' || !SYSTEM_NAMESPACES.includes(ns)) {
        throw new BlueprintPropError(
          this,
          `namespaces[${i}]`,
          ns,
          'is not a namespace Kubernetes creates',
          `use one of ${SYSTEM_NAMESPACES.join(', ')}; lock the default account of your own namespaces with HardenedNamespace`,
        );
      }
      if (seen.has(ns))
        throw new BlueprintPropError(this, `namespaces[${i}]`, ns, 'is listed twice', 'list each namespace once');
      seen.add(ns);
      stampProvenance(
        new KubeServiceAccount(this, ns, {
          metadata: { name: 'default', namespace: ns },
          automountServiceAccountToken: false,
        }),
      );
    }
    this.namespaces = [...namespaces];
  }
}
