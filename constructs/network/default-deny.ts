import { Construct } from 'constructs';
import { KubeNetworkPolicy } from 'cdk8s-plus-28/lib/imports/k8s';
import { claimObjectName } from '../common/collisions';
import { requireDnsSubdomain, requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';

export interface DefaultDenyNetworkPolicyProps {
  /** Namespace the policy isolates. Reserved namespaces are refused. */
  readonly namespace: string;
  /**
   * Name of the NetworkPolicy.
   * @default 'hcb-default-deny'
   */
  readonly name?: string;
}

/**
 * Isolates every pod of a namespace for ingress AND egress: a NetworkPolicy that selects all pods
 * and allows nothing (BSI APP.4.4.A7, A18). Allow rules are added as separate policies; the CNI
 * unions them, so nothing flows unless a rule asks for it.
 */
export class DefaultDenyNetworkPolicy extends Construct {
  /** Name of the generated NetworkPolicy. */
  public readonly policyName: string;

  constructor(scope: Construct, id: string, props: DefaultDenyNetworkPolicyProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    this.policyName = requireDnsSubdomain(this, 'name', props.name ?? 'hcb-default-deny');
    claimObjectName(
      this,
      'name',
      { kind: 'NetworkPolicy', namespace, name: this.policyName },
      'the default deny (DefaultDenyNetworkPolicy)',
      (other) =>
        `rename the other policy (${other.path}): "${this.policyName}" is the namespace's default deny, and replacing it would open the namespace`,
    );
    stampProvenance(
      new KubeNetworkPolicy(this, 'Resource', {
        metadata: { name: this.policyName, namespace },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      }),
    );
  }
}
