/**
 * Builds the CheckContext that every check reads: documents indexed by kind, component flags,
 * node file manifest entries, workload pod templates and namespaces. Pure and total: malformed
 * documents are skipped here and left for the checks to report.
 */
import { CheckContext, ComponentConfig, ComponentName, NodeFileEntry, PodSubject } from './control';
import { documentRef, findComponents } from './components';
import { Document, NODE_FILE_MANIFEST_API_VERSION, NODE_FILE_MANIFEST_KIND, NodeFile } from './model';
import { asDict, asDicts, asString, Dict, isDict, parseMode } from './util/values';

/** Workload kinds and where their pod spec lives. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

const CONTROL_PLANE_BINARIES = new Set(['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler']);

/** True when `apiVersion` is `group` itself or `group/<version>` (or equal to a full apiVersion given). */
export function apiVersionMatches(apiVersion: string | undefined, wanted: string): boolean {
  if (apiVersion === undefined) return false;
  if (apiVersion === wanted) return true;
  if (!wanted.includes('/')) return apiVersion.startsWith(`${wanted}/`);
  return false;
}

function podSubject(doc: Document): PodSubject | undefined {
  const o = doc.object;
  const kind = o.kind;
  if (typeof kind !== 'string' || !(kind in POD_SPEC_PATHS)) return undefined;
  // Only the core/apps/batch kinds: a CRD that happens to be called "Deployment" is not a workload.
  const group = typeof o.apiVersion === 'string' && o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  if (!['', 'apps', 'batch', 'extensions'].includes(group)) return undefined;
  const path = POD_SPEC_PATHS[kind];
  let cur: unknown = o;
  let metaHolder: unknown = o;
  for (let i = 0; i < path.length; i++) {
    if (path[i] === 'template') metaHolder = asDict(cur)[path[i]];
    cur = asDict(cur)[path[i]];
  }
  const spec = isDict(cur) ? cur : {};
  const podMetadata = asDict(asDict(metaHolder).metadata);
  const containers = asDicts(spec.containers);
  // A control-plane static pod as kubeadm renders it (cmd/kubeadm/app/util/staticpod ComponentPod):
  // a Pod (never a controller) in kube-system on the host network, named after its one container,
  // which is the component and runs the component's binary, with the labels component=<name>,
  // tier=control-plane. The mirror pod the kubelet creates is named <name>-<node>. A container
  // merely named or started like a component does not make a pod a static pod, and being one
  // exempts a pod only from the controls that say why they do not apply to it.
  const labels = asDict(asDict(o.metadata).labels);
  const podName = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  const only =
    containers.length === 1 &&
    asDicts(spec.initContainers).length === 0 &&
    asDicts(spec.ephemeralContainers).length === 0
      ? containers[0]
      : undefined;
  const cmd = only && Array.isArray(only.command) ? only.command : [];
  const binary = typeof cmd[0] === 'string' ? (cmd[0].split('/').pop() as string) : '';
  const controlPlane =
    kind === 'Pod' &&
    (o.apiVersion === 'v1' || o.apiVersion === undefined) &&
    o.metadata?.namespace === 'kube-system' &&
    spec.hostNetwork === true &&
    CONTROL_PLANE_BINARIES.has(binary) &&
    only?.name === binary &&
    (podName === binary || podName.startsWith(`${binary}-`)) &&
    labels.component === binary &&
    labels.tier === 'control-plane';
  return {
    document: doc,
    object: o,
    kind,
    namespace: typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : undefined,
    name: typeof o.metadata?.name === 'string' ? o.metadata.name : undefined,
    spec,
    podMetadata,
    ref: documentRef(doc),
    controlPlane,
  };
}

function nodeFileEntries(doc: Document): NodeFileEntry[] {
  const out: NodeFileEntry[] = [];
  const files = asDicts((doc.object as Dict).files);
  for (const f of files) {
    const path = asString(f.path) ?? '';
    const file: NodeFile = {
      path,
      owner: asString(f.owner) ?? '',
      group: asString(f.group) ?? '',
      mode: parseMode(f.mode) ?? -1,
      role: asString(f.role) ?? '',
      sensitive: f.sensitive === true,
      createdBy: (asString(f.createdBy) as NodeFile['createdBy']) ?? 'blueprint',
    };
    if (typeof f.content === 'string') file.content = f.content;
    const base = documentRef(doc);
    out.push({ file, mode: parseMode(f.mode), document: doc, ref: { ...base, path } });
  }
  return out;
}

/**
 * Documents of each kind grouped by `metadata.namespace`, per context: built once per kind on the
 * first lookup (from `ctx.byKind(kind)`, so any CheckContext works), each group in input order.
 * Keys are the raw namespace values, so a lookup matches exactly the documents a scan comparing
 * `metadata.namespace === namespace` would, `undefined` (cluster-scoped or unset) included.
 */
const NAMESPACE_INDEX = new WeakMap<CheckContext, Map<string, Map<unknown, Document[]>>>();

/**
 * The documents of `kind` whose `metadata.namespace` is `namespace` (strict equality), in input
 * order: the same documents as `ctx.byKind(kind).filter((d) => d.object.metadata?.namespace ===
 * namespace)`, without scanning every document of the kind on each call. The array is shared
 * between calls: read it, do not change it.
 */
export function kindInNamespace(ctx: CheckContext, kind: string, namespace: string | undefined): readonly Document[] {
  let byKind = NAMESPACE_INDEX.get(ctx);
  if (byKind === undefined) {
    byKind = new Map();
    NAMESPACE_INDEX.set(ctx, byKind);
  }
  let byNamespace = byKind.get(kind);
  if (byNamespace === undefined) {
    byNamespace = new Map();
    for (const d of ctx.byKind(kind)) {
      const ns: unknown = d.object.metadata?.namespace;
      const list = byNamespace.get(ns);
      if (list === undefined) byNamespace.set(ns, [d]);
      else list.push(d);
    }
    byKind.set(kind, byNamespace);
  }
  return byNamespace.get(namespace) ?? EMPTY;
}

const EMPTY: readonly Document[] = Object.freeze([]);

export function buildContext(documents: readonly Document[]): CheckContext {
  const docs = documents.filter((d) => d && isDict(d.object));
  const byKindCache = new Map<string, Document[]>();
  for (const d of docs) {
    const k = typeof d.object.kind === 'string' ? d.object.kind : '';
    const list = byKindCache.get(k) ?? [];
    list.push(d);
    byKindCache.set(k, list);
  }
  let components: Record<ComponentName, ComponentConfig[]> | undefined;
  const manifests = (byKindCache.get(NODE_FILE_MANIFEST_KIND) ?? []).filter(
    (d) => d.object.apiVersion === NODE_FILE_MANIFEST_API_VERSION,
  );
  const nodeFiles = manifests.flatMap(nodeFileEntries);
  const pods = docs.map(podSubject).filter((p): p is PodSubject => p !== undefined);
  const namespaces = (byKindCache.get('Namespace') ?? []).filter(
    (d) => d.object.apiVersion === 'v1' || d.object.apiVersion === undefined,
  );
  return {
    documents: docs,
    byKind: (kind, apiVersion) =>
      (byKindCache.get(kind) ?? []).filter(
        (d) => apiVersion === undefined || apiVersionMatches(d.object.apiVersion, apiVersion),
      ),
    ref: documentRef,
    components: (name) => {
      components ??= findComponents(docs);
      return components[name];
    },
    nodeFiles,
    hasNodeFileManifest: manifests.length > 0,
    pods,
    namespaces,
  };
}
