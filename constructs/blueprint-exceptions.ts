/**
 * The blueprint's own exceptions: reviewed code, versioned with the blueprint, written by
 * `hcb synth` to exceptions.yaml and passed to `hcb audit --exceptions`. Dates are fixed
 * strings (never computed from the clock), so synthesis stays deterministic and renewing an
 * exception is a reviewed change.
 */
import { Construct } from 'constructs';
import { CATALOGUE } from '../policies/catalogue';
import { validateException } from '../policies/exceptions';
import type { ControlException } from '../policies/model';
import { BlueprintPropError } from './common/errors';

/**
 * The embedded local control plane runs every component as the invoking user (root) on a
 * developer or CI machine that has no dedicated etcd account, so etcd's data directory is
 * root-owned (mode 0700) instead of etcd:etcd. `hcb verify` observes this on disk; the
 * exception is carried only by blueprints with a `local` target.
 */
export const LOCAL_ETCD_DATA_OWNER_EXCEPTION: ControlException = {
  control: 'HCB-NODEFILE-ETCD-DATA',
  scope: { path: '/var/lib/etcd' },
  justification:
    'The local target runs etcd as the invoking user (root) on a single-user development or CI machine without an etcd account; the directory stays mode 0700 inside the private state directory (mode 0700). Real nodes get etcd:etcd from the node file manifest.',
  owner: 'platform-team',
  expires: '2027-11-30',
};

/**
 * The machines the local target runs on (this one among them) may boot with cgroup v1, where
 * kubelet 1.35+ refuses to start unless failCgroupV1 is false; the local target renders
 * failCgroupV1: false so that its node starts there (no effect on a cgroup v2 host). Carried only
 * by blueprints with a `local` target, whose one KubeletConfiguration is the local node's.
 */
export const LOCAL_CGROUP_V1_EXCEPTION: ControlException = {
  control: 'HCB-KUBELET-FAIL-CGROUP-V1',
  scope: { kind: 'KubeletConfiguration' },
  justification:
    "The local target's single node runs on development and CI machines that may still boot with cgroup v1 (this project's CI machine does), where kubelet 1.35+ will not start with the default failCgroupV1: true. The setting only lets the kubelet start there; it has no effect on cgroup v2 hosts, and the exception is scoped to the local target's own KubeletConfiguration. Real clusters leave failCgroupV1 unset and run on cgroup v2.",
  owner: 'platform-team',
  expires: '2027-05-31',
};

/**
 * CoreDNS (constructs/addons/cluster-dns.ts) is the cluster's own DNS add-on, not a user
 * workload: it belongs in kube-system (the system-cluster-critical priority class is only
 * admitted there, and kube-system is where kubeadm and every client expect kube-dns). Scoped to
 * the namespace because admission bindings can only exclude namespaces; the blueprint renders
 * no other workload there.
 */
export const CLUSTER_DNS_NAMESPACE_EXCEPTION: ControlException = {
  control: 'HCB-WORKLOAD-USER-NAMESPACE',
  scope: { namespace: 'kube-system' },
  justification:
    'CoreDNS is the cluster DNS add-on the blueprint renders, not a user workload; it runs in kube-system like every cluster add-on (its system-cluster-critical priority class is only admitted there) under its own ServiceAccount, non-root, read-only root, no capabilities, seccomp RuntimeDefault, with a NetworkPolicy of its own. The blueprint renders no other workload in kube-system (scoped to the namespace: admission bindings exclude namespaces, not objects).',
  owner: 'platform-team',
  expires: '2027-11-30',
};

/**
 * CoreDNS's kubernetes plugin reads Services, EndpointSlices and Namespaces from the API, so
 * its pod needs its service-account token; the token can do no more than that.
 */
export const CLUSTER_DNS_TOKEN_EXCEPTION: ControlException = {
  control: 'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT',
  scope: { namespace: 'kube-system' },
  justification:
    "CoreDNS answers cluster names from Services and EndpointSlices it watches through the API, so it needs its projected, expiring token; the ServiceAccount's only permissions are list and watch on services, namespaces and endpointslices (ClusterRole hcb:coredns, no Secrets, no writes), and its NetworkPolicy lets it connect to the API server endpoints only. The blueprint renders no other workload in kube-system.",
  owner: 'platform-team',
  expires: '2027-11-30',
};

/**
 * Exceptions every blueprint carries, in a fixed order: none today. The control-plane kubelet's
 * staticPodPath is no exception: HCB-KUBELET-STATIC-POD-PATH is not applicable on control-plane
 * nodes (policies/checks/node-role.ts), a permanent fact rather than an expiring acceptance.
 */
export const BLUEPRINT_EXCEPTIONS: readonly ControlException[] = [];

/**
 * The blueprint's exceptions followed by the spec's, as copies. A spec exception that is not
 * valid (unknown control, missing owner or justification, bad date, unknown scope key) fails
 * synthesis: an exceptions file the audit would refuse must never be written.
 */
export function blueprintExceptions(
  scope: Construct,
  extra: readonly ControlException[] = [],
  local = false,
  clusterDns = false,
): ControlException[] {
  const known = new Set(CATALOGUE.map((c) => c.id));
  extra.forEach((e, i) => {
    const problems = validateException(e, known);
    if (problems.length > 0) {
      throw new BlueprintPropError(
        scope,
        `exceptions[${i}]`,
        e,
        problems.join('; '),
        'give control (a catalogue id), scope, justification, owner and expires (YYYY-MM-DD)',
      );
    }
  });
  return [
    ...BLUEPRINT_EXCEPTIONS,
    ...(local ? [LOCAL_ETCD_DATA_OWNER_EXCEPTION, LOCAL_CGROUP_V1_EXCEPTION] : []),
    ...(clusterDns ? [CLUSTER_DNS_NAMESPACE_EXCEPTION, CLUSTER_DNS_TOKEN_EXCEPTION] : []),
    ...extra,
  ].map((e) => ({ ...e, scope: { ...e.scope } }));
}
