/**
 * The catalogue's ValidatingAdmissionPolicies on a real API server: the blueprint's rendered
 * policies and bindings are applied as the stack applies them (server-side apply), then real
 * requests are rejected with the control id, while a compliant workload (HardenedWorkload's
 * own output) is admitted and a namespace excluded by a reviewed exception admits what would
 * otherwise be rejected.
 */
import { Testing } from 'cdk8s';
import { ADMISSION_POLICY_CONTROLS, HardenedWorkload, Probe } from '../../constructs';
import type { ControlException, KubeObject } from '../../policies/model';
import { eventually, startCluster, TestCluster } from './support/cluster';

jest.setTimeout(300_000);

const APPS = 'vap-apps';
const EXCEPTED = 'vap-excepted';
const RELAXED = 'vap-psa-privileged';
const SECRET_ENV_EXCEPTION: ControlException = {
  control: 'HCB-WORKLOAD-SECRETS-IN-ENV',
  scope: { namespace: EXCEPTED },
  justification:
    'e2e: a legacy application that reads its database password from the environment until it is migrated.',
  owner: 'e2e',
  expires: '2999-12-31',
};

let cluster: TestCluster;

type Obj = Record<string, any>;

function deployment(name: string, namespace: string, container: Obj = {}, pod: Obj = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          serviceAccountName: 'app',
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                readOnlyRootFilesystem: true,
              },
              resources: {
                requests: { 'ephemeral-storage': '16Mi' },
                limits: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '64Mi' },
              },
              livenessProbe: { tcpSocket: { port: 8080 } },
              readinessProbe: { tcpSocket: { port: 8080 } },
              ...container,
            },
          ],
          ...pod,
        },
      },
    },
  };
}

const SECRET_ENV = { env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] };

async function create(o: Obj, dryRun = false) {
  const ns = o.metadata.namespace;
  const base =
    o.kind === 'Pod'
      ? `/api/v1/namespaces/${ns}/pods`
      : o.kind === 'CronJob'
        ? `/apis/batch/v1/namespaces/${ns}/cronjobs`
        : `/apis/apps/v1/namespaces/${ns}/deployments`;
  const res = await cluster.api.post(`${base}${dryRun ? '?dryRun=All' : ''}`, o);
  return {
    status: res.status,
    message: res.status >= 400 ? String((JSON.parse(res.body) as { message?: string }).message) : '',
  };
}

beforeAll(async () => {
  cluster = await startCluster('vap', 46843, { namespaces: [{ name: APPS }], exceptions: [SECRET_ENV_EXCEPTION] });
  for (const [name, labels] of [
    [APPS, {}],
    [EXCEPTED, {}],
    [RELAXED, { 'pod-security.kubernetes.io/enforce': 'privileged' }],
  ] as const) {
    const r = await cluster.api.post('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels },
    });
    expect([201, 409]).toContain(r.status);
    // Pods are only admitted once the controller manager has created the default ServiceAccount.
    await eventually(`the default service account of ${name}`, async () =>
      (await cluster.api.get(`/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200 ? true : undefined,
    );
    // The workloads below run as their own ServiceAccount (HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT).
    const sa = await cluster.api.post(`/api/v1/namespaces/${name}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'app' },
      automountServiceAccountToken: false,
    });
    expect([201, 409]).toContain(sa.status);
  }
  // Apply the blueprint's own admission objects the way the stack does (server-side apply).
  const path: Record<string, string> = {
    ValidatingAdmissionPolicy: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
    ValidatingAdmissionPolicyBinding: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
  };
  const objects = cluster.blueprint.clusterObjects.filter((o: KubeObject) => path[o.kind ?? '']);
  expect(objects.length).toBeGreaterThanOrEqual(8);
  for (const o of objects) {
    const r = await cluster.api.request(
      'PATCH',
      `${path[o.kind!]}/${o.metadata!.name}?fieldManager=hcb-test&force=true`,
      o,
      'application/apply-patch+yaml',
    );
    if (![200, 201].includes(r.status))
      throw new Error(`apply ${o.kind} ${o.metadata!.name}: HTTP ${r.status} ${r.body}`);
  }
  // Bindings take effect asynchronously: poll with a dry-run violating object until it is rejected.
  await eventually(
    'the admission policies to take effect',
    async () => {
      const a = await create(deployment('probe-secret-env', APPS, SECRET_ENV), true);
      const b = await create(deployment('probe-default', 'default'), true);
      return a.status === 403 && b.status === 403 ? true : undefined;
    },
    30_000,
  );
});

afterAll(async () => {
  await cluster?.stop();
});

test('the applied policies type-check without warnings on the server', async () => {
  // The type checker reports asynchronously in status.typeChecking.
  const list = await eventually('type-checking results of every policy', async () => {
    const l = await cluster.api.json<{ items: Obj[] }>(
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
    );
    return l.items.every((p) => p.status?.typeChecking !== undefined) ? l : undefined;
  });
  // The default layout: one policy per target and mode, and its own for the control with a
  // namespace exception; every admission control's validation exactly once.
  expect(list.items.map((p) => p.metadata.name).sort()).toEqual([
    'hcb-bindings-enforce',
    'hcb-roles-enforce',
    'hcb-workload-secrets-in-env',
    'hcb-workloads-dry-run',
    'hcb-workloads-enforce',
  ]);
  expect(list.items.flatMap((p) => p.spec.validations).length).toBe(ADMISSION_POLICY_CONTROLS.length);
  for (const p of list.items) {
    const warnings = (p.status?.typeChecking?.expressionWarnings ?? []) as Obj[];
    expect([p.metadata.name, warnings]).toEqual([p.metadata.name, []]);
  }
});

test('a Deployment reading a Secret through env secretKeyRef in a user namespace is rejected with the control id', async () => {
  const r = await create(deployment('leaky', APPS, SECRET_ENV));
  expect([403, 422]).toContain(r.status);
  expect(r.message).toContain('HCB-WORKLOAD-SECRETS-IN-ENV');
  expect(r.message).toContain('V-242415');
  // envFrom secretRef too
  const r2 = await create(deployment('leaky-from', APPS, { envFrom: [{ secretRef: { name: 'db' } }] }));
  expect(r2.status).toBe(403);
  expect(r2.message).toContain('HCB-WORKLOAD-SECRETS-IN-ENV');
});

test('a Deployment in the default namespace is rejected with the control id', async () => {
  const r = await create(deployment('in-default', 'default'));
  expect([403, 422]).toContain(r.status);
  // Two controls forbid it; the API server names the first policy that denies.
  expect(r.message).toMatch(
    /HCB-NAMESPACE-NO-DEFAULT-OBJECTS \(STIG V-242383|HCB-WORKLOAD-USER-NAMESPACE \(STIG V-242417/,
  );
});

test('a hostPort below 1024 is rejected at the Deployment; a privileged Pod is rejected even where Pod Security is relaxed', async () => {
  const r = await create(deployment('low-port', APPS, { ports: [{ containerPort: 8080, hostPort: 80 }] }));
  expect(r.status).toBe(403);
  // Any host port fails HCB-WORKLOAD-HOST-PORTS too; the API server names the first policy that denies.
  // (test/e2e/admission-differential.test.ts judges each policy on its own.)
  expect(r.message).toMatch(
    /HCB-WORKLOAD-PRIVILEGED-HOST-PORTS \(STIG V-242414|HCB-WORKLOAD-HOST-PORTS \(CIS 5\.2\.13/,
  );

  const pod = (name: string, privileged: boolean) => {
    const spec = deployment(name, RELAXED).spec.template.spec;
    // privileged: true is valid only with allowPrivilegeEscalation left unset (or true)
    if (privileged)
      spec.containers[0].securityContext = {
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
        privileged: true,
      };
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: RELAXED }, spec };
  };
  const denied = await create(pod('privileged', true));
  expect(denied.status).toBe(403);
  // A privileged container can also escalate privileges: either policy may be the one named.
  expect(denied.message).toMatch(/HCB-WORKLOAD-PRIVILEGED \(|HCB-WORKLOAD-PRIVILEGE-ESCALATION \(/);
  // control: the same pod unprivileged is admitted in that namespace (Pod Security there is 'privileged')
  expect((await create(pod('unprivileged', false))).status).toBe(201);
});

test('a CronJob is read through its job template; the Dashboard image is rejected', async () => {
  const cronJob = (name: string, container: Obj) => {
    const d = deployment(name, APPS, container);
    return {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace: APPS },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: { spec: { ...d.spec.template.spec, restartPolicy: 'OnFailure' } } } },
      },
    };
  };
  const bad = await create(cronJob('nightly-leaky', SECRET_ENV));
  expect(bad.status).toBe(403);
  expect(bad.message).toContain('HCB-WORKLOAD-SECRETS-IN-ENV');
  // control: the same CronJob without the Secret in env is admitted
  expect((await create(cronJob('nightly', {}))).status).toBe(201);

  const dashboard = await create(deployment('ui', APPS, { image: 'docker.io/kubernetesui/dashboard:v2.7.0' }));
  expect(dashboard.status).toBe(403);
  expect(dashboard.message).toContain('HCB-WORKLOAD-NO-DASHBOARD');
  expect(dashboard.message).toContain('V-242395');
});

test("a compliant workload (HardenedWorkload's output) is admitted", async () => {
  const chart = Testing.chart();
  new HardenedWorkload(chart, 'web', {
    namespace: APPS,
    containers: [
      {
        name: 'web',
        image: `registry.example.com/shop/web@sha256:${'0123456789abcdef'.repeat(4)}`,
        ports: [{ number: 8080, name: 'http' }],
        liveness: Probe.fromHttpGet('/healthz'),
        readiness: Probe.fromHttpGet('/ready'),
      },
    ],
  });
  const objs = Testing.synth(chart) as Obj[];
  const d = objs.find((o) => o.kind === 'Deployment');
  expect(d).toBeDefined();
  const r = await create(d!);
  expect([r.status, r.message]).toEqual([201, '']);
  // and the minimal compliant one
  expect((await create(deployment('plain', APPS))).status).toBe(201);
});

test('a namespace excluded by an exception admits the otherwise rejected object, for that control only', async () => {
  const binding = await cluster.api.json<Obj>(
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/hcb-workload-secrets-in-env',
  );
  expect(binding.spec.matchResources.namespaceSelector.matchExpressions[0].values).toContain(EXCEPTED);
  const r = await create(deployment('legacy', EXCEPTED, SECRET_ENV));
  expect([r.status, r.message]).toEqual([201, '']);
  // control: the same object in a namespace without the exception is still rejected
  expect((await create(deployment('legacy', APPS, SECRET_ENV))).status).toBe(403);
  // and the exception does not switch off the other controls there
  const port = await create(deployment('legacy-port', EXCEPTED, { ports: [{ containerPort: 8080, hostPort: 443 }] }));
  expect(port.status).toBe(403);
  expect(port.message).toMatch(/HCB-WORKLOAD-PRIVILEGED-HOST-PORTS|HCB-WORKLOAD-HOST-PORTS/);
});

test("a large compliant workload stays within the grouped policy's CEL cost budget", async () => {
  // The API server gives each binding's evaluation one runtime cost budget (RuntimeCELCostBudget,
  // k8s.io/apiserver pkg/apis/cel/config.go), which the validations of a grouped policy share.
  // 100 containers with 100 environment variables and a port each must still be judged by the
  // expressions, not refused for running out of budget.
  const big = deployment('big', APPS);
  const template = big.spec.template.spec;
  const first = template.containers[0];
  template.containers = Array.from({ length: 100 }, (_, i) => ({
    ...first,
    name: `c${i}`,
    ports: [{ containerPort: 8080 + i }],
    env: Array.from({ length: 100 }, (_, j) => ({ name: `V${j}`, value: `value-${i}-${j}` })),
  }));
  const ok = await create(big, true);
  expect([ok.status, ok.message]).toEqual([201, '']);
  // the same object with one violation in its last container is still refused by its control,
  // one of the grouped policy's validations
  template.containers[99] = { ...template.containers[99], ports: [{ containerPort: 8179, hostPort: 8179 }] };
  const bad = await create(big, true);
  expect(bad.status).toBe(403);
  expect(bad.message).toContain('HCB-WORKLOAD-HOST-PORTS');
  expect(bad.message).toContain('hcb-workloads-enforce');
  expect(bad.message).not.toMatch(/cost|budget/i);
});
