/**
 * Issue 4's live proofs: what the tenant, network, RBAC and workload constructs generate is
 * accepted by a real API server, Pod Security admission rejects what a hardened namespace must
 * not run (and admits the HardenedWorkload's own pod), and the access presets grant exactly what
 * they say. Every refusal has a positive control next to it (the same client, the same kind of
 * request, allowed), so a broken client or an unauthenticated request cannot make it pass.
 *
 * Real requests as tenant users use client certificates minted from the cluster CA (CN = user,
 * O = group); the rest of the RBAC matrix is asked of SubjectAccessReview.
 */
import { App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import {
  AllowInNamespaceTraffic,
  HardenedNamespace,
  HardenedWorkload,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PlatformAccess,
  PodRestartSchedule,
  PodSelection,
  Probe,
  Subject,
  Tenant,
  WorkloadIdentity,
} from '../../constructs';
import { HttpResult } from '../../stacks/local/control-plane';
import { eventually, startCluster, TestCluster } from './support/cluster';
import { ApiClient } from './support/env';
import { clientAs, UserIdentity } from './support/user-cert';
import { runReadmeExample } from '../unit/examples/readme-example';

jest.setTimeout(240_000);

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: any };
  [k: string]: any;
};

const DIGEST = `@sha256:${'5e'.repeat(32)}`;
const DEV = 'shop-dev';
const PROD = 'shop-prod';
const LEGACY = 'legacy-batch';

// Named tenant-side people (no bindings of their own beyond what the chart grants).
const VIEWER: UserIdentity = { user: 'vera', groups: ['shop-readers'] };
const DEVELOPER: UserIdentity = { user: 'dan', groups: ['shop-people'] };
const GROUP_DEVELOPER: UserIdentity = { user: 'erin', groups: ['shop-devs'] }; // bound only through the group
const DEPLOYER: UserIdentity = { user: 'dora', groups: ['shop-people'] };
const NS_ADMIN: UserIdentity = { user: 'nadia', groups: ['shop-people'] };
const OUTSIDER: UserIdentity = { user: 'mallory', groups: ['elsewhere'] };
// Platform people.
const NET_ADMIN: UserIdentity = { user: 'nick', groups: ['platform'] };
const STORAGE_ADMIN: UserIdentity = { user: 'sam', groups: ['platform-storage'] };

/** The chart an application repo would write: a tenant with two environments, platform roles, workloads, network rules. */
function buildChart(): { app: App; api: HardenedWorkload; db: HardenedWorkload; web: HardenedWorkload } {
  const app = new App();
  const chart = new Chart(app, 'tenant-live');
  const tenant = new Tenant(chart, 'shop', {
    environments: [{ name: 'dev' }, { name: 'prod', protectionNeed: 'high', namespace: { size: 'medium' } }],
    access: {
      viewers: [Subject.user(VIEWER.user)],
      developers: [Subject.user(DEVELOPER.user), Subject.group('shop-devs')],
      deployers: [Subject.user(DEPLOYER.user)],
      namespaceAdmins: [Subject.user(NS_ADMIN.user)],
      namespaceAdminsReadSecrets: true, // opt-in (off by default): the tests below read Secrets as her
    },
    automation: { programs: ['gitlab-main', 'argocd'], tokens: 'secret' },
  });
  new PlatformAccess(chart, 'network-admins', { role: 'network-admin', subjects: [Subject.user(NET_ADMIN.user)] });
  new PlatformAccess(chart, 'storage-admins', { role: 'storage-admin', subjects: [Subject.group('platform-storage')] });
  // A namespace that runs `baseline` through a reviewed exception.
  new HardenedNamespace(chart, LEGACY, {
    protectionNeed: 'normal',
    podSecurityException: {
      level: 'baseline',
      justification: 'vendor image runs as root',
      owner: 'batch-team',
      expires: '2099-12-31',
      ticket: 'SEC-1',
    },
  });

  const prod = tenant.namespace('prod').namespaceName;
  const apiIdentity = new WorkloadIdentity(chart, 'api-identity', {
    namespace: prod,
    name: 'api',
    automountToken: true,
    rules: [{ apiGroup: '', resources: ['configmaps'], verbs: ['get'], resourceNames: ['api-config'] }],
  });
  const api = new HardenedWorkload(chart, 'api', {
    namespace: prod,
    protectionNeed: 'high',
    serviceAccount: apiIdentity,
    maxPodAge: '24h',
    initContainers: [
      {
        name: 'migrate',
        image: `registry.example.com/shop/migrate${DIGEST}`,
        command: ['/migrate'],
        writablePaths: ['/work'],
      },
    ],
    containers: [
      {
        name: 'api',
        image: `registry.example.com/shop/api${DIGEST}`,
        ports: [
          { number: 8080, name: 'http' },
          { number: 9090, name: 'metrics' },
        ],
        liveness: Probe.fromHttpGet('/healthz'),
        readiness: Probe.fromHttpGet('/ready'),
        resources: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
        secretMounts: [{ secretName: 'api-db', mountPath: '/etc/api/db' }],
        configMapMounts: [{ configMapName: 'api-config', mountPath: '/etc/api/config' }],
        writablePaths: ['/tmp'],
        env: { LOG_LEVEL: 'info' },
      },
    ],
  });
  const db = new HardenedWorkload(chart, 'db', {
    namespace: prod,
    kind: 'StatefulSet',
    protectionNeed: 'high',
    zoneSpread: 'required',
    containers: [
      {
        name: 'postgres',
        image: `registry.example.com/shop/postgres${DIGEST}`,
        ports: [{ number: 5432, name: 'pg' }],
        liveness: Probe.fromCommand(['pg_isready']),
        readiness: Probe.fromCommand(['pg_isready']),
        writablePaths: ['/var/lib/postgresql/data', '/var/run/postgresql'],
      },
    ],
  });
  new AllowInNamespaceTraffic(chart, 'api-to-db', {
    namespace: prod,
    from: PodSelection.serviceAccount(api.serviceAccountName),
    to: PodSelection.serviceAccount(db.serviceAccountName),
    ports: [NetworkPort.tcp(5432)],
  });
  new NetworkAllowPolicy(chart, 'allow-api-from-ingress', {
    namespace: prod,
    appliesTo: PodSelection.serviceAccount(api.serviceAccountName),
    ingress: [{ peers: [NetworkPeer.namespace('ingress-nginx')], ports: [NetworkPort.named('http')] }],
  });
  new NetworkAllowPolicy(chart, 'allow-api-to-payments', {
    namespace: prod,
    appliesTo: PodSelection.labels(api.podLabels as Record<string, string>),
    egress: [
      { peers: [NetworkPeer.cidr('10.40.0.0/24', ['10.40.0.128/25'])], ports: [NetworkPort.tcpRange(8000, 8100)] },
    ],
  });
  new PodRestartSchedule(chart, 'api-restart', {
    workload: api,
    kubectlImage: `registry.example.com/tools/kubectl${DIGEST}`,
    apiServerEndpoints: ['10.96.0.1/32'],
    apiServerPort: 443,
  });
  const web = new HardenedWorkload(chart, 'web', {
    namespace: tenant.namespace('dev').namespaceName,
    containers: [
      {
        name: 'web',
        image: `registry.example.com/shop/web${DIGEST}`,
        ports: [{ number: 8080 }],
        liveness: Probe.fromHttpGet('/healthz'),
        readiness: Probe.fromHttpGet('/ready'),
      },
    ],
  });
  return { app, api, db, web };
}

/** Kinds the chart may contain, in the order they are applied, with their REST collection. */
const KINDS: ReadonlyArray<{ kind: string; apiVersion: string; plural: string; namespaced: boolean }> = [
  { kind: 'Namespace', apiVersion: 'v1', plural: 'namespaces', namespaced: false },
  { kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  {
    kind: 'ClusterRoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  { kind: 'ResourceQuota', apiVersion: 'v1', plural: 'resourcequotas', namespaced: true },
  { kind: 'LimitRange', apiVersion: 'v1', plural: 'limitranges', namespaced: true },
  { kind: 'ServiceAccount', apiVersion: 'v1', plural: 'serviceaccounts', namespaced: true },
  { kind: 'Role', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  { kind: 'RoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', plural: 'networkpolicies', namespaced: true },
  { kind: 'Secret', apiVersion: 'v1', plural: 'secrets', namespaced: true },
  { kind: 'Service', apiVersion: 'v1', plural: 'services', namespaced: true },
  { kind: 'PodDisruptionBudget', apiVersion: 'policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  { kind: 'Deployment', apiVersion: 'apps/v1', plural: 'deployments', namespaced: true },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', plural: 'statefulsets', namespaced: true },
  { kind: 'CronJob', apiVersion: 'batch/v1', plural: 'cronjobs', namespaced: true },
];

function kindOf(o: Obj) {
  const k = KINDS.find((x) => x.kind === o.kind);
  if (!k) throw new Error(`the chart contains ${o.kind}, which this test does not know how to apply: add it to KINDS`);
  if (k.apiVersion !== o.apiVersion)
    throw new Error(`${o.kind}/${o.metadata.name}: apiVersion ${o.apiVersion}, expected ${k.apiVersion}`);
  return k;
}

function objectPath(o: Obj): string {
  const k = kindOf(o);
  const prefix = k.apiVersion === 'v1' ? '/api/v1' : `/apis/${k.apiVersion}`;
  if (k.namespaced && !o.metadata.namespace) throw new Error(`${o.kind}/${o.metadata.name} has no namespace`);
  return `${prefix}${k.namespaced ? `/namespaces/${o.metadata.namespace}` : ''}/${k.plural}/${o.metadata.name}`;
}

const id = (o: Obj) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** Go's zero values, which the API server omits when it serializes (`omitempty`). */
const isZeroValue = (v: unknown) => v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * Paths (a.b[2].c) where `actual` lacks or differs from what `expected` says. Defaults the server
 * adds are ignored, and so is a zero value the server omits (false, 0, '', [] read back as absent).
 */
function differences(expected: unknown, actual: unknown, at = ''): string[] {
  if (actual === undefined && isZeroValue(expected)) return [];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return [`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    return expected.flatMap((e, i) => differences(e, actual[i], `${at}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return [`${at}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected as Record<string, unknown>).flatMap(([k, v]) =>
      differences(v, (actual as Record<string, unknown>)[k], at ? `${at}.${k}` : k),
    );
  }
  return expected === actual ? [] : [`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

const message = (r: HttpResult): string => {
  try {
    return String((JSON.parse(r.body) as { message?: string }).message ?? r.body);
  } catch {
    return r.body;
  }
};

let cluster: TestCluster;
let admin: ApiClient;
let objects: Obj[];
let built: ReturnType<typeof buildChart>;
const applied: Array<{ obj: Obj; status: number; body: string }> = [];

/** Server-side apply, as Pulumi and `kubectl apply --server-side` do; unknown fields are an error. */
function serverSideApply(client: ApiClient, o: Obj): Promise<HttpResult> {
  return client.request(
    'PATCH',
    `${objectPath(o)}?fieldManager=hcb&fieldValidation=Strict`,
    o,
    'application/apply-patch+yaml',
  );
}

beforeAll(async () => {
  built = buildChart();
  objects = parseAllDocuments(built.app.synthYaml())
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
  cluster = await startCluster('tenant', 46443);
  admin = cluster.api;

  applied.push(...(await applyInOrder(objects)));
});

/**
 * Applies objects in dependency order: Namespaces first; the controller manager then creates each
 * namespace's `default` ServiceAccount, which the chart updates, and every other kind follows in
 * KINDS order (ServiceAccounts before the token Secrets that name them).
 */
async function applyInOrder(objs: Obj[]): Promise<Array<{ obj: Obj; status: number; body: string }>> {
  const rank = (o: Obj) => KINDS.indexOf(kindOf(o));
  const quotaRank = KINDS.findIndex((k) => k.kind === 'ResourceQuota');
  const results: Array<{ obj: Obj; status: number; body: string }> = [];
  for (const o of [...objs].sort((a, b) => rank(a) - rank(b))) {
    if (o.kind === 'ServiceAccount' && o.metadata.name === 'default') {
      await eventually(`ServiceAccount ${o.metadata.namespace}/default`, async () =>
        (await admin.get(objectPath(o))).status === 200 ? true : undefined,
      );
    }
    if (
      rank(o) > quotaRank &&
      o.metadata.namespace &&
      objs.some((q) => q.kind === 'ResourceQuota' && q.metadata.namespace === o.metadata.namespace)
    ) {
      // Quota admission refuses counted objects until the quota controller has filled in the
      // quota's status; wait for it rather than retrying creates.
      await quotaReady(o.metadata.namespace);
    }
    const res = await serverSideApply(admin, o);
    results.push({ obj: o, status: res.status, body: res.body });
  }
  return results;
}

const readyQuotas = new Set<string>();
async function quotaReady(namespace: string): Promise<void> {
  if (readyQuotas.has(namespace)) return;
  await eventually(`the ResourceQuota status in ${namespace}`, async () => {
    const list = await admin.json<{ items: Array<{ spec: { hard: object }; status?: { hard?: object } }> }>(
      `/api/v1/namespaces/${namespace}/resourcequotas`,
    );
    return list.items.length > 0 &&
      list.items.every((q) => q.status?.hard && Object.keys(q.status.hard).length === Object.keys(q.spec.hard).length)
      ? true
      : undefined;
  });
  readyQuotas.add(namespace);
}

afterAll(async () => {
  await cluster?.stop();
});

describe('the generated objects are accepted by the API server', () => {
  test('the chart holds every kind the issue names', () => {
    const kinds = new Set(objects.map((o) => o.kind));
    for (const k of [
      'Namespace',
      'ResourceQuota',
      'LimitRange',
      'NetworkPolicy',
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'ClusterRole',
      'ClusterRoleBinding',
      'Secret',
      'Service',
      'PodDisruptionBudget',
      'Deployment',
      'StatefulSet',
      'CronJob',
    ]) {
      expect(kinds).toContain(k);
    }
    const namespaces = objects
      .filter((o) => o.kind === 'Namespace')
      .map((o) => o.metadata.name)
      .sort();
    expect(namespaces).toEqual([LEGACY, DEV, PROD].sort());
    // every preset is bound in each tenant namespace
    for (const ns of [DEV, PROD]) {
      const presets = objects
        .filter((o) => o.kind === 'RoleBinding' && o.metadata.namespace === ns)
        .map((o) => o.metadata.labels?.['hcb.dev/access-preset']);
      for (const p of ['viewer', 'developer', 'deployer', 'namespace-admin']) expect(presets).toContain(p);
    }
  });

  test('every object is created by server-side apply with strict field validation (the default ServiceAccounts are updated)', () => {
    expect(applied).toHaveLength(objects.length);
    const failures = applied.filter(
      ({ obj, status }) => status !== (obj.kind === 'ServiceAccount' && obj.metadata.name === 'default' ? 200 : 201),
    );
    expect(failures.map(({ obj, status, body }) => `${id(obj)}: HTTP ${status} ${message({ status, body })}`)).toEqual(
      [],
    );
    // control: the default ServiceAccounts existed before (200 = updated), the rest were new (201)
    expect(
      applied
        .filter((a) => a.status === 200)
        .map((a) => id(a.obj))
        .sort(),
    ).toEqual([DEV, PROD, LEGACY].map((ns) => `ServiceAccount ${ns}/default`).sort());
  });

  test('every object reads back with everything the construct generated', async () => {
    const problems: string[] = [];
    for (const o of objects) {
      const res = await admin.get(objectPath(o));
      if (res.status !== 200) {
        problems.push(`${id(o)}: GET HTTP ${res.status}`);
        continue;
      }
      const stored = JSON.parse(res.body) as Obj;
      const { metadata, ...rest } = o;
      const diffs = [
        ...differences(
          {
            name: metadata.name,
            namespace: metadata.namespace,
            labels: metadata.labels,
            annotations: metadata.annotations,
          },
          stored.metadata,
          'metadata',
        ),
        ...differences(rest, stored),
      ];
      problems.push(...diffs.map((d) => `${id(o)}: ${d}`));
    }
    expect(problems).toEqual([]);
  });

  test('the default ServiceAccounts are locked down; the workload identities are their own', async () => {
    for (const ns of [DEV, PROD, LEGACY]) {
      const sa = await admin.json<Obj>(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
      expect(sa.automountServiceAccountToken).toBe(false);
      expect(sa.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain('hcb');
    }
    const deployment = await admin.json<Obj>(`/apis/apps/v1/namespaces/${PROD}/deployments/api`);
    expect(deployment.spec.template.spec.serviceAccountName).toBe('api');
    const sts = await admin.json<Obj>(`/apis/apps/v1/namespaces/${PROD}/statefulsets/db`);
    expect(sts.spec.template.spec.serviceAccountName).toBe('db');
    expect(sts.spec.serviceName).toBe('db-headless');
    expect((await admin.json<Obj>(`/api/v1/namespaces/${PROD}/services/db-headless`)).spec.clusterIP).toBe('None');
  });

  test('the automation token Secrets are filled in by the token controller', async () => {
    for (const program of ['gitlab-main', 'argocd']) {
      const secret = await eventually(`the token of shop-deployer-${program}`, async () => {
        const s = await admin.json<Obj>(`/api/v1/namespaces/${PROD}/secrets/shop-deployer-${program}`);
        return s.data?.token ? s : undefined;
      });
      expect(secret.type).toBe('kubernetes.io/service-account-token');
      const claims = JSON.parse(
        Buffer.from(Buffer.from(secret.data.token, 'base64').toString().split('.')[1], 'base64url').toString(),
      );
      expect(claims.sub).toBe(`system:serviceaccount:${PROD}:shop-deployer`);
    }
  });

  test('a second apply of every object changes nothing', async () => {
    const changed: string[] = [];
    for (const o of objects) {
      const before = JSON.parse((await admin.get(objectPath(o))).body) as Obj;
      const res = await serverSideApply(admin, o);
      const after = JSON.parse(res.body) as Obj;
      if (res.status !== 200) changed.push(`${id(o)}: HTTP ${res.status} ${message(res)}`);
      else if (after.metadata.resourceVersion !== before.metadata.resourceVersion)
        changed.push(`${id(o)}: resourceVersion changed`);
    }
    expect(changed).toEqual([]);
  });
});

describe('Pod Security admission in the hardened namespaces', () => {
  /** A pod from the workload's own (synthesized) pod template, optionally changed. */
  function podFrom(w: HardenedWorkload, name: string, change: (spec: any) => void = () => undefined): Obj {
    const template = objects.find(
      (o) => o.kind === w.kind && o.metadata.name === w.workloadName && o.metadata.namespace === w.namespace,
    )!.spec.template;
    const spec = JSON.parse(JSON.stringify(template.spec));
    change(spec);
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: w.namespace, labels: template.metadata.labels },
      spec,
    };
  }
  const createPod = (pod: Obj) => admin.post(`/api/v1/namespaces/${pod.metadata.namespace}/pods`, pod);
  const restrictedViolation = /^pods "[a-z-]+" is forbidden: violates PodSecurity "restricted:v1\.36": /;

  beforeAll(async () => {
    for (const ns of [DEV, PROD, LEGACY]) await quotaReady(ns);
  });

  test.each([
    ['Deployment api', () => built.api],
    ['StatefulSet db', () => built.db],
    ['Deployment web (dev)', () => built.web],
  ])('the pod template of HardenedWorkload %s is admitted (positive control)', async (_, w) => {
    const workload = w();
    const res = await createPod(podFrom(workload, `${workload.workloadName}-as-pod`));
    expect([res.status, message(res)]).toEqual([201, expect.any(String)]);
    const stored = JSON.parse(res.body) as Obj;
    expect(stored.spec.serviceAccountName).toBe(workload.serviceAccountName);
    expect(stored.spec.securityContext.runAsNonRoot).toBe(true);
  });

  test('a privileged pod is rejected, naming the violation', async () => {
    const res = await createPod(
      podFrom(built.api, 'privileged', (spec) => {
        spec.containers[0].securityContext.privileged = true;
        spec.containers[0].securityContext.allowPrivilegeEscalation = true; // privileged with false is invalid, not a PSA question
      }),
    );
    expect(res.status).toBe(403);
    expect(message(res)).toMatch(restrictedViolation);
    expect(message(res)).toContain('privileged (container "api" must not set securityContext.privileged=true)');
  });

  test('a root pod (runAsUser 0, no runAsNonRoot) is rejected, naming the violation', async () => {
    const res = await createPod(
      podFrom(built.api, 'root', (spec) => {
        spec.securityContext.runAsUser = 0;
        delete spec.securityContext.runAsNonRoot;
        for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
          c.securityContext.runAsUser = 0;
          delete c.securityContext.runAsNonRoot;
        }
      }),
    );
    expect(res.status).toBe(403);
    expect(message(res)).toMatch(restrictedViolation);
    expect(message(res)).toMatch(
      /runAsNonRoot != true \(pod or containers? .*must set securityContext\.runAsNonRoot=true\)/,
    );
    expect(message(res)).toMatch(/runAsUser=0 \(pod and containers? .*must not set runAsUser=0\)/);
  });

  test('a pod with a host port is rejected, naming the violation', async () => {
    const res = await createPod(
      podFrom(built.api, 'host-port', (spec) => {
        spec.containers[0].ports[0].hostPort = 8080;
      }),
    );
    expect(res.status).toBe(403);
    expect(message(res)).toMatch(restrictedViolation);
    expect(message(res)).toContain('hostPort (container "api" uses hostPort 8080)');
  });

  test('the rejected pods were not stored; the admitted ones were', async () => {
    const pods = (await admin.json<{ items: Obj[] }>(`/api/v1/namespaces/${PROD}/pods`)).items;
    const own = pods
      .filter((p) => !p.metadata.ownerReferences)
      .map((p) => p.metadata.name)
      .sort();
    expect(own).toEqual(['api-as-pod', 'db-as-pod']);
  });

  test("the controllers' own pods of every workload pass admission too (stored, never scheduled)", async () => {
    // The controller manager's ReplicaSet and StatefulSet controllers create the pods through the
    // same admission chain; there is no scheduler, so they stay Pending with no node. The
    // StatefulSet (OrderedReady) creates db-0 only: db-1 waits for db-0 to become Ready.
    const expected: Array<[string, string, number]> = [
      [PROD, 'api', 2],
      [PROD, 'db', 1],
      [DEV, 'web', 1],
    ];
    for (const [ns, name, replicas] of expected) {
      const pods = await eventually(
        `${replicas} controller pods of ${ns}/${name}`,
        async () => {
          const items = (
            await admin.json<{ items: Obj[] }>(
              `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`hcb.dev/service-account=${name}`)}`,
            )
          ).items.filter((p) => p.metadata.ownerReferences?.length);
          return items.length === replicas ? items : undefined;
        },
        60_000,
      );
      for (const p of pods) {
        expect(p.spec.nodeName).toBeUndefined();
        expect(p.status.phase).toBe('Pending');
        expect(p.spec.serviceAccountName).toBe(name);
      }
    }
    for (const [ns, name, kind] of [
      [PROD, 'api', 'deployments'],
      [PROD, 'db', 'statefulsets'],
      [DEV, 'web', 'deployments'],
    ]) {
      const w = await admin.json<Obj>(`/apis/apps/v1/namespaces/${ns}/${kind}/${name}`);
      const failures = (w.status?.conditions ?? []).filter(
        (c: { type: string; status: string }) => c.type === 'ReplicaFailure' && c.status === 'True',
      );
      expect(failures).toEqual([]);
    }
  });

  test('a namespace with a baseline exception admits a root pod but still rejects privileged and host-port pods', async () => {
    await eventually('the default ServiceAccount of the baseline namespace', async () =>
      (await admin.get(`/api/v1/namespaces/${LEGACY}/serviceaccounts/default`)).status === 200 ? true : undefined,
    );
    const base = (name: string, sc: Record<string, unknown>, ports: unknown[] = []) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'c',
            image: `registry.example.com/batch/job${DIGEST}`,
            securityContext: sc,
            ports,
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          },
        ],
      },
    });
    const root = await admin.post(`/api/v1/namespaces/${LEGACY}/pods`, base('root', { runAsUser: 0 }));
    expect([root.status, message(root)]).toEqual([201, expect.any(String)]);
    const privileged = await admin.post(`/api/v1/namespaces/${LEGACY}/pods`, base('privileged', { privileged: true }));
    expect(privileged.status).toBe(403);
    expect(message(privileged)).toMatch(/violates PodSecurity "baseline:v1\.36": privileged/);
    const hostPort = await admin.post(
      `/api/v1/namespaces/${LEGACY}/pods`,
      base('host-port', {}, [{ containerPort: 80, hostPort: 8080 }]),
    );
    expect(hostPort.status).toBe(403);
    expect(message(hostPort)).toMatch(/violates PodSecurity "baseline:v1\.36": hostPort/);
  });
});

describe('RBAC through SubjectAccessReview', () => {
  interface Attrs {
    verb: string;
    resource: string;
    group?: string;
    namespace?: string;
    subresource?: string;
    name?: string;
  }
  type Who = { user: string; groups: string[] };
  const person = (u: UserIdentity): Who => ({ user: u.user, groups: [...(u.groups ?? []), 'system:authenticated'] });
  const serviceAccount = (ns: string, name: string): Who => ({
    user: `system:serviceaccount:${ns}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
  });

  async function allowed(who: Who, a: Attrs): Promise<boolean> {
    const res = await admin.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: who.user, groups: who.groups, resourceAttributes: { group: '', ...a } },
    });
    expect(res.status).toBe(201);
    const status = (JSON.parse(res.body) as { status?: { allowed?: boolean } }).status;
    expect(status).toBeDefined();
    return status!.allowed === true;
  }

  /** Asks every check and returns the ones whose answer differs from `expected`. */
  async function mismatches(who: Who, checks: Attrs[], expected: boolean): Promise<string[]> {
    const out: string[] = [];
    for (const c of checks) {
      if ((await allowed(who, c)) !== expected)
        out.push(
          `${who.user} ${c.verb} ${c.group ? `${c.group}/` : ''}${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.name ? ` ${c.name}` : ''} in ${c.namespace ?? '(cluster)'}: expected ${expected ? 'allowed' : 'denied'}`,
        );
    }
    return out;
  }

  const grid = (verbs: string[], resources: Array<[string, string]>, namespace: string): Attrs[] =>
    verbs.flatMap((verb) => resources.map(([group, resource]) => ({ verb, group, resource, namespace })));

  test('the namespace default ServiceAccount can do nothing', async () => {
    const checks = (ns: string) => [
      ...grid(
        ['get', 'list', 'watch', 'create'],
        [
          ['', 'pods'],
          ['', 'secrets'],
          ['', 'configmaps'],
          ['apps', 'deployments'],
          ['', 'serviceaccounts'],
        ],
        ns,
      ),
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', name: 'default', namespace: ns },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: ns },
    ];
    for (const ns of [DEV, PROD])
      expect(await mismatches(serviceAccount(ns, 'default'), checks(ns), false)).toEqual([]);
    // control: the same kind of review for the tenant's deployer ServiceAccount is answered yes
    expect(
      await mismatches(
        serviceAccount(PROD, 'shop-deployer'),
        [
          { verb: 'create', group: 'apps', resource: 'deployments', namespace: PROD },
          { verb: 'create', resource: 'secrets', namespace: PROD },
        ],
        true,
      ),
    ).toEqual([]);
  });

  test('the workload identity reads only its own ConfigMap', async () => {
    const sa = serviceAccount(PROD, 'api');
    expect(
      await mismatches(sa, [{ verb: 'get', resource: 'configmaps', name: 'api-config', namespace: PROD }], true),
    ).toEqual([]);
    expect(
      await mismatches(
        sa,
        [
          { verb: 'get', resource: 'configmaps', name: 'other', namespace: PROD },
          { verb: 'list', resource: 'configmaps', namespace: PROD },
          { verb: 'get', resource: 'secrets', name: 'api-db', namespace: PROD },
          { verb: 'get', resource: 'configmaps', name: 'api-config', namespace: DEV },
        ],
        false,
      ),
    ).toEqual([]);
  });

  test('viewer: reads workloads, never Secrets, changes nothing', async () => {
    for (const ns of [DEV, PROD]) {
      expect(
        await mismatches(
          person(VIEWER),
          [
            { verb: 'list', group: 'apps', resource: 'deployments', namespace: ns },
            { verb: 'list', resource: 'pods', namespace: ns },
            { verb: 'get', resource: 'pods', subresource: 'log', namespace: ns },
            { verb: 'list', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: ns },
          ],
          true,
        ),
      ).toEqual([]);
      expect(
        await mismatches(
          person(VIEWER),
          [
            ...grid(['get', 'list', 'watch'], [['', 'secrets']], ns),
            ...grid(
              ['create', 'patch', 'delete'],
              [
                ['apps', 'deployments'],
                ['', 'configmaps'],
                ['', 'pods'],
              ],
              ns,
            ),
            { verb: 'create', resource: 'pods', subresource: 'exec', namespace: ns },
          ],
          false,
        ),
      ).toEqual([]);
    }
    // nothing outside the tenant's namespaces
    expect(
      await mismatches(
        person(VIEWER),
        [
          { verb: 'list', resource: 'pods', namespace: 'kube-system' },
          { verb: 'list', resource: 'pods', namespace: LEGACY },
          { verb: 'list', resource: 'namespaces' },
        ],
        false,
      ),
    ).toEqual([]);
  });

  test('developer: changes workloads, never NetworkPolicies, Roles, RoleBindings, Secrets or exec', async () => {
    for (const who of [person(DEVELOPER), person(GROUP_DEVELOPER)]) {
      expect(
        await mismatches(
          who,
          [
            { verb: 'patch', group: 'apps', resource: 'deployments', namespace: PROD },
            { verb: 'create', group: 'apps', resource: 'statefulsets', namespace: PROD },
            { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: PROD },
            { verb: 'create', resource: 'configmaps', namespace: DEV },
          ],
          true,
        ),
      ).toEqual([]);
      expect(
        await mismatches(
          who,
          [
            ...grid(
              ['create', 'patch', 'update', 'delete'],
              [
                ['networking.k8s.io', 'networkpolicies'],
                ['rbac.authorization.k8s.io', 'roles'],
                ['rbac.authorization.k8s.io', 'rolebindings'],
                ['', 'resourcequotas'],
                ['', 'limitranges'],
              ],
              PROD,
            ),
            ...grid(['get', 'list', 'create'], [['', 'secrets']], PROD),
            { verb: 'create', resource: 'pods', subresource: 'exec', namespace: PROD },
            { verb: 'create', resource: 'pods', namespace: PROD },
          ],
          false,
        ),
      ).toEqual([]);
    }
    // control: someone outside the bound group cannot even do what the developer can
    expect(
      await mismatches(
        person(OUTSIDER),
        [{ verb: 'patch', group: 'apps', resource: 'deployments', namespace: PROD }],
        false,
      ),
    ).toEqual([]);
  });

  test('deployer: creates and deletes Secrets but cannot read, patch or update them', async () => {
    for (const who of [person(DEPLOYER), serviceAccount(PROD, 'shop-deployer')]) {
      expect(
        await mismatches(
          who,
          [
            { verb: 'create', resource: 'secrets', namespace: PROD },
            { verb: 'delete', resource: 'secrets', namespace: PROD },
            { verb: 'create', resource: 'serviceaccounts', namespace: PROD },
            { verb: 'patch', group: 'apps', resource: 'deployments', namespace: PROD },
          ],
          true,
        ),
      ).toEqual([]);
      expect(
        await mismatches(
          who,
          [
            ...grid(['get', 'list', 'watch', 'patch', 'update'], [['', 'secrets']], PROD),
            { verb: 'get', resource: 'secrets', name: 'shop-deployer-gitlab-main', namespace: PROD },
            {
              verb: 'create',
              resource: 'serviceaccounts',
              subresource: 'token',
              name: 'shop-deployer',
              namespace: PROD,
            },
            { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: PROD },
            { verb: 'create', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: PROD },
          ],
          false,
        ),
      ).toEqual([]);
    }
  });

  test('namespace-admin: manages Roles, RoleBindings and Secrets, without escalate, bind or impersonate', async () => {
    expect(
      await mismatches(
        person(NS_ADMIN),
        [
          { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: PROD },
          { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: PROD },
          { verb: 'get', resource: 'secrets', namespace: PROD },
          { verb: 'create', resource: 'pods', subresource: 'exec', namespace: PROD },
        ],
        true,
      ),
    ).toEqual([]);
    expect(
      await mismatches(
        person(NS_ADMIN),
        [
          ...grid(
            ['escalate', 'bind'],
            [
              ['rbac.authorization.k8s.io', 'roles'],
              ['rbac.authorization.k8s.io', 'clusterroles'],
            ],
            PROD,
          ),
          {
            verb: 'bind',
            group: 'rbac.authorization.k8s.io',
            resource: 'clusterroles',
            name: 'cluster-admin',
            namespace: PROD,
          },
          { verb: 'impersonate', resource: 'users', name: 'kubernetes-admin' },
          { verb: 'impersonate', resource: 'groups', name: 'system:masters' },
          { verb: 'impersonate', resource: 'serviceaccounts', name: 'shop-deployer', namespace: PROD },
          ...grid(
            ['create', 'patch', 'delete'],
            [
              ['networking.k8s.io', 'networkpolicies'],
              ['', 'resourcequotas'],
              ['', 'limitranges'],
            ],
            PROD,
          ),
          { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
          { verb: 'create', resource: 'namespaces' },
          { verb: 'get', resource: 'secrets', namespace: LEGACY },
        ],
        false,
      ),
    ).toEqual([]);
  });

  test('nobody tenant-side can create PersistentVolumes or StorageClasses; the storage admin can', async () => {
    const tenantSide = [
      person(VIEWER),
      person(DEVELOPER),
      person(GROUP_DEVELOPER),
      person(DEPLOYER),
      person(NS_ADMIN),
      serviceAccount(PROD, 'default'),
      serviceAccount(PROD, 'shop-deployer'),
      serviceAccount(PROD, 'api'),
      serviceAccount(PROD, 'db'),
    ];
    const storage: Attrs[] = [
      { verb: 'create', resource: 'persistentvolumes' },
      { verb: 'create', group: 'storage.k8s.io', resource: 'storageclasses' },
    ];
    for (const who of tenantSide) expect(await mismatches(who, storage, false)).toEqual([]);
    expect(await mismatches(person(STORAGE_ADMIN), storage, true)).toEqual([]);
  });

  test('the platform network admin can change NetworkPolicies in the tenant namespaces, and nothing else', async () => {
    for (const ns of [DEV, PROD]) {
      expect(
        await mismatches(
          person(NET_ADMIN),
          grid(['create', 'patch', 'delete'], [['networking.k8s.io', 'networkpolicies']], ns),
          true,
        ),
      ).toEqual([]);
    }
    expect(
      await mismatches(
        person(NET_ADMIN),
        [
          { verb: 'get', resource: 'secrets', namespace: PROD },
          { verb: 'create', resource: 'persistentvolumes' },
          { verb: 'patch', group: 'apps', resource: 'deployments', namespace: PROD },
        ],
        false,
      ),
    ).toEqual([]);
  });
});

describe('RBAC with real requests as tenant users (client certificates from the cluster CA)', () => {
  const as = (u: UserIdentity) => clientAs(cluster.rootfs, admin.serverUrl, u);
  const ns = `/api/v1/namespaces/${PROD}`;
  const apps = `/apis/apps/v1/namespaces/${PROD}`;
  const netpol = `/apis/networking.k8s.io/v1/namespaces/${PROD}/networkpolicies`;
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${PROD}`;
  const forbidden = (r: HttpResult, user: string, verb: string, resource: string) => {
    expect([r.status, message(r)]).toEqual([
      403,
      expect.stringContaining(`User "${user}" cannot ${verb} resource "${resource}"`),
    ]);
  };
  const status = (r: HttpResult) => [r.status, message(r)];

  test('an unbound user is authenticated by the minted certificate but may read nothing', async () => {
    const outsider = as(OUTSIDER);
    const who = await outsider.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    expect(who.status).toBe(201);
    expect(JSON.parse(who.body).status.userInfo).toMatchObject({
      username: OUTSIDER.user,
      groups: expect.arrayContaining(['elsewhere', 'system:authenticated']),
    });
    forbidden(await outsider.get(`${apps}/deployments`), OUTSIDER.user, 'list', 'deployments');
  });

  test('the viewer gets 403 on Secrets, 200 on deployments and pods', async () => {
    const viewer = as(VIEWER);
    forbidden(await viewer.get(`${ns}/secrets`), VIEWER.user, 'list', 'secrets');
    forbidden(await viewer.get(`${ns}/secrets/shop-deployer-gitlab-main`), VIEWER.user, 'get', 'secrets');
    const deployments = await viewer.get(`${apps}/deployments`);
    expect(status(deployments)).toEqual([200, expect.any(String)]);
    expect(JSON.parse(deployments.body).items.map((d: Obj) => d.metadata.name)).toEqual(['api']);
    expect((await viewer.get(`${ns}/pods`)).status).toBe(200);
    forbidden(
      await viewer.request(
        'PATCH',
        `${apps}/deployments/api`,
        { metadata: { annotations: { x: 'y' } } },
        'application/merge-patch+json',
      ),
      VIEWER.user,
      'patch',
      'deployments',
    );
  });

  test('the developer gets 403 on NetworkPolicies, Roles and RoleBindings, 200 on patching a Deployment', async () => {
    for (const dev of [DEVELOPER, GROUP_DEVELOPER]) {
      const client = as(dev);
      const policy = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: `allow-all-${dev.user}` },
        spec: { podSelector: {}, ingress: [{}], egress: [{}], policyTypes: ['Ingress', 'Egress'] },
      };
      forbidden(await client.post(netpol, policy), dev.user, 'create', 'networkpolicies');
      forbidden(
        await client.request(
          'PATCH',
          `${netpol}/hcb-default-deny`,
          { spec: { policyTypes: ['Ingress'] } },
          'application/merge-patch+json',
        ),
        dev.user,
        'patch',
        'networkpolicies',
      );
      forbidden(await client.delete(`${netpol}/hcb-default-deny`), dev.user, 'delete', 'networkpolicies');
      forbidden(
        await client.post(`${rbac}/roles`, {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: `r-${dev.user}` },
          rules: [],
        }),
        dev.user,
        'create',
        'roles',
      );
      forbidden(
        await client.post(`${rbac}/rolebindings`, {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: `rb-${dev.user}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'hcb-namespace-admin' },
          subjects: [{ kind: 'User', name: dev.user, apiGroup: 'rbac.authorization.k8s.io' }],
        }),
        dev.user,
        'create',
        'rolebindings',
      );
      forbidden(await client.get(`${ns}/secrets`), dev.user, 'list', 'secrets');
      // positive control: the same client patches the Deployment
      const patched = await client.request(
        'PATCH',
        `${apps}/deployments/api`,
        { metadata: { annotations: { [`patched-by-${dev.user}`]: 'yes' } } },
        'application/merge-patch+json',
      );
      expect(status(patched)).toEqual([200, expect.any(String)]);
    }
    const stored = await admin.json<Obj>(`${apps}/deployments/api`);
    expect(stored.metadata.annotations).toMatchObject({ 'patched-by-dan': 'yes', 'patched-by-erin': 'yes' });
    // the default deny is untouched
    const deny = await admin.json<Obj>(`${netpol}/hcb-default-deny`);
    expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  test('the deployer creates a Secret (201) but cannot read it back or patch it (403)', async () => {
    const deployer = as(DEPLOYER);
    const created = await deployer.post(`${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api-db' },
      stringData: { password: 'from-the-pipeline' },
    });
    expect(status(created)).toEqual([201, expect.any(String)]);
    forbidden(await deployer.get(`${ns}/secrets/api-db`), DEPLOYER.user, 'get', 'secrets');
    forbidden(await deployer.get(`${ns}/secrets`), DEPLOYER.user, 'list', 'secrets');
    // control: the Secret is there (read as admin)
    expect((await admin.get(`${ns}/secrets/api-db`)).status).toBe(200);
    // Patch and update are not granted: their responses carry the whole stored Secret, so
    // `PATCH {}` on somebody else's Secret would read it.
    const others = await admin.post(`${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'admin-only' },
      stringData: { password: 'not-for-deployers' },
    });
    expect(others.status).toBe(201);
    const echo = await deployer.request('PATCH', `${ns}/secrets/admin-only`, {}, 'application/merge-patch+json');
    forbidden(echo, DEPLOYER.user, 'patch', 'secrets');
    expect(echo.body).not.toContain(Buffer.from('not-for-deployers').toString('base64'));
    forbidden(
      await deployer.request('PUT', `${ns}/secrets/admin-only`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'admin-only' },
      }),
      DEPLOYER.user,
      'update',
      'secrets',
    );
    // control: the same merge patch from the admin is answered with the data
    const adminEcho = await admin.request('PATCH', `${ns}/secrets/admin-only`, {}, 'application/merge-patch+json');
    expect([adminEcho.status, JSON.parse(adminEcho.body).data?.password]).toEqual([
      200,
      Buffer.from('not-for-deployers').toString('base64'),
    ]);
    // rotation is delete and create; the delete answers with a Status, not the Secret
    const deleted = await deployer.delete(`${ns}/secrets/api-db`);
    expect([deleted.status, JSON.parse(deleted.body).kind]).toEqual([200, 'Status']);
    expect(deleted.body).not.toContain(Buffer.from('from-the-pipeline').toString('base64'));
    const recreated = await deployer.post(`${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'api-db' },
      stringData: { password: 'rotated' },
    });
    expect(status(recreated)).toEqual([201, expect.any(String)]);
  });

  test('the namespace admin cannot grant cluster-admin or more than it holds; it can grant what it holds', async () => {
    const nadia = as(NS_ADMIN);
    const binding = (name: string, kind: 'Role' | 'ClusterRole', role: string) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
      subjects: [{ kind: 'User', name: NS_ADMIN.user, apiGroup: 'rbac.authorization.k8s.io' }],
    });
    const escalation = /is attempting to grant RBAC permissions not currently held/;
    const toClusterAdmin = await nadia.post(
      `${rbac}/rolebindings`,
      binding('nadia-cluster-admin', 'ClusterRole', 'cluster-admin'),
    );
    expect(status(toClusterAdmin)).toEqual([403, expect.stringMatching(escalation)]);
    const toNetworkAdmin = await nadia.post(
      `${rbac}/rolebindings`,
      binding('nadia-net', 'ClusterRole', 'hcb:platform:network-admin'),
    );
    expect(status(toNetworkAdmin)).toEqual([403, expect.stringMatching(escalation)]);
    const wideRole = await nadia.post(`${rbac}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'netpol-writer' },
      rules: [
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'patch', 'delete'] },
      ],
    });
    expect(status(wideRole)).toEqual([403, expect.stringMatching(escalation)]);
    const widenOwn = await nadia.request(
      'PATCH',
      `${rbac}/roles/hcb-namespace-admin`,
      [{ op: 'add', path: '/rules/-', value: { apiGroups: ['*'], resources: ['*'], verbs: ['*'] } }],
      'application/json-patch+json',
    );
    expect(status(widenOwn)).toEqual([403, expect.stringMatching(escalation)]);
    const impersonating = await nadia.request('GET', `${ns}/secrets`, undefined, undefined, {
      'Impersonate-User': 'kubernetes-admin',
      'Impersonate-Group': 'system:masters',
    });
    // (1.36 answers with the constrained-impersonation verb, e.g. "impersonate-on:user-info:list")
    expect(status(impersonating)).toEqual([
      403,
      expect.stringMatching(new RegExp(`User "${NS_ADMIN.user}" cannot impersonate`)),
    ]);

    // positive controls: what she holds she may grant, and she reads Secrets herself
    const viewerBinding = await nadia.post(`${rbac}/rolebindings`, {
      ...binding('victor-viewer', 'Role', 'hcb-viewer'),
      subjects: [{ kind: 'User', name: 'victor', apiGroup: 'rbac.authorization.k8s.io' }],
    });
    expect(status(viewerBinding)).toEqual([201, expect.any(String)]);
    const narrowRole = await nadia.post(`${rbac}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'config-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
    });
    expect(status(narrowRole)).toEqual([201, expect.any(String)]);
    expect((await nadia.get(`${ns}/secrets`)).status).toBe(200);
    // control for the impersonation header: the admin may impersonate, and then acts as the viewer
    forbidden(
      await admin.request('GET', `${ns}/secrets`, undefined, undefined, { 'Impersonate-User': VIEWER.user }),
      VIEWER.user,
      'list',
      'secrets',
    );

    const own = await admin.json<Obj>(`${rbac}/roles/hcb-namespace-admin`);
    expect(JSON.stringify(own.rules)).not.toContain('*');
  });

  test('the platform network admin creates a NetworkPolicy (201) in a tenant namespace', async () => {
    const nick = as(NET_ADMIN);
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-monitoring' },
      spec: {
        podSelector: { matchLabels: { 'hcb.dev/service-account': 'api' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
            ports: [{ port: 9090, protocol: 'TCP' }],
          },
        ],
      },
    };
    expect(status(await nick.post(netpol, policy))).toEqual([201, expect.any(String)]);
    forbidden(await nick.get(`${ns}/secrets`), NET_ADMIN.user, 'list', 'secrets');
  });
});

describe("README's application example on the API server", () => {
  test("every object is accepted, and its workload's pods are admitted under Pod Security restricted", async () => {
    const readme = runReadmeExample() as Obj[];
    const results = await applyInOrder(readme);
    const expectedStatus = (o: Obj) => (o.kind === 'ServiceAccount' && o.metadata.name === 'default' ? 200 : 201);
    expect(
      results
        .filter((r) => r.status !== expectedStatus(r.obj))
        .map((r) => `${id(r.obj)}: HTTP ${r.status} ${message(r)}`),
    ).toEqual([]);
    expect(results).toHaveLength(readme.length);

    const deployment = readme.find((o) => o.kind === 'Deployment')!;
    const ns = deployment.metadata.namespace!;
    const enforce = (await admin.json<Obj>(`/api/v1/namespaces/${ns}`)).metadata.labels[
      'pod-security.kubernetes.io/enforce'
    ];
    expect(enforce).toBe('restricted');
    const template = deployment.spec.template;
    const pod = await admin.post(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'readme-api', labels: template.metadata.labels },
      spec: template.spec,
    });
    expect([pod.status, message(pod)]).toEqual([201, expect.any(String)]);
    // control: the same pod with one container made privileged is refused in that namespace
    const spec = JSON.parse(JSON.stringify(template.spec));
    Object.assign(spec.containers[0].securityContext, { privileged: true, allowPrivilegeEscalation: true });
    const privileged = await admin.post(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'readme-privileged' },
      spec,
    });
    expect([privileged.status, message(privileged)]).toEqual([
      403,
      expect.stringMatching(/violates PodSecurity "restricted:v1\.36": .*privileged/),
    ]);
    // and the Deployment controller's own pods pass admission
    await eventually(
      `the controller pods of ${ns}/${deployment.metadata.name}`,
      async () => {
        const items = (await admin.json<{ items: Obj[] }>(`/api/v1/namespaces/${ns}/pods`)).items.filter(
          (p) => p.metadata.ownerReferences?.length,
        );
        return items.length === deployment.spec.replicas ? items : undefined;
      },
      60_000,
    );
  });
});
