/**
 * The Pulumi program: one stack per cluster.
 *
 * - target `local` (default): the embedded control plane on this machine — kubeadm renders it
 *   from the blueprint's own kubeadm configuration, the processes run on loopback — and, with
 *   `hcb:node` (default true), its node (containerd, runc, CNI, kubelet in namespaces of its
 *   own), with the blueprint's cluster objects applied to it;
 * - target `existing`: the blueprint's cluster objects applied to the cluster of the current
 *   kubeconfig (control-plane files are then the provider's responsibility).
 */
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { synthesizeBlueprint } from '../constructs/blueprint';
import { stackSpec } from './spec';
import { LocalControlPlaneResource } from './local/resource';
import { withLocalClusterDns } from './local/cluster-dns';
import { applyClusterObjects, loadManifests } from './apply';

const config = new pulumi.Config();
const stack = pulumi.getStack();
// With the node, the cluster gets its DNS add-on (CoreDNS from the toolchain; local/cluster-dns.ts).
const { target, spec, manifests, stateDir: configuredStateDir, node } = withLocalClusterDns(stackSpec((key) => {
  const v = config.get(key);
  return v === undefined ? undefined : /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
}), process.env.HCB_TOOLCHAIN_BIN);
const blueprint = synthesizeBlueprint(spec);
// Your own manifests (files or directories of YAML), applied after the blueprint's objects and
// checked by the same catalogue when the policy pack runs.
const extraObjects = loadManifests(manifests, path.join(__dirname, '..'));

let provider: k8s.Provider;
let cluster: LocalControlPlaneResource | undefined;
if (target === 'local') {
  const binDir = process.env.HCB_TOOLCHAIN_BIN;
  if (!binDir) {
    throw new Error('hcb: HCB_TOOLCHAIN_BIN is not set. Run the stack through `npm run up` (scripts/env.sh sets it up).');
  }
  const stateDir = configuredStateDir ?? path.join(__dirname, '..', '.hcb', 'clusters', stack);
  // With the node (the default), the resource is ready only when the node is Ready.
  cluster = new LocalControlPlaneResource('local-control-plane', { stateDir, binDir, nodeFiles: blueprint.nodeFiles, node });
  provider = new k8s.Provider('local', { kubeconfig: cluster.kubeconfig }, { dependsOn: [cluster] });
} else {
  provider = new k8s.Provider('existing', {});
}

const runsPods = target !== 'local' || node;
const applied = applyClusterObjects('blueprint', blueprint.clusterObjects, { provider, local: target === 'local', runsPods });
if (extraObjects.length) {
  // A copy: pushing into the array the new resources depend on would make them depend on themselves.
  applied.push(...applyClusterObjects('manifests', extraObjects, { provider, local: target === 'local', runsPods, dependsOn: [...applied] }));
}

export const clusterTarget = target;
export const apiServerUrl = cluster?.apiServerUrl;
export const serverVersion = cluster?.serverVersion;
export const kubeconfig = cluster?.kubeconfig;
export const nodeName = cluster?.nodeName;
export const nodeAddress = cluster?.nodeAddress;
/** Images on the node, by digest: the only images pods can run there (the node has no route out). */
export const nodeImages = cluster?.nodeImages;
export const namespaces = blueprint.namespaceNames;
export const resourceCount = applied.length;
