import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { requireDnsSubdomain } from '../tenant/names';
import { NetworkAllowPolicy } from './allow-policy';
import { NetworkPeer } from './network-peer';
import { NetworkPort } from './network-port';
import { PodSelection } from './pod-selection';

export interface AllowInNamespaceTrafficProps {
  /** Namespace both sides run in. */
  readonly namespace: string;
  /** Client pods, by labels or ServiceAccount. */
  readonly from: PodSelection;
  /** Server pods, by labels or ServiceAccount. */
  readonly to: PodSelection;
  /** Ports on the server pods. At least one. */
  readonly ports: NetworkPort[];
  /**
   * Prefix of the two policy names (`<prefix>-egress`, `<prefix>-ingress`).
   * @default - the construct id, if it is a valid object name
   */
  readonly namePrefix?: string;
}

/**
 * Micro-segmentation inside a namespace (BSI APP.4.4.A18): lets client pods reach server pods on
 * the given ports and nothing more. Because the namespace denies both directions, it writes two
 * policies: egress on the clients to the servers, ingress on the servers from the clients.
 */
export class AllowInNamespaceTraffic extends Construct {
  /** Name of the policy on the client pods. */
  public readonly egressPolicyName: string;
  /** Name of the policy on the server pods. */
  public readonly ingressPolicyName: string;

  constructor(scope: Construct, id: string, props: AllowInNamespaceTrafficProps) {
    super(scope, id);
    const prefix = requireDnsSubdomain(this, 'namePrefix', props.namePrefix ?? id);
    if (!(props.from instanceof PodSelection) || !(props.to instanceof PodSelection)) {
      throw new BlueprintPropError(
        this,
        props.from instanceof PodSelection ? 'to' : 'from',
        undefined,
        'is not a PodSelection',
        'use PodSelection.labels(...) or PodSelection.serviceAccount(...)',
      );
    }
    if (props.from.isAll && props.to.isAll) {
      throw new BlueprintPropError(
        this,
        'from',
        'PodSelection.all()',
        'from and to both select every pod, which undoes the segmentation',
        'select the clients or the servers by labels or ServiceAccount',
      );
    }
    if (!Array.isArray(props.ports) || props.ports.length === 0) {
      throw new BlueprintPropError(
        this,
        'ports',
        props.ports,
        'needs at least one port',
        'list the server ports, e.g. [NetworkPort.tcp(8080)]',
      );
    }
    const fromSel = props.from.render(this, 'from');
    const toSel = props.to.render(this, 'to');
    const asPeer = (sel: { matchLabels?: Record<string, string> }) =>
      sel.matchLabels ? NetworkPeer.pods(sel.matchLabels) : NetworkPeer.allPodsInNamespace();
    this.egressPolicyName = new NetworkAllowPolicy(this, 'Egress', {
      namespace: props.namespace,
      name: `${prefix}-egress`,
      appliesTo: props.from,
      egress: [{ peers: [asPeer(toSel)], ports: props.ports }],
    }).policyName;
    this.ingressPolicyName = new NetworkAllowPolicy(this, 'Ingress', {
      namespace: props.namespace,
      name: `${prefix}-ingress`,
      appliesTo: props.to,
      ingress: [{ peers: [asPeer(fromSel)], ports: props.ports }],
    }).policyName;
  }
}
