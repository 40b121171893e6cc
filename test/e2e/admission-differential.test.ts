/**
 * Differential test against a real API server: for every fixture of every control that has an
 * admission rule (constructs/admission/catalogue-admission-policies.ts), the objects the rule
 * decides are created with a server-side dry run under the blueprint's rendered
 * ValidatingAdmissionPolicies, and
 *
 *     admission denies the object by the control's policy  ⇔  the synth verdict is fail.
 *
 * Isolation: the blueprint is rendered with one policy per control (admissionLayout 'per-control';
 * the default layout holds the same validations in one policy per target and mode), and each
 * policy is bound (validationActions Deny) by a test binding that selects only
 * objects labelled with that control, so a fixture written for one control is judged by that
 * control's policy alone. The objects keep their own namespace when it is `default` (the rules
 * about the default namespace), each other namespace is mapped to a fresh one per fixture
 * (Pod Security level privileged, so Pod Security admission does not answer first); objects in
 * the system namespaces are left out because the rendered bindings leave those namespaces to the
 * provider. ServiceAccounts and LimitRanges of the fixture are created for real first (the
 * API server fills pods from them), as is every ServiceAccount a workload names that the fixture
 * does not define (the synth check reads a missing one as "token mounted by default", which is
 * what the API server does with a fresh one). The synth verdict is computed on exactly the
 * objects sent (after the namespace mapping).
 *
 * Objects a rule cannot decide the way synth does are not compared and say why (see `decides`):
 * e.g. resource limits of a controller's template (the LimitRanger fills them only into Pods).
 *
 * Ports 47043-47048.
 */
import * as fs from 'fs';
import {
  ADMISSION_POLICY_CONTROLS,
  admissionPolicyName,
  admissionRuleTarget,
} from '../../constructs/admission/catalogue-admission-policies';
import { CATALOGUE } from '../../policies/catalogue';
import { BOOTSTRAP_CLUSTER_ROLES, BOOTSTRAP_ROLES } from '../../policies/checks/rbac-builtins';
import { evaluate } from '../../policies/engine';
import type { Document, Finding, KubeObject } from '../../policies/model';
import { fixtureFiles, loadFixture } from '../unit/policies/fixture-loader';
import { eventually, startCluster, TestCluster } from './support/cluster';

jest.setTimeout(1_200_000);

const NOW = new Date('2026-01-15T12:00:00Z');
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);
const LABEL = 'hcb.dev/differential-control';

type Obj = Record<string, any>;

/** REST collection of each kind the rules match, and whether it is namespaced. */
const RESOURCES: Record<string, { group: string; plural: string; namespaced: boolean }> = {
  Pod: { group: 'v1', plural: 'pods', namespaced: true },
  ReplicationController: { group: 'v1', plural: 'replicationcontrollers', namespaced: true },
  Deployment: { group: 'apps/v1', plural: 'deployments', namespaced: true },
  StatefulSet: { group: 'apps/v1', plural: 'statefulsets', namespaced: true },
  DaemonSet: { group: 'apps/v1', plural: 'daemonsets', namespaced: true },
  ReplicaSet: { group: 'apps/v1', plural: 'replicasets', namespaced: true },
  Job: { group: 'batch/v1', plural: 'jobs', namespaced: true },
  CronJob: { group: 'batch/v1', plural: 'cronjobs', namespaced: true },
  Role: { group: 'rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  ClusterRole: { group: 'rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  RoleBinding: { group: 'rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  ClusterRoleBinding: { group: 'rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
};
const TARGET_KINDS: Record<string, string[]> = {
  workloads: ['Pod', 'ReplicationController', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'],
  roles: ['Role', 'ClusterRole'],
  bindings: ['RoleBinding', 'ClusterRoleBinding'],
};
/** Namespaced kinds the fixtures may carry (anything else without a namespace is cluster-scoped). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

function collection(o: KubeObject, ns: string | undefined): string {
  const r = RESOURCES[o.kind!];
  const base = r.group === 'v1' ? '/api/v1' : `/apis/${r.group}`;
  return r.namespaced ? `${base}/namespaces/${ns}/${r.plural}` : `${base}/${r.plural}`;
}

function podSpecOf(o: Obj): Obj {
  if (o.kind === 'Pod') return o.spec ?? {};
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.spec ?? {};
  return o.spec?.template?.spec ?? {};
}

/** Why the control's rule does not decide this object the way the synth check does (undefined: it does). */
function notDecided(control: string, o: Obj, docs: readonly Document[]): string | undefined {
  const kind = o.kind as string;
  if ((control === 'HCB-WORKLOAD-RESOURCE-LIMITS' || control === 'HCB-WORKLOAD-EPHEMERAL-STORAGE') && kind !== 'Pod') {
    return 'resources of a template are decided on its Pods (LimitRange defaults are filled into Pods only)';
  }
  if (
    control === 'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT' &&
    kind !== 'Pod' &&
    podSpecOf(o).automountServiceAccountToken === undefined
  ) {
    return 'whether a template mounts a token depends on its ServiceAccount; decided on its Pods';
  }
  if (
    control === 'HCB-WORKLOAD-PROBES' &&
    kind === 'Pod' &&
    (o.metadata?.ownerReferences ?? []).some((r: Obj) => r.kind === 'Job')
  )
    return "a Job's pod";
  if (control === 'HCB-RBAC-BROAD-GROUP-BINDINGS') {
    const ref = o.roleRef ?? {};
    const builtIn =
      ref.kind === 'ClusterRole'
        ? BOOTSTRAP_CLUSTER_ROLES.has(ref.name)
        : (BOOTSTRAP_ROLES[o.metadata?.namespace ?? '']?.has(ref.name) ?? false);
    const defined = docs.some((d) => d.object.kind === ref.kind && d.object.metadata?.name === ref.name);
    const aggregating = docs.some(
      (d) =>
        d.object.kind === 'ClusterRole' &&
        Object.keys(d.object.metadata?.labels ?? {}).some((l) =>
          l.startsWith('rbac.authorization.k8s.io/aggregate-to-'),
        ),
    );
    if (!builtIn || defined || aggregating)
      return 'admission cannot read the bound role; only bindings of built-in roles the input leaves alone are compared';
  }
  return undefined;
}

let cluster: TestCluster;
let nsCounter = 0;

async function ok(res: { status: number; body: string }, what: string): Promise<void> {
  if (res.status >= 300 && res.status !== 409) throw new Error(`${what}: HTTP ${res.status} ${res.body}`);
}

async function createNamespace(name: string): Promise<void> {
  await ok(
    await cluster.api.post('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
    }),
    `namespace ${name}`,
  );
  await eventually(`the default service account of ${name}`, async () =>
    (await cluster.api.get(`/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200 ? true : undefined,
  );
}

beforeAll(async () => {
  // One policy per control, so that each control's validation can be bound alone. The default
  // layout groups the same validations (unchanged: the unit test of the construct compares them
  // one by one) into one policy per target and mode.
  cluster = await startCluster('vapdiff', 47043, { admissionLayout: 'per-control' });
  const policies = cluster.blueprint.clusterObjects.filter((o: KubeObject) => o.kind === 'ValidatingAdmissionPolicy');
  expect(policies.map((p) => p.metadata!.name).sort()).toEqual(
    ADMISSION_POLICY_CONTROLS.map(admissionPolicyName).sort(),
  );
  for (const p of policies) {
    const r = await cluster.api.request(
      'PATCH',
      `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${p.metadata!.name}?fieldManager=hcb-test&force=true`,
      p,
      'application/apply-patch+yaml',
    );
    await ok(r, `apply policy ${p.metadata!.name}`);
  }
  // One Deny binding per policy, for the objects labelled with its control only.
  for (const id of ADMISSION_POLICY_CONTROLS) {
    const name = admissionPolicyName(id);
    const binding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: `diff-${name}` },
      spec: {
        policyName: name,
        validationActions: ['Deny'],
        matchResources: {
          objectSelector: { matchLabels: { [LABEL]: id } },
          namespaceSelector: {
            matchExpressions: [
              { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...SYSTEM_NAMESPACES] },
            ],
          },
        },
      },
    };
    await ok(
      await cluster.api.post('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', binding),
      `binding ${name}`,
    );
  }
  // Pod Security admission must not answer before the policies in default either.
  await ok(
    await cluster.api.request(
      'PATCH',
      '/api/v1/namespaces/default',
      { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
      'application/merge-patch+json',
    ),
    'label default',
  );
  await eventually(
    'the test bindings to take effect',
    async () => {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'probe', namespace: 'default', labels: { [LABEL]: 'HCB-WORKLOAD-PRIVILEGED' } },
        spec: { containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] },
      };
      const r = await cluster.api.post('/api/v1/namespaces/default/pods?dryRun=All', pod);
      return r.status === 403 && r.body.includes(admissionPolicyName('HCB-WORKLOAD-PRIVILEGED')) ? true : undefined;
    },
    60_000,
  );
  // The type checker reports on every policy: no expression may have a warning.
  const list = await eventually('type checking of every policy', async () => {
    const l = await cluster.api.json<{ items: Obj[] }>(
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies?labelSelector=hcb.dev%2Fcontrol',
    );
    return l.items.length === ADMISSION_POLICY_CONTROLS.length &&
      l.items.every((p) => p.status?.typeChecking !== undefined)
      ? l
      : undefined;
  });
  for (const p of list.items)
    expect([p.metadata.name, p.status.typeChecking.expressionWarnings ?? []]).toEqual([p.metadata.name, []]);
});

afterAll(async () => {
  await cluster?.stop();
});

interface Outcome {
  fixture: string;
  object: string;
  synth: string;
  admission: 'denied' | 'admitted' | string;
}

/**
 * Worst synth status of the control on one object. A control that reports only what is wrong
 * (e.g. the Dashboard, objects in default) gives no finding for an object it accepts: that is a
 * pass when the control reported nothing it could not evaluate.
 */
function synthStatus(findings: Finding[], o: KubeObject): string | undefined {
  const mine = findings.filter(
    (f) =>
      f.object?.kind === o.kind &&
      f.object?.name === o.metadata?.name &&
      (f.object?.namespace ?? undefined) === (o.metadata?.namespace ?? undefined),
  );
  for (const s of ['error', 'fail', 'not-evaluated', 'not-applicable', 'pass', 'accepted'])
    if (mine.some((f) => f.status === s)) return s;
  if (findings.some((f) => f.status === 'not-evaluated' || f.status === 'error')) return undefined;
  return 'pass';
}

/**
 * The Pod a workload controller creates from its template (owner reference included, so the
 * rules that leave a Job's pods out see it), for the rules the API server decides on Pods.
 */
function podOf(o: Obj): Obj | undefined {
  if (o.kind === 'Pod' || !TARGET_KINDS.workloads.includes(o.kind)) return undefined;
  const template = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template : o.spec?.template;
  if (!template?.spec) return undefined;
  const owner = { Deployment: 'ReplicaSet', CronJob: 'Job' }[o.kind as string] ?? o.kind;
  const ownerApi = {
    ReplicaSet: 'apps/v1',
    StatefulSet: 'apps/v1',
    DaemonSet: 'apps/v1',
    Job: 'batch/v1',
    ReplicationController: 'v1',
  }[owner as string];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${o.metadata?.name ?? 'pod'}-from-template`,
      namespace: o.metadata?.namespace,
      labels: { ...(template.metadata?.labels ?? {}) },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [
        {
          apiVersion: ownerApi,
          kind: owner,
          name: o.metadata?.name ?? 'owner',
          uid: '00000000-0000-0000-0000-000000000001',
          controller: true,
        },
      ],
    },
    spec: JSON.parse(JSON.stringify(template.spec)),
  };
}

/** Dry-run create; an object that exists already (a built-in role, say) is dry-run replaced. */
async function dryRun(o: Obj): Promise<{ status: number; body: string }> {
  const coll = collection(o as KubeObject, o.metadata?.namespace);
  const res = await cluster.api.post(`${coll}?dryRun=All`, o);
  if (res.status !== 409) return res;
  const current = await cluster.api.json<Obj>(`${coll}/${o.metadata.name}`);
  const body = { ...o, metadata: { ...o.metadata, resourceVersion: current.metadata.resourceVersion } };
  return cluster.api.request('PUT', `${coll}/${o.metadata.name}?dryRun=All`, body);
}

async function runFixture(
  control: string,
  file: string,
): Promise<{ compared: Outcome[]; disagree: Outcome[]; skipped: string[]; other: string[] }> {
  const target = admissionRuleTarget(control)!;
  const raw = loadFixture(file);
  const fixtureNo = ++nsCounter;
  // Map each non-system, non-default namespace (a missing one on namespaced kinds counts as one) to a test namespace of its own.
  const testNamespaces = new Map<string, string>();
  const map = (ns: string | undefined) => {
    if (ns === 'default' || (ns !== undefined && SYSTEM_NAMESPACES.has(ns))) return ns;
    const key = ns ?? '';
    if (!testNamespaces.has(key)) testNamespaces.set(key, `diff-${fixtureNo}-${testNamespaces.size + 1}`);
    return testNamespaces.get(key)!;
  };
  const docs: Document[] = raw.map((d) => {
    const o = JSON.parse(JSON.stringify(d.object)) as Obj;
    o.metadata ??= {};
    if (o.kind === 'Namespace') {
      if (o.metadata.name !== undefined) o.metadata.name = map(o.metadata.name);
    } else if (!CLUSTER_SCOPED.has(o.kind)) {
      o.metadata.namespace = map(o.metadata.namespace);
      for (const s of o.subjects ?? [])
        if (s.kind === 'ServiceAccount' && s.namespace !== undefined) s.namespace = map(s.namespace);
    }
    if (o.kind === 'ClusterRoleBinding')
      for (const s of o.subjects ?? [])
        if (s.kind === 'ServiceAccount' && s.namespace !== undefined) s.namespace = map(s.namespace);
    return { ...d, object: o as KubeObject };
  });
  const controlDef = CATALOGUE.find((c) => c.id === control)!;
  const findings = evaluate(docs, { controls: [controlDef], now: NOW });

  for (const ns of testNamespaces.values()) await createNamespace(ns);
  const created: string[] = [];
  const out = { compared: [] as Outcome[], disagree: [] as Outcome[], skipped: [] as string[], other: [] as string[] };
  try {
    // Supporting objects, for real: ServiceAccounts and LimitRanges of the fixture, and the ServiceAccounts workloads name.
    const sas = new Set<string>();
    for (const d of docs) {
      const o = d.object as Obj;
      const ns = o.metadata?.namespace;
      if (ns === undefined || SYSTEM_NAMESPACES.has(ns)) continue;
      if (o.kind === 'ServiceAccount' || o.kind === 'LimitRange') {
        const plural = o.kind === 'ServiceAccount' ? 'serviceaccounts' : 'limitranges';
        const r = await cluster.api.post(`/api/v1/namespaces/${ns}/${plural}`, o);
        await ok(r, `${o.kind} ${ns}/${o.metadata.name} of ${file}`);
        if (r.status === 201) created.push(`/api/v1/namespaces/${ns}/${plural}/${o.metadata.name}`);
        if (o.kind === 'ServiceAccount') sas.add(`${ns}/${o.metadata.name}`);
      }
    }
    for (const d of docs) {
      const o = d.object as Obj;
      const ns = o.metadata?.namespace;
      if (!TARGET_KINDS.workloads.includes(o.kind) || ns === undefined || SYSTEM_NAMESPACES.has(ns)) continue;
      const spec = podSpecOf(o);
      const sa = spec.serviceAccountName || spec.serviceAccount;
      if (sa && sa !== 'default' && !sas.has(`${ns}/${sa}`)) {
        const r = await cluster.api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: sa },
        });
        await ok(r, `ServiceAccount ${ns}/${sa}`);
        if (r.status === 201) created.push(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}`);
        sas.add(`${ns}/${sa}`);
      }
    }

    // Each object the rule matches, and for a workload controller also the Pod it would create,
    // judged by the synth verdict of the controller.
    const subjects: Array<{ o: Obj; verdictOf: Obj; label: string }> = [];
    for (const d of docs) {
      const o = d.object as Obj;
      if (!TARGET_KINDS[target].includes(o.kind)) continue;
      const name = `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
      subjects.push({ o, verdictOf: o, label: name });
      const pod = target === 'workloads' ? podOf(o) : undefined;
      if (pod) subjects.push({ o: pod, verdictOf: o, label: `${name} (its Pod)` });
    }
    for (const { o, verdictOf, label: name } of subjects) {
      if (o.metadata?.namespace !== undefined && SYSTEM_NAMESPACES.has(o.metadata.namespace)) {
        out.skipped.push(`${name}: system namespace (left to the provider by the rendered bindings)`);
        continue;
      }
      const why = verdictOf === o ? notDecided(control, o, docs) : undefined;
      if (why) {
        out.skipped.push(`${name}: ${why}`);
        continue;
      }
      const synth = synthStatus(findings, verdictOf as KubeObject);
      if (synth === undefined || synth === 'not-evaluated') {
        out.skipped.push(`${name}: synth gives ${synth ?? 'no finding'}`);
        continue;
      }
      const body = JSON.parse(JSON.stringify(o)) as Obj;
      body.metadata.labels = { ...(body.metadata.labels ?? {}), [LABEL]: control };
      const res = await dryRun(body);
      const policy = admissionPolicyName(control);
      let admission: string;
      if (res.status >= 200 && res.status < 300) admission = 'admitted';
      else if (res.status === 422) {
        out.skipped.push(
          `${name}: the API server refuses the object as invalid: ${String((JSON.parse(res.body) as { message?: string }).message).slice(0, 200)}`,
        );
        continue;
      } else if (res.status === 403 && res.body.includes(`ValidatingAdmissionPolicy '${policy}'`)) admission = 'denied';
      else {
        out.other.push(
          `${file.split('/').slice(-3).join('/')} ${name}: HTTP ${res.status} ${String((JSON.parse(res.body) as { message?: string }).message ?? res.body).slice(0, 300)}`,
        );
        continue;
      }
      const outcome: Outcome = { fixture: file.split('/').slice(-2).join('/'), object: name, synth, admission };
      out.compared.push(outcome);
      const synthFails = synth === 'fail' || synth === 'error';
      if (synthFails !== (admission === 'denied')) out.disagree.push(outcome);
    }
  } finally {
    for (const p of created.reverse()) await cluster.api.delete(p);
    for (const ns of testNamespaces.values()) await cluster.api.delete(`/api/v1/namespaces/${ns}`);
  }
  return out;
}

const report: string[] = [];

describe('admission verdict = synth verdict on every fixture of every control with an admission rule', () => {
  for (const control of ADMISSION_POLICY_CONTROLS) {
    test(control, async () => {
      const files = [...fixtureFiles(control, 'pass'), ...fixtureFiles(control, 'fail')];
      expect(files.length).toBeGreaterThan(1);
      const compared: Outcome[] = [];
      const disagree: Outcome[] = [];
      const other: string[] = [];
      for (const file of files) {
        const r = await runFixture(control, file);
        compared.push(...r.compared);
        disagree.push(...r.disagree);
        other.push(...r.other);
        for (const s of r.skipped) report.push(`${control} ${file.split('/').slice(-2).join('/')} not compared: ${s}`);
      }
      report.push(
        `${control}: ${compared.length} objects compared (${compared.filter((c) => c.admission === 'denied').length} denied)`,
      );
      for (const o of other) report.push(`${control} OTHER: ${o}`);
      for (const d of disagree) report.push(`${control} DISAGREE: ${JSON.stringify(d)}`);
      // A rule that never denies (or never admits) anything among its fixtures is not being tested.
      expect({
        control,
        disagree,
        other,
        denied: compared.some((c) => c.admission === 'denied'),
        admitted: compared.some((c) => c.admission === 'admitted'),
      }).toEqual({
        control,
        disagree: [],
        other: [],
        denied: true,
        admitted: true,
      });
    });
  }

  afterAll(() => {
    const file = process.env.HCB_DIFFERENTIAL_REPORT;
    if (file) fs.writeFileSync(file, `${report.join('\n')}\n`);
  });
});
