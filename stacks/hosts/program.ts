/**
 * The Pulumi program's pure parts for the `hosts` target (stacks/index.ts uses them; the
 * resources are in ./target.ts and ../cluster.ts):
 *
 * - `pulumiConfigReader`: the stack config, able to tell secrets (hcb:sshPrivateKey must be one);
 * - `hostsBlueprintSpec`: what the blueprint needs to know about the hosts (node name and address
 *   of the first control plane, the cluster's service and pod ranges, the kubelet settings a host
 *   without systemd needs, the reviewed PodSecurity exemption of kube-system for kubeadm's static
 *   pods).
 */
import type * as pulumi from '@pulumi/pulumi';
import { PodSecurityExemption } from '../../constructs/admission/pod-security-exemption';
import type { BlueprintSpec } from '../../constructs/blueprint';
import type { ConfigReader } from '../spec';
import type { HostSpec, HostsTargetSpec } from './config';
import { checkHostsRanges, HOSTS_NETWORK, RangeNames } from './ranges';

/** Errors of a spec given in code name its props (the stack settings have stackSpec's errors first). */
const SPEC_RANGE_NAMES: RangeNames = {
  serviceSubnet: { name: 'controlPlane.serviceSubnet', fix: (v) => `Fix: set controlPlane.serviceSubnet to ${v}` },
  podSubnet: { name: 'controlPlane.podSubnet', fix: (v) => `Fix: set controlPlane.podSubnet to ${v}` },
};

/**
 * A stack config reader over `pulumi.Config` that can tell secrets apart: JSON lists and objects
 * (as `config.get` returns them) are parsed, and `isSecret` asks the Pulumi runtime.
 */
export function pulumiConfigReader(
  config: pulumi.Config,
  isConfigSecret: (fullKey: string) => boolean = runtimeIsConfigSecret,
): ConfigReader {
  const reader: ConfigReader = (key) => {
    const v = config.get(key);
    return v === undefined ? undefined : /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
  };
  reader.isSecret = (key) => isConfigSecret(`${config.name}:${key}`);
  return reader;
}

/**
 * `@pulumi/pulumi` knows which keys are secret (the language host passes their names) but marks
 * the function internal; it is read at run time, and an SDK without it is an error, not "plain".
 */
function runtimeIsConfigSecret(fullKey: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const rt = require('@pulumi/pulumi/runtime/config') as { isConfigSecret?: (k: string) => boolean };
  if (typeof rt.isConfigSecret !== 'function') {
    throw new Error(
      `hcb: this @pulumi/pulumi cannot say whether ${fullKey} is a secret; the hosts target needs @pulumi/pulumi 3.185 or later`,
    );
  }
  return rt.isConfigSecret(fullKey);
}

/**
 * The hosts target's cluster network: ClusterIPs from `serviceSubnet`, pods from `podSubnet`, in
 * which each host gets its own /24 (the n-th host in hcb:hosts order the n-th /24; host-local IPAM
 * on the CNI bridge). Stack settings hcb:serviceSubnet and hcb:podSubnet; ./ranges.ts.
 */
export { HOSTS_NETWORK, hostPodNetwork } from './ranges';

/** Host settings of the hosts target that are not in hcb:hosts. */
export interface HostsBlueprintOptions {
  /** Stack name: names the cluster and the kubelet's cgroup parent. */
  stack: string;
  /**
   * The hosts run cgroup v1 (kubelet `failCgroupV1: false`; HCB-KUBELET-FAIL-CGROUP-V1 then
   * fails and shows in the compliance summary). @default false
   */
  cgroupV1?: boolean;
}

/**
 * The blueprint spec of a hosts cluster: the stack's spec plus what kubeadm init on the first
 * control plane needs. kube-proxy leaves nf_conntrack_max alone. The kubelet uses cgroupfs (the bring-up assumes no systemd on the hosts)
 * under a cgroup parent named after the stack, so `destroy` finds every container by it. kube-system
 * is exempt from PodSecurity (kubeadm's static pods run on the host network as root; their mirror
 * pods would be refused), the one exemption the catalogue accepts.
 */
export function hostsBlueprintSpec(
  spec: BlueprintSpec,
  hosts: HostsTargetSpec,
  opts: HostsBlueprintOptions,
): BlueprintSpec {
  const first = firstControlPlane(hosts);
  if (!/^[A-Za-z0-9._-]{1,40}$/.test(opts.stack))
    throw new Error(
      `hcb: the stack name "${opts.stack.slice(0, 60)}" cannot name a cgroup (letters, digits, '.', '_', '-', at most 40)`,
    );
  const cp = spec.controlPlane ?? {};
  checkHostsRanges(
    {
      serviceSubnet: cp.serviceSubnet ?? HOSTS_NETWORK.serviceSubnet,
      podSubnet: cp.podSubnet ?? HOSTS_NETWORK.podSubnet,
    },
    hosts.hosts,
    SPEC_RANGE_NAMES,
  );
  return {
    ...spec,
    controlPlane: {
      ...cp,
      nodeName: first.name,
      advertiseAddress: first.address,
      clusterName: cp.clusterName ?? opts.stack,
      // hcb:controlPlaneEndpoint (the load balancer of several control planes): kubeadm's
      // controlPlaneEndpoint and a SAN of the API server's certificate.
      ...(hosts.controlPlaneEndpoint
        ? {
            controlPlaneEndpoint: hosts.controlPlaneEndpoint.text,
            certSANs: [
              ...(cp.certSANs ?? []).filter((s) => s !== hosts.controlPlaneEndpoint!.host),
              hosts.controlPlaneEndpoint.host,
            ],
          }
        : {}),
      serviceSubnet: cp.serviceSubnet ?? HOSTS_NETWORK.serviceSubnet,
      podSubnet: cp.podSubnet ?? HOSTS_NETWORK.podSubnet,
      kubelet: {
        cgroupDriver: 'cgroupfs',
        cgroupRoot: `/hcb-hosts-${opts.stack}`,
        ...(opts.cgroupV1 ? { failCgroupV1: false } : {}),
        ...cp.kubelet,
      },
      // kube-proxy leaves the host's conntrack table size (nf_conntrack_max, one value for the whole
      // kernel) to the host: its other conntrack settings are per network namespace, this one is not,
      // and where it may not write it (a host in a container or namespace) kube-proxy would not start.
      kubeProxy: { conntrackMaxPerCore: 0, ...cp.kubeProxy },
      admission: {
        ...cp.admission,
        podSecurity: {
          ...cp.admission?.podSecurity,
          exemptions: [
            ...(cp.admission?.podSecurity?.exemptions ?? []),
            PodSecurityExemption.namespace('kube-system', {
              justification:
                'kubeadm runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler as static pods on the host network as root; their mirror pods live in kube-system and would fail restricted',
              owner: 'hcb hosts target',
              expires: '2027-11-29',
            }),
          ],
        },
      },
    },
  };
}

/** The host `kubeadm init` runs on: the first control-plane host in hcb:hosts. */
export function firstControlPlane(hosts: HostsTargetSpec): HostSpec {
  const first = hosts.hosts.find((h) => h.role === 'control-plane');
  if (!first)
    throw new Error(
      `hcb: config "hcb:hosts" has no host with role control-plane (kubeadm init needs one). Fix: pulumi config set --path 'hosts[0].role' control-plane`,
    );
  return first;
}
