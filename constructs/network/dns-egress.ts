import { Construct } from 'constructs';
import { IntOrString, KubeNetworkPolicy } from 'cdk8s-plus-28/lib/imports/k8s';
import { claimObjectName } from '../common/collisions';
import { BlueprintPropError } from '../common/errors';
import { requireLabels, requireDnsLabel, requireDnsSubdomain, requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';

export interface DnsEgressNetworkPolicyProps {
  /** Namespace whose pods may resolve names. */
  readonly namespace: string;
  /**
   * Name of the NetworkPolicy.
   * @default 'hcb-allow-dns'
   */
  readonly name?: string;
  /**
   * Namespace the cluster DNS runs in.
   * @default 'kube-system'
   */
  readonly dnsNamespace?: string;
  /**
   * Labels of the cluster DNS pods (at least one: an empty selector would open port 53 to every
   * pod of the DNS namespace).
   * @default { 'k8s-app': 'kube-dns' }
   */
  readonly dnsPodLabels?: Record<string, string>;
}

/**
 * Lets every pod of a namespace reach the cluster DNS, and nothing else: egress to the DNS pods
 * in the DNS namespace on UDP and TCP 53. Needed beside a default-deny egress policy.
 */
export class DnsEgressNetworkPolicy extends Construct {
  /** Name of the generated NetworkPolicy. */
  public readonly policyName: string;

  constructor(scope: Construct, id: string, props: DnsEgressNetworkPolicyProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    this.policyName = requireDnsSubdomain(this, 'name', props.name ?? 'hcb-allow-dns');
    claimObjectName(
      this,
      'name',
      { kind: 'NetworkPolicy', namespace, name: this.policyName },
      'the DNS egress rule (DnsEgressNetworkPolicy)',
      (other) => `rename the other policy (${other.path}): "${this.policyName}" is the namespace's DNS egress rule`,
    );
    const dnsNamespace = requireDnsLabel(this, 'dnsNamespace', props.dnsNamespace ?? 'kube-system');
    const dnsPodLabels = requireLabels(this, 'dnsPodLabels', props.dnsPodLabels ?? { 'k8s-app': 'kube-dns' });
    // The rule names the resolver's pods, never "port 53 anywhere": an empty pod selector would
    // let every pod of the DNS namespace answer (or tunnel) on 53.
    if (Object.keys(dnsPodLabels).length === 0) {
      throw new BlueprintPropError(
        this,
        'dnsPodLabels',
        props.dnsPodLabels,
        'selects every pod of the DNS namespace, not the DNS pods',
        "give the labels of the cluster DNS pods (CoreDNS: { 'k8s-app': 'kube-dns' })",
      );
    }
    stampProvenance(
      new KubeNetworkPolicy(this, 'Resource', {
        metadata: { name: this.policyName, namespace },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            {
              to: [
                {
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dnsNamespace } },
                  podSelector: { matchLabels: dnsPodLabels },
                },
              ],
              ports: [
                { protocol: 'UDP', port: IntOrString.fromNumber(53) },
                { protocol: 'TCP', port: IntOrString.fromNumber(53) },
              ],
            },
          ],
        },
      }),
    );
  }
}
