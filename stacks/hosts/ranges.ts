/**
 * The hosts target's cluster ranges (issue 10): the Service range (ClusterIPs) and the pod range,
 * from the stack settings `hcb:serviceSubnet` and `hcb:podSubnet` or their defaults.
 *
 * They reach every place that needs them through the blueprint's kubeadm ClusterConfiguration
 * (`networking.serviceSubnet` / `networking.podSubnet`): kubeadm gives the API server
 * `--service-cluster-ip-range`, the controller manager `--cluster-cidr`, and puts the first
 * address of the Service range (the `kubernetes` Service's ClusterIP) into the API server's
 * certificate (kubeadm pkiutil GetAPIServerAltNames → constants.GetAPIServerVirtualIP); the
 * blueprint's KubeProxyConfiguration takes `clusterCIDR` from the pod range; network.ts reads both
 * from the rendered ClusterConfiguration (kube-router's service range, the host route to the
 * Service range); each host's CNI bridge gets the n-th /24 of the pod range (`hostPodNetwork`).
 *
 * Checked before anything is created: IPv4 CIDR blocks written as their network address, the
 * sizes kubeadm accepts (Service range /12 to /28; pod range /8 to /24, as the controller manager
 * gives nodes /24s), a /24 per host, no overlap between the two ranges, and no host address inside
 * either. The ranges need not be inside 198.18.0.0/15: the network is the user's.
 */
import { isIPv4 } from 'net';
import { parseAllDocuments } from 'yaml';

/** The defaults (the e2e labs rely on them): ClusterIPs and pods inside 198.18.0.0/15. */
export const HOSTS_NETWORK = { serviceSubnet: '198.19.128.0/17', podSubnet: '198.18.128.0/17' } as const;

/** Each host's pod range is a /24 (the controller manager's default node mask for IPv4). */
const HOST_POD_PREFIX = 24;

interface Cidr4 {
  base: number;
  prefix: number;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function size(c: Cidr4): number {
  return 2 ** (32 - c.prefix);
}

/** An IPv4 CIDR block in its canonical form (network address, no host bits), or why not. */
export function parseCidr4(text: string): Cidr4 | string {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32)
    return 'not an IPv4 CIDR block (the hosts target runs single-stack IPv4)';
  const prefix = Number(m[2]);
  const addr = ipToInt(m[1]);
  const base = addr - (addr % 2 ** (32 - prefix));
  if (base !== addr) return `has host bits set; the block is ${intToIp(base)}/${prefix}`;
  return { base, prefix };
}

function overlaps(a: Cidr4, b: Cidr4): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

function contains(c: Cidr4, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + size(c);
}

/** The /24 pod range and bridge gateway of the host at `index` in hcb:hosts: the index-th /24 of `podSubnet`. */
export function hostPodNetwork(
  index: number,
  podSubnet: string = HOSTS_NETWORK.podSubnet,
): { podCidr: string; podGateway: string } {
  const c = parseCidr4(podSubnet);
  if (typeof c === 'string') throw new Error(`hcb: the pod range ${JSON.stringify(podSubnet)} is ${c}`);
  const count = c.prefix <= HOST_POD_PREFIX ? 2 ** (HOST_POD_PREFIX - c.prefix) : 0;
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new Error(
      `hcb: the hosts target gives each host a /24 of ${podSubnet}; host index ${index} is out of range (at most ${count} hosts)`,
    );
  const base = c.base + index * 256;
  return { podCidr: `${intToIp(base)}/24`, podGateway: intToIp(base + 1) };
}

/** How many hosts a pod range has room for (one /24 each). */
export function hostsInPodSubnet(podSubnet: string): number {
  const c = parseCidr4(podSubnet);
  return typeof c === 'string' || c.prefix > HOST_POD_PREFIX ? 0 : 2 ** (HOST_POD_PREFIX - c.prefix);
}

/** The ClusterIP of the `kubernetes` Service: the first address of the Service range (as kubeadm takes it). */
export function kubernetesServiceIp(serviceSubnet: string): string {
  const c = parseCidr4(serviceSubnet);
  if (typeof c === 'string') throw new Error(`hcb: the Service range ${JSON.stringify(serviceSubnet)} is ${c}`);
  return intToIp(c.base + 1);
}

/** How a range is named in errors and how it is fixed (a stack setting, or a prop of the spec). */
export interface RangeNames {
  serviceSubnet: { name: string; fix: (value: string) => string };
  podSubnet: { name: string; fix: (value: string) => string };
}

/** Errors name the stack setting and give the `pulumi config set` fix. */
export const CONFIG_RANGE_NAMES: RangeNames = {
  serviceSubnet: {
    name: 'config "hcb:serviceSubnet"',
    fix: (v) => `Fix: pulumi config set hcb:serviceSubnet ${v}`,
  },
  podSubnet: { name: 'config "hcb:podSubnet"', fix: (v) => `Fix: pulumi config set hcb:podSubnet ${v}` },
};

/**
 * Checks the two ranges against each other and the hosts. Each error names the setting, its
 * value and the fix; the first problem found is thrown.
 */
export function checkHostsRanges(
  ranges: { serviceSubnet: string; podSubnet: string },
  hosts: ReadonlyArray<{ name: string; address: string }>,
  names: RangeNames = CONFIG_RANGE_NAMES,
): void {
  const parsed = {} as Record<'serviceSubnet' | 'podSubnet', Cidr4>;
  for (const key of ['serviceSubnet', 'podSubnet'] as const) {
    const value = ranges[key];
    const n = names[key];
    const c = parseCidr4(value);
    const example = HOSTS_NETWORK[key];
    if (typeof c === 'string')
      throw new Error(`hcb: ${n.name} = ${JSON.stringify(value)} ${c}. ${n.fix(`<an IPv4 CIDR such as ${example}>`)}`);
    if (key === 'serviceSubnet' && (c.prefix < 12 || c.prefix > 28))
      throw new Error(
        `hcb: ${n.name} = ${JSON.stringify(value)} is /${c.prefix}; kubeadm takes a Service range from /12 (at most 2^20 addresses) to /28 (at least 10). ${n.fix(`<a /12 to /28 range such as ${example}>`)}`,
      );
    if (key === 'podSubnet' && (c.prefix < 8 || c.prefix > HOST_POD_PREFIX))
      throw new Error(
        `hcb: ${n.name} = ${JSON.stringify(value)} is /${c.prefix}; every host gets a /24 of it and kubeadm allows at most 16 bits between the range and the nodes' /24, so it must be /8 to /24. ${n.fix(`<a /8 to /24 range such as ${example}>`)}`,
      );
    parsed[key] = c;
  }
  const svc = parsed.serviceSubnet;
  const pod = parsed.podSubnet;
  if (overlaps(svc, pod))
    throw new Error(
      `hcb: ${names.podSubnet.name} = ${JSON.stringify(ranges.podSubnet)} overlaps ${names.serviceSubnet.name} = ${JSON.stringify(ranges.serviceSubnet)}; pods and Services need ranges of their own. ${names.podSubnet.fix('<a range apart from the Service range>')} (or change the Service range)`,
    );
  for (const key of ['serviceSubnet', 'podSubnet'] as const) {
    hosts.forEach((h, i) => {
      if (contains(parsed[key], h.address))
        throw new Error(
          `hcb: ${names[key].name} = ${JSON.stringify(ranges[key])} contains the address ${h.address} of hcb:hosts[${i}] ("${h.name}"); a host address inside the cluster's ${key === 'podSubnet' ? 'pod' : 'Service'} range would be routed to the cluster instead of to the host. ${names[key].fix('<a range without the host addresses>')}`,
        );
    });
  }
  const room = hostsInPodSubnet(ranges.podSubnet);
  if (hosts.length > room)
    throw new Error(
      `hcb: ${names.podSubnet.name} = ${JSON.stringify(ranges.podSubnet)} has room for ${room} host(s) (a /24 each), hcb:hosts lists ${hosts.length}. ${names.podSubnet.fix(`<a range of at least /${HOST_POD_PREFIX - Math.ceil(Math.log2(hosts.length))}>`)}`,
    );
}

/**
 * The ranges a synthesized blueprint gives the cluster: `networking` of the ClusterConfiguration
 * in its kubeadm configuration node file (what kubeadm init applies, so the hosts' pod ranges
 * and routes always follow the same ranges as the control plane).
 */
export function blueprintRanges(nodeFiles: ReadonlyArray<{ role?: string; content?: string }>): {
  serviceSubnet: string;
  podSubnet: string;
} {
  const files = nodeFiles.filter((f) => f.role === 'kubeadm-config');
  if (files.length !== 1 || files[0].content === undefined)
    throw new Error('hcb: the blueprint must hold exactly one kubeadm configuration with content');
  const cluster = parseAllDocuments(files[0].content)
    .map((d) => d.toJS() as { kind?: string; networking?: { serviceSubnet?: unknown; podSubnet?: unknown } } | null)
    .find((d) => d?.kind === 'ClusterConfiguration');
  const n = cluster?.networking;
  if (typeof n?.serviceSubnet !== 'string' || typeof n.podSubnet !== 'string')
    throw new Error(
      "hcb: the blueprint's ClusterConfiguration names no networking.serviceSubnet or podSubnet; synthesize it with hostsBlueprintSpec (stacks/hosts/program.ts)",
    );
  return { serviceSubnet: n.serviceSubnet, podSubnet: n.podSubnet };
}
