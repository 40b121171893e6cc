import { Construct } from 'constructs';
import { KubeNetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from 'cdk8s-plus-28/lib/imports/k8s';
import { claimObjectName } from '../common/collisions';
import { BlueprintPropError } from '../common/errors';
import { objectNameFrom, requireUserNamespace } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';
import { NetworkPeer } from './network-peer';
import { NetworkPort } from './network-port';
import { PodSelection } from './pod-selection';

/** One allow rule: these peers, on these ports. */
export interface NetworkRule {
  /** Who may connect (ingress) or where to (egress). At least one. */
  readonly peers: NetworkPeer[];
  /**
   * Ports the rule opens. Required unless `anyPort` is true (BSI APP.4.4.A7: only needed ports).
   * @default - none; the rule is refused without ports or `anyPort`
   */
  readonly ports?: NetworkPort[];
  /**
   * Opens every port to the peers. Must be said explicitly and cannot be combined with `ports`.
   * @default false
   */
  readonly anyPort?: boolean;
}

export interface NetworkAllowPolicyProps {
  /** Namespace of the pods the policy applies to. */
  readonly namespace: string;
  /**
   * Name of the NetworkPolicy.
   * @default - the construct id, if it is a valid object name
   */
  readonly name?: string;
  /**
   * Pods the policy applies to.
   * @default PodSelection.all()
   */
  readonly appliesTo?: PodSelection;
  /**
   * Inbound connections to allow.
   * @default - none
   */
  readonly ingress?: NetworkRule[];
  /**
   * Outbound connections to allow.
   * @default - none
   */
  readonly egress?: NetworkRule[];
}

/**
 * A NetworkPolicy that allows exactly the listed connections, on top of the namespace's
 * default deny. Every rule names its peers and its ports; nothing is allowed unless asked for
 * (BSI APP.4.4.A7, A18).
 */
export class NetworkAllowPolicy extends Construct {
  /** Name of the generated NetworkPolicy. */
  public readonly policyName: string;

  constructor(scope: Construct, id: string, props: NetworkAllowPolicyProps) {
    super(scope, id);
    const namespace = requireUserNamespace(this, 'namespace', props.namespace);
    this.policyName = objectNameFrom(this, id, props.name, 'allow-web-from-ingress');
    claimObjectName(
      this,
      'name',
      { kind: 'NetworkPolicy', namespace, name: this.policyName },
      'a NetworkAllowPolicy',
      () =>
        'give this NetworkAllowPolicy another name (props.name), e.g. "allow-web-from-ingress"; "hcb-default-deny" and "hcb-allow-dns" are the names of HardenedNamespace\'s own policies',
    );
    const podSelector = (props.appliesTo ?? PodSelection.all()).render(this, 'appliesTo');
    const ingress = renderRules(this, 'ingress', props.ingress);
    const egress = renderRules(this, 'egress', props.egress);
    if (ingress.length === 0 && egress.length === 0) {
      throw new BlueprintPropError(
        this,
        'ingress',
        props.ingress,
        'the policy allows nothing (no ingress and no egress rules)',
        'add at least one rule, or drop the policy: the namespace default deny already blocks everything',
      );
    }
    const policyTypes = [...(ingress.length ? ['Ingress'] : []), ...(egress.length ? ['Egress'] : [])];
    stampProvenance(
      new KubeNetworkPolicy(this, 'Resource', {
        metadata: { name: this.policyName, namespace },
        spec: {
          podSelector,
          policyTypes,
          ...(ingress.length
            ? { ingress: ingress.map((r) => ({ from: r.peers, ...(r.ports ? { ports: r.ports } : {}) })) }
            : {}),
          ...(egress.length
            ? { egress: egress.map((r) => ({ to: r.peers, ...(r.ports ? { ports: r.ports } : {}) })) }
            : {}),
        },
      }),
    );
  }
}

interface RenderedRule {
  peers: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

/** Validates and renders a list of rules. Exported for AllowInNamespaceTraffic. */
export function renderRules(scope: Construct, prop: string, rules: NetworkRule[] | undefined): RenderedRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) {
    throw new BlueprintPropError(
      scope,
      prop,
      rules,
      'must be a list of rules',
      'pass [{ peers: [...], ports: [...] }]',
    );
  }
  return rules.map((rule, i) => {
    const p = `${prop}[${i}]`;
    if (!rule || !Array.isArray(rule.peers) || rule.peers.length === 0) {
      throw new BlueprintPropError(
        scope,
        `${p}.peers`,
        rule?.peers,
        'needs at least one peer (an empty list would match every source)',
        'name the peers with NetworkPeer.namespace(...), NetworkPeer.pods(...), NetworkPeer.cidr(...) ...',
      );
    }
    const peers = rule.peers.flatMap((peer, j) => {
      if (!(peer instanceof NetworkPeer)) {
        throw new BlueprintPropError(
          scope,
          `${p}.peers[${j}]`,
          peer,
          'is not a NetworkPeer',
          'build peers with the NetworkPeer factories',
        );
      }
      return peer.render(scope, `${p}.peers[${j}]`);
    });
    const hasPorts = Array.isArray(rule.ports) && rule.ports.length > 0;
    if (rule.anyPort && hasPorts) {
      throw new BlueprintPropError(
        scope,
        `${p}.anyPort`,
        true,
        'conflicts with the listed ports',
        'either list the ports or set anyPort, not both',
      );
    }
    if (!rule.anyPort && !hasPorts) {
      throw new BlueprintPropError(
        scope,
        `${p}.ports`,
        rule.ports,
        'no ports given; an allow rule opens only named ports',
        'list the ports, e.g. [NetworkPort.tcp(8080)], or set anyPort: true if every port is really needed',
      );
    }
    if (!hasPorts) return { peers };
    const ports = rule.ports!.map((port, j) => {
      if (!(port instanceof NetworkPort)) {
        throw new BlueprintPropError(
          scope,
          `${p}.ports[${j}]`,
          port,
          'is not a NetworkPort',
          'build ports with NetworkPort.tcp(...), NetworkPort.udp(...) ...',
        );
      }
      return port.render(scope, `${p}.ports[${j}]`);
    });
    return { peers, ports };
  });
}
