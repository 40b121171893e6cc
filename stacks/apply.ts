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

export function applyClusterObjects(name: string, objects: KubeObject[], opts: ApplyOptions): pulumi.Resource[] {
  const prepared = prepareObjects(objects, opts.local, opts.runsPods ?? true);
  const namespaces = prepared.filter((o) => o.kind === 'Namespace');
  const rest = prepared.filter((o) => o.kind !== 'Namespace');
  const nsGroup = new k8s.yaml.ConfigGroup(
    `${name}-namespaces`,
    { objs: namespaces as unknown as pulumi.Input<Record<string, unknown>>[] },
    { provider: opts.provider, dependsOn: opts.dependsOn },
  );
  const group = new k8s.yaml.ConfigGroup(
    `${name}-objects`,
    { objs: rest as unknown as pulumi.Input<Record<string, unknown>>[], transformations: [retainControllerOwned] },
    { provider: opts.provider, dependsOn: [nsGroup] },
  );
  return [nsGroup, group];
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
