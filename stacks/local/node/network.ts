/**
 * Addresses of the local target's node. Every node, pod and service address lies in
 * 198.18.0.0/15 (RFC 2544 benchmarking space, never routed on the internet) and lives only
 * inside network namespaces this code creates: nothing is configured in the host's own
 * network namespace, and the node's namespace has no link to it.
 */

/** The only range node, pod and service addresses may come from. */
export const RESERVED_RANGE = '198.18.0.0/15';

export interface NodeNetwork {
  /** The node's address (on its interface `hcb0`), with prefix length. */
  readonly nodeAddress: string;
  readonly nodePrefix: number;
  /** Pod addresses (CNI bridge `cni0` with host-local IPAM). */
  readonly podCidr: string;
  /** The bridge's address, the pods' default gateway. */
  readonly podGateway: string;
  /** Service ClusterIPs (the blueprint's serviceSubnet on the local target). */
  readonly serviceCidr: string;
}

export const LOCAL_NODE_NETWORK: NodeNetwork = {
  nodeAddress: '198.18.0.2',
  nodePrefix: 24,
  podCidr: '198.18.16.0/20',
  podGateway: '198.18.16.1',
  serviceCidr: '198.19.0.0/16',
};

/** Parses dotted IPv4 into a number; throws on anything else. */
export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** [first, last] address of an IPv4 CIDR as numbers. */
export function cidrRange(cidr: string): [number, number] {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const bits = Number(m[2]);
  const size = 2 ** (32 - bits);
  const base = ipv4ToInt(m[1]);
  if (base % size !== 0) throw new Error(`${cidr}: host bits set`);
  return [base, base + size - 1];
}

/** True when the address or CIDR lies entirely inside 198.18.0.0/15. */
export function insideReservedRange(addressOrCidr: string): boolean {
  const [lo, hi] = RESERVED_RANGE_NUM;
  const [a, b] = addressOrCidr.includes('/')
    ? cidrRange(addressOrCidr)
    : [ipv4ToInt(addressOrCidr), ipv4ToInt(addressOrCidr)];
  return a >= lo && b <= hi;
}

const RESERVED_RANGE_NUM = cidrRange(RESERVED_RANGE);

/** True when two CIDRs share any address. */
export function overlaps(x: string, y: string): boolean {
  const [a, b] = cidrRange(x);
  const [c, d] = cidrRange(y);
  return a <= d && c <= b;
}

/**
 * Refuses a node network that leaves 198.18.0.0/15 or whose ranges overlap: the node's
 * namespace must never carry an address that could also be someone else's on this machine.
 */
export function checkNodeNetwork(n: NodeNetwork): void {
  const nodeCidr = nodeNetworkCidr(n);
  for (const [what, v] of [
    ['node address', n.nodeAddress],
    ['pod range', n.podCidr],
    ['pod gateway', n.podGateway],
    ['service range', n.serviceCidr],
    ['node network', nodeCidr],
  ] as const) {
    if (!insideReservedRange(v)) throw new Error(`local node network: ${what} ${v} is outside ${RESERVED_RANGE}`);
  }
  const pairs: Array<[string, string]> = [
    [nodeCidr, n.podCidr],
    [nodeCidr, n.serviceCidr],
    [n.podCidr, n.serviceCidr],
  ];
  for (const [x, y] of pairs) {
    if (overlaps(x, y)) throw new Error(`local node network: ${x} overlaps ${y}`);
  }
  const [plo, phi] = cidrRange(n.podCidr);
  const gw = ipv4ToInt(n.podGateway);
  if (gw <= plo || gw >= phi)
    throw new Error(`local node network: pod gateway ${n.podGateway} is not a host address of ${n.podCidr}`);
}

/** The node's own network (its address with the host bits cleared), e.g. 198.18.0.0/24. */
export function nodeNetworkCidr(n: NodeNetwork): string {
  const size = 2 ** (32 - n.nodePrefix);
  return `${intToIpv4(Math.floor(ipv4ToInt(n.nodeAddress) / size) * size)}/${n.nodePrefix}`;
}

/**
 * Where the API server's cluster egress proxy may connect to (stacks/local/node/forwarder.ts
 * connect-proxy): the node network, pods and services, all inside 198.18.0.0/15; nothing else.
 */
export function clusterEgressDestinations(n: NodeNetwork): string[] {
  checkNodeNetwork(n);
  return [nodeNetworkCidr(n), n.podCidr, n.serviceCidr];
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
