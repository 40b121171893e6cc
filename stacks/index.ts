/**
 * The Pulumi program: one stack per cluster, one `hcb:index:Cluster` component (stacks/cluster.ts).
 *
 * - target `local` (default): the embedded control plane on this machine — kubeadm renders it
 *   from the blueprint's own kubeadm configuration, the processes run on loopback — and, with
 *   `hcb:node` (default true), its node (containerd, runc, CNI, kubelet in namespaces of its
 *   own), with the blueprint's cluster objects applied to it;
 * - target `existing`: the blueprint's cluster objects applied to the cluster of the current
 *   kubeconfig (control-plane files are then the provider's responsibility);
 * - target `hosts`: machines listed in `hcb:hosts`, reached over SSH with `hcb:sshPrivateKey` (a
 *   secret) and pinned host keys: `kubeadm init` on the control-plane host, `kubeadm join` on the
 *   workers, pod routes, kube-proxy and the NetworkPolicy enforcer on every host
 *   (stacks/hosts/target.ts), then the cluster objects applied with the admin kubeconfig.
 */
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { synthesizeBlueprint } from '../constructs/blueprint';
import { programStackSpec, stackSpec } from './spec';
import { loadManifests } from './apply';
import { Cluster, ClusterTargetArgs } from './cluster';
import { pulumiConfigReader } from './hosts/program';
import { parseHostsDial } from './hosts/target';

const config = new pulumi.Config();
const stack = pulumi.getStack();
const binDir = process.env.HCB_TOOLCHAIN_BIN;
// The spec this stack applies (stacks/spec.ts programStackSpec, shared with `hcb synth --stack-config`): with
// the local node, the DNS add-on (CoreDNS from the toolchain); on hosts, the first control plane's
// name and address, the ranges, the kubelet without systemd (HCB_HOSTS_CGROUP_V1=true for hosts on
// cgroup v1, reported by the catalogue).
const {
  target,
  spec,
  manifests,
  stateDir: configuredStateDir,
  node,
  hosts,
  backup,
} = programStackSpec(stackSpec(pulumiConfigReader(config)), { stack, binDir });
const stateDir = configuredStateDir ?? path.join(__dirname, '..', '.hcb', 'clusters', stack);
const blueprint = synthesizeBlueprint(spec);
// Your own manifests (files or directories of YAML), applied after the blueprint's objects and
// checked by the same catalogue when the policy pack runs.
const extraObjects = loadManifests(manifests, path.join(__dirname, '..'));

let clusterTarget: ClusterTargetArgs;
if (target === 'local') {
  // With the node (the default), the control plane is ready only when the node is Ready.
  clusterTarget = { kind: 'local', stateDir, binDir: binDir ?? '', node };
} else if (target === 'existing') {
  clusterTarget = { kind: 'existing' };
} else {
  clusterTarget = {
    kind: 'hosts',
    hosts: hosts!,
    sshPrivateKey: config.requireSecret('sshPrivateKey'),
    binDir: binDir ?? '',
    workDir: path.join(stateDir, 'hosts'),
    dial: parseHostsDial(process.env.HCB_HOSTS_DIAL),
    // Each worker's kubelet under a cgroup parent of its own: harmless on separate machines, and
    // needed where hosts share one kernel (the test lab), so no two kubelets manage one cgroup.
    workerKubelet: (h) => ({ cgroupRoot: `/hcb-node-${stack}-${h.name}` }),
    // hcb:backup: the scheduled backup on every control plane, sealed with the secret hcb:backupKey;
    // backups are named after the stack, as `hcb backup --stack` names its own.
    ...(backup
      ? {
          backup: {
            ...backup,
            key: config.requireSecret('backupKey'),
            cluster: stack.toLowerCase().replace(/[^a-z0-9.-]/g, '-'),
          },
        }
      : {}),
  };
}
const cluster = new Cluster('cluster', { blueprint, manifests: extraObjects, target: clusterTarget });

export { target as clusterTarget };
export const apiServerUrl = cluster.local?.apiServerUrl ?? cluster.apiEndpoint;
export const serverVersion = cluster.local?.serverVersion;
export const kubeconfig = target === 'existing' ? undefined : cluster.kubeconfig;
export const nodeName = cluster.local?.nodeName;
export const nodeAddress = cluster.local?.nodeAddress;
/** Images on the node, by digest: the only images pods can run there (the node has no route out). */
export const nodeImages = cluster.local?.nodeImages;
export const namespaces = blueprint.namespaceNames;
export const resourceCount = cluster.applied.length;
export const apiEndpoint = cluster.apiEndpoint;
export const nodes = cluster.nodes;
/** The catalogue's counts on what this stack renders (cluster objects, control-plane configuration, manifests). */
export const compliance = cluster.compliance;
