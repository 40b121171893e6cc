/**
 * The Pulumi program: one stack per cluster.
 *
 * - target `local` (default): the embedded control plane on this machine — kubeadm renders it
 *   from the blueprint's own kubeadm configuration, the processes run on loopback — with the
 *   blueprint's cluster objects applied to it;
 * - target `existing`: the blueprint's cluster objects applied to the cluster of the current
 *   kubeconfig (control-plane files are then the provider's responsibility).
 */
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { synthesizeBlueprint, BlueprintSpec } from '../constructs/blueprint';
import { LocalControlPlaneResource } from './local/resource';
import { applyClusterObjects, loadManifests } from './apply';

const config = new pulumi.Config();
const stack = pulumi.getStack();
const target = config.get('target') ?? 'local';
if (target !== 'local' && target !== 'existing') {
  throw new Error(`hcb: config "hcb:target" = "${target}" is invalid. Fix: pulumi config set hcb:target local|existing`);
}

const spec: BlueprintSpec = {
  profile: (config.get('profile') ?? 'standard') as BlueprintSpec['profile'],
  namespaces: (config.getObject<string[]>('namespaces') ?? ['hcb-demo']).map((name) => ({ name })),
  local:
    target === 'local'
      ? {
          apiServerPort: config.getNumber('apiServerPort') ?? 6443,
          etcdClientPort: config.getNumber('etcdClientPort') ?? 2379,
          etcdPeerPort: config.getNumber('etcdPeerPort') ?? 2380,
          etcdMetricsPort: config.getNumber('etcdMetricsPort') ?? 2381,
          controllerManagerPort: config.getNumber('controllerManagerPort') ?? 10257,
          schedulerPort: config.getNumber('schedulerPort') ?? 10259,
        }
      : undefined,
};
const blueprint = synthesizeBlueprint(spec);
// Your own manifests (files or directories of YAML), applied after the blueprint's objects and
// checked by the same catalogue when the policy pack runs.
const extraObjects = loadManifests(config.getObject<string[]>('manifests') ?? [], path.join(__dirname, '..'));

let provider: k8s.Provider;
let cluster: LocalControlPlaneResource | undefined;
if (target === 'local') {
  const binDir = process.env.HCB_TOOLCHAIN_BIN;
  if (!binDir) {
    throw new Error('hcb: HCB_TOOLCHAIN_BIN is not set. Run the stack through `npm run up` (scripts/env.sh sets it up).');
  }
  const stateDir = config.get('stateDir') || path.join(__dirname, '..', '.hcb', 'clusters', stack);
  cluster = new LocalControlPlaneResource('local-control-plane', { stateDir, binDir, nodeFiles: blueprint.nodeFiles });
  provider = new k8s.Provider('local', { kubeconfig: cluster.kubeconfig }, { dependsOn: [cluster] });
} else {
  provider = new k8s.Provider('existing', {});
}

const applied = applyClusterObjects('blueprint', blueprint.clusterObjects, { provider, local: target === 'local' });
if (extraObjects.length) {
  applied.push(...applyClusterObjects('manifests', extraObjects, { provider, local: target === 'local', dependsOn: applied }));
}

export const clusterTarget = target;
export const apiServerUrl = cluster?.apiServerUrl;
export const serverVersion = cluster?.serverVersion;
export const kubeconfig = cluster?.kubeconfig;
export const namespaces = blueprint.namespaceNames;
export const resourceCount = applied.length;
