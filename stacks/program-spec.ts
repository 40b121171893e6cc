/**
 * The blueprint spec a stack applies, from its validated stack config: one function for the Pulumi
 * program (stacks/index.ts) and `hcb synth --stack-config` (cli/stack-config.ts), so what synth
 * writes is what `pulumi up` applies.
 *
 * - local target with the node: the cluster DNS add-on (stacks/local/cluster-dns.ts);
 * - hosts target: hostsBlueprintSpec (stacks/hosts/program.ts): the first control plane's name and
 *   address, the ranges, the kubelet without systemd under a cgroup parent named after the stack,
 *   kube-proxy's conntrack setting and the kube-system exemption. It needs the stack's name, which
 *   `pulumi config --json` does not carry.
 */
import { hostsBlueprintSpec } from './hosts/program';
import { withLocalClusterDns } from './local/cluster-dns';
import type { StackSpec } from './spec';

export interface ProgramSpecOptions {
  /** The Pulumi stack's name (names the hosts cluster and its kubelet cgroup parent). */
  stack?: string;
  /** The toolchain's bin directory (HCB_TOOLCHAIN_BIN): the local node's DNS image comes from it. */
  binDir?: string;
  /** The environment: HCB_HOSTS_CGROUP_V1=true for hosts on cgroup v1. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The stack spec with the spec its program applies. */
export function programStackSpec(s: StackSpec, o: ProgramSpecOptions): StackSpec {
  const withDns = withLocalClusterDns(s, o.binDir);
  if (withDns.target !== 'hosts') return withDns;
  if (!o.stack)
    throw new Error(
      "hcb: a hosts stack's blueprint is named after its stack (cluster name, kubelet cgroup parent); the stack name is missing (hcb synth: --stack NAME)",
    );
  const env = o.env ?? process.env;
  return {
    ...withDns,
    spec: hostsBlueprintSpec(withDns.spec, withDns.hosts!, {
      stack: o.stack,
      cgroupV1: env.HCB_HOSTS_CGROUP_V1 === 'true',
    }),
  };
}
