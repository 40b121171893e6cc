/**
 * Applies synthesized cluster objects with the Kubernetes provider, in dependency order:
 * Namespaces first, then everything that lives in them or refers to them.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../policies/model';

/** Kinds whose readiness needs a kubelet (and a scheduler): awaited only where pods run. */
const POD_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'Service']);

/**
 * What the local target never provides, node or not: a storage provisioner (a claim stays
 * Pending), an ingress controller and a load balancer (no address is ever published).
 */
function neverReadyLocally(o: KubeObject): boolean {
  if (o.kind === 'PersistentVolumeClaim' || o.kind === 'Ingress') return true;
  return o.kind === 'Service' && (o as { spec?: { type?: string } }).spec?.type === 'LoadBalancer';
}

export interface ApplyOptions {
  provider: k8s.Provider;
  /** The local target (the embedded cluster on this machine). */
  local: boolean;
  /**
   * Pods really run (the local target with its node, or an existing cluster): workloads are
   * awaited. Without a node, workloads are admitted and stored but never run, so they are not.
   * @default true
   */
  runsPods?: boolean;
  /** Resources these objects wait for. @default none */
  dependsOn?: pulumi.Resource[];
}

/**
 * Pure: the objects as they are applied. On the local target, `pulumi.com/skipAwait` marks
 * what cannot become ready there: without a node every workload; with one, only claims,
 * Ingresses and LoadBalancer Services. With a node, workloads are awaited like on any cluster:
 * their images must be on the node (it has no route out; nothing is pulled), otherwise the up
 * fails with the pod's ErrImagePull, which is the truth.
 */
export function prepareObjects(objects: KubeObject[], local: boolean, runsPods = true): KubeObject[] {
  return objects.map((o) => {
    if (!local) return o;
    const skip = neverReadyLocally(o) || (!runsPods && POD_KINDS.has(o.kind ?? ''));
    if (!skip) return o;
    return {
      ...o,
      metadata: { ...o.metadata, annotations: { ...(o.metadata?.annotations ?? {}), 'pulumi.com/skipAwait': 'true' } },
    };
  });
}

/**
 * Objects Kubernetes creates by itself and the blueprint only takes over (the namespace's
 * `default` ServiceAccount, created by the controller manager): Pulumi updates them but never
 * deletes them — the controller would recreate one at once, and deleting the namespace
 * removes it anyway.
 */
export function isControllerOwned(o: KubeObject): boolean {
  return o.kind === 'ServiceAccount' && o.metadata?.name === 'default';
}

function retainControllerOwned(o: KubeObject, resourceOpts: pulumi.CustomResourceOptions): void {
  if (isControllerOwned(o)) resourceOpts.retainOnDelete = true;
}

/**
 * How objects are handed to Pulumi. Both give one Pulumi resource per Kubernetes object (so
 * per-object diffs and the policy pack's view of each object):
 *   configgroup  `k8s.yaml.ConfigGroup` (the product): the program registers every object itself.
 *   yaml-v2      `k8s.yaml.v2.ConfigGroup`: a component the provider constructs, which registers
 *                the objects; other resource types and names than configgroup's, so switching an
 *                existing stack replaces every object. Internal: only bench/pulumi.ts sets it, to
 *                compare the two.
 */
export type Handoff = 'configgroup' | 'yaml-v2';

/** The hand-off chosen by HCB_PULUMI_HANDOFF (internal switch of bench/pulumi.ts); unset = configgroup. */
export function handoffFromEnv(env: NodeJS.ProcessEnv = process.env): Handoff {
  const v = env.HCB_PULUMI_HANDOFF;
  if (v === undefined || v === '' || v === 'configgroup') return 'configgroup';
  if (v === 'yaml-v2') return 'yaml-v2';
  throw new Error(
    `hcb: HCB_PULUMI_HANDOFF=${v} is not a hand-off: use configgroup or yaml-v2 (an internal switch of bench/pulumi.ts)`,
  );
}

export interface HandOffOptions {
  provider: k8s.Provider;
  parent?: pulumi.Resource;
  dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
  aliases?: pulumi.Input<string | pulumi.Alias>[];
  handoff?: Handoff;
}

/** yaml/v2: controller-owned objects are retained on delete through a transform of the child's options. */
export const retainControllerOwnedV2: pulumi.ResourceTransform = (a) => {
  if (!a.custom || a.type !== 'kubernetes:core/v1:ServiceAccount') return undefined;
  const props = a.props as { metadata?: { name?: string } };
  if (!isControllerOwned({ kind: 'ServiceAccount', metadata: { name: props.metadata?.name } } as KubeObject))
    return undefined;
  return { props: a.props, opts: { ...a.opts, retainOnDelete: true } };
};

/**
 * Prepared objects to Pulumi: the Namespaces in one group, everything else in a second group
 * that depends on the first. Returns the two groups.
 */
export function handOff(name: string, prepared: KubeObject[], o: HandOffOptions): pulumi.Resource[] {
  const namespaces = prepared.filter((x) => x.kind === 'Namespace');
  const rest = prepared.filter((x) => x.kind !== 'Namespace');
  const base = { parent: o.parent, provider: o.provider, ...(o.aliases ? { aliases: o.aliases } : {}) };
  if ((o.handoff ?? 'configgroup') === 'yaml-v2') {
    const nsGroup = new k8s.yaml.v2.ConfigGroup(
      `${name}-namespaces`,
      { objs: namespaces },
      { ...base, dependsOn: o.dependsOn },
    );
    const group = new k8s.yaml.v2.ConfigGroup(
      `${name}-objects`,
      { objs: rest },
      { ...base, dependsOn: [nsGroup], transforms: [retainControllerOwnedV2] },
    );
    return [nsGroup, group];
  }
  const nsGroup = new k8s.yaml.ConfigGroup(
    `${name}-namespaces`,
    { objs: namespaces as unknown as pulumi.Input<Record<string, unknown>>[] },
    { ...base, dependsOn: o.dependsOn },
  );
  const group = new k8s.yaml.ConfigGroup(
    `${name}-objects`,
    { objs: rest as unknown as pulumi.Input<Record<string, unknown>>[], transformations: [retainControllerOwned] },
    { ...base, dependsOn: [nsGroup] },
  );
  return [nsGroup, group];
}

export function applyClusterObjects(name: string, objects: KubeObject[], opts: ApplyOptions): pulumi.Resource[] {
  const prepared = prepareObjects(objects, opts.local, opts.runsPods ?? true);
  return handOff(name, prepared, { provider: opts.provider, dependsOn: opts.dependsOn, handoff: handoffFromEnv() });
}

/**
 * Reads YAML files (or every *.yaml/*.yml/*.json in a directory, sorted) into objects. A file
 * that does not parse stops the program with its name and line rather than applying half.
 */
export function loadManifests(paths: string[], base: string): KubeObject[] {
  const files = paths.flatMap((p) => {
    const abs = path.resolve(base, p);
    if (!fs.existsSync(abs))
      throw new Error(`hcb: config "hcb:manifests" names ${p}, which does not exist (resolved to ${abs})`);
    if (!fs.statSync(abs).isDirectory()) return [abs];
    return fs
      .readdirSync(abs)
      .filter((f) => /\.(ya?ml|json)$/i.test(f))
      .sort()
      .map((f) => path.join(abs, f));
  });
  return files.flatMap((file) =>
    parseAllDocuments(fs.readFileSync(file, 'utf8')).flatMap((doc) => {
      if (doc.errors.length) {
        const e = doc.errors[0];
        throw new Error(`hcb: ${file}:${e.linePos?.[0].line ?? '?'}: ${e.message}`);
      }
      const o = doc.toJS() as KubeObject | null;
      return o && typeof o === 'object' && o.kind ? [o] : [];
    }),
  );
}
