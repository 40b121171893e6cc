// Public part of constructs/network (re-exported by constructs/index.ts). CIDR parsing and rule
// rendering stay internal: code of this package imports them by file path.
export { NetworkAllowPolicy, type NetworkAllowPolicyProps, type NetworkRule } from './allow-policy';
export { DefaultDenyNetworkPolicy, type DefaultDenyNetworkPolicyProps } from './default-deny';
export { DnsEgressNetworkPolicy, type DnsEgressNetworkPolicyProps } from './dns-egress';
export { AllowInNamespaceTraffic, type AllowInNamespaceTrafficProps } from './in-namespace-traffic';
export { NetworkPeer, SERVICE_ACCOUNT_LABEL } from './network-peer';
export { NetworkPort, type NetworkProtocol } from './network-port';
export { PodSelection } from './pod-selection';
