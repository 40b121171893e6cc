/**
 * The blueprint's namespaces and everything in them that a catalogue control reads, read back
 * through the API as cluster admin, for `hcb verify` on the local and the hosts targets (one list,
 * so both targets see the same objects). Under `local/` because the packaged CLI ships
 * `dist/stacks/local` and `dist/stacks/hosts`.
 *
 * Nothing is left out quietly: a namespace or list that cannot be read is named in `missing` (the
 * report shows it as not evaluated). Workloads are read at every level a user can write them:
 * Deployments, StatefulSets, DaemonSets, CronJobs, and the Jobs, ReplicaSets and Pods that no
 * controller owns (a controller-owned one repeats its owner's template, which is checked there).
 */
import type { Document, KubeObject } from '../../policies/model';

/** GET a path of the API; undefined when it does not answer 200. */
export type LiveGet = (path: string) => Promise<({ items?: KubeObject[] } & KubeObject) | undefined>;

interface LiveList {
  readonly path: (ns: string) => string;
  readonly apiVersion: string;
  readonly kind: string;
  /** Only the objects no controller owns. */
  readonly unowned?: boolean;
}

/** What is read in each namespace, in this order. */
export const LIVE_NAMESPACED_LISTS: readonly LiveList[] = [
  {
    path: (ns) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`,
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
  },
  { path: (ns) => `/api/v1/namespaces/${ns}/resourcequotas`, apiVersion: 'v1', kind: 'ResourceQuota' },
  { path: (ns) => `/api/v1/namespaces/${ns}/limitranges`, apiVersion: 'v1', kind: 'LimitRange' },
  { path: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`, apiVersion: 'v1', kind: 'ServiceAccount' },
  {
    path: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
  },
  {
    path: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
  },
  { path: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`, apiVersion: 'apps/v1', kind: 'Deployment' },
  { path: (ns) => `/apis/apps/v1/namespaces/${ns}/statefulsets`, apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { path: (ns) => `/apis/apps/v1/namespaces/${ns}/daemonsets`, apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { path: (ns) => `/apis/batch/v1/namespaces/${ns}/cronjobs`, apiVersion: 'batch/v1', kind: 'CronJob' },
  { path: (ns) => `/apis/batch/v1/namespaces/${ns}/jobs`, apiVersion: 'batch/v1', kind: 'Job', unowned: true },
  {
    path: (ns) => `/apis/apps/v1/namespaces/${ns}/replicasets`,
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    unowned: true,
  },
  { path: (ns) => `/api/v1/namespaces/${ns}/pods`, apiVersion: 'v1', kind: 'Pod', unowned: true },
];

const controlled = (x: KubeObject): boolean =>
  ((x.metadata as { ownerReferences?: Array<{ controller?: boolean }> } | undefined)?.ownerReferences ?? []).some(
    (r) => r.controller === true,
  );

/**
 * Reads each namespace and its lists. `source` names where the documents came from in findings
 * (e.g. `live:api`).
 */
export async function readLiveNamespaces(
  get: LiveGet,
  namespaces: readonly string[],
  source: string,
): Promise<{ documents: Document[]; missing: string[] }> {
  const documents: Document[] = [];
  const missing: string[] = [];
  // A list's items carry no apiVersion and kind; each document gets its list's.
  const withKind = (x: KubeObject, apiVersion: string, kind: string): KubeObject => ({
    ...x,
    apiVersion: x.apiVersion ?? apiVersion,
    kind: x.kind ?? kind,
  });
  for (const ns of namespaces) {
    const nsObj = await get(`/api/v1/namespaces/${ns}`).catch(() => undefined);
    if (!nsObj) {
      missing.push(`namespace ${ns} does not exist or cannot be read`);
      continue;
    }
    documents.push({ object: withKind(nsObj, 'v1', 'Namespace'), source: { file: source } });
    for (const l of LIVE_NAMESPACED_LISTS) {
      const p = l.path(ns);
      const list = await get(p).catch(() => undefined);
      if (!list || !Array.isArray(list.items)) {
        missing.push(`${p} cannot be read`);
        continue;
      }
      for (const item of list.items) {
        if (l.unowned && controlled(item)) continue;
        documents.push({ object: withKind(item, l.apiVersion, l.kind), source: { file: source } });
      }
    }
  }
  return { documents, missing };
}
