// What `hcb verify` reads back from the blueprint's namespaces (local and hosts targets): every
// workload level a user can write, nothing dropped quietly.
import { evaluate } from '../../../policies/engine';
import type { KubeObject } from '../../../policies/model';
import { LIVE_NAMESPACED_LISTS, LiveGet, readLiveNamespaces } from '../../../stacks/local/live-namespaces';

const podSpec = (privileged: boolean) => ({
  containers: [{ name: 'c', image: 'registry.example/app@sha256:' + 'a'.repeat(64), securityContext: { privileged } }],
});
const owned = {
  ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'u', controller: true }],
};

function fakeApi(objects: Record<string, KubeObject[] | undefined>, namespaces = ['team-a']): LiveGet {
  return async (p) => {
    const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(p);
    if (ns)
      return namespaces.includes(ns[1])
        ? { kind: 'Namespace', apiVersion: 'v1', metadata: { name: ns[1] } }
        : undefined;
    if (!(p in objects)) return { items: [] };
    const items = objects[p];
    return items === undefined ? undefined : { items };
  };
}

test('reads DaemonSets, CronJobs, RoleBindings and the Jobs, ReplicaSets and Pods no controller owns', async () => {
  const get = fakeApi({
    '/apis/apps/v1/namespaces/team-a/daemonsets': [
      { metadata: { name: 'ds', namespace: 'team-a' }, spec: { template: { spec: podSpec(true) } } },
    ],
    '/apis/batch/v1/namespaces/team-a/cronjobs': [{ metadata: { name: 'cj', namespace: 'team-a' } }],
    '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings': [
      { metadata: { name: 'rb', namespace: 'team-a' } },
    ],
    '/api/v1/namespaces/team-a/pods': [
      { metadata: { name: 'bare', namespace: 'team-a' }, spec: podSpec(true) },
      { metadata: { name: 'from-rs', namespace: 'team-a', ...owned }, spec: podSpec(true) },
    ],
    '/apis/batch/v1/namespaces/team-a/jobs': [
      { metadata: { name: 'job', namespace: 'team-a' } },
      {
        metadata: {
          name: 'cj-123',
          namespace: 'team-a',
          ownerReferences: [{ kind: 'CronJob', name: 'cj', uid: 'v', controller: true }],
        },
      },
    ],
  });
  const { documents, missing } = await readLiveNamespaces(get, ['team-a'], 'live:api');
  expect(missing).toEqual([]);
  expect(documents.map((d) => `${d.object.kind}/${(d.object.metadata as { name: string }).name}`).sort()).toEqual(
    ['CronJob/cj', 'DaemonSet/ds', 'Job/job', 'Namespace/team-a', 'Pod/bare', 'RoleBinding/rb'].sort(),
  );
  expect(documents.every((d) => d.source?.file === 'live:api')).toBe(true);
  // The catalogue sees them: a privileged DaemonSet and a privileged bare Pod fail.
  const failing = evaluate(documents, { includeManual: false })
    .filter((f) => f.control === 'HCB-WORKLOAD-PRIVILEGED' && f.status === 'fail')
    .map((f) => `${f.object?.kind}/${f.object?.name}`)
    .join(' ');
  expect(failing).toMatch(/DaemonSet\/ds/);
  expect(failing).toMatch(/Pod\/bare/);
  expect(failing).not.toMatch(/from-rs/);
});

test('a namespace or list that cannot be read is named, never skipped quietly', async () => {
  const get = fakeApi({ '/apis/apps/v1/namespaces/team-a/daemonsets': undefined }, ['team-a']);
  const { missing } = await readLiveNamespaces(get, ['team-a', 'gone'], 'live:api');
  expect(missing).toEqual([
    '/apis/apps/v1/namespaces/team-a/daemonsets cannot be read',
    'namespace gone does not exist or cannot be read',
  ]);
  const throwing: LiveGet = async (p) => {
    if (p.endsWith('/team-a')) return { kind: 'Namespace', metadata: { name: 'team-a' } };
    throw new Error('connection reset');
  };
  expect((await readLiveNamespaces(throwing, ['team-a'], 'live:api')).missing).toHaveLength(
    LIVE_NAMESPACED_LISTS.length,
  );
});
