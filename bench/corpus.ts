/**
 * Deterministic benchmark corpora (not test fixtures): N Kubernetes objects that mix compliant and
 * non-compliant workloads of every kind (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod),
 * namespaces with and without their policies, RBAC, NetworkPolicies, Services and ConfigMaps, and
 * control-plane files (one set per 1,000 objects, alternating the blueprint's own control-plane
 * documents and test/fixtures/insecure's control-plane and node files). A fixed seed makes the same
 * N give the same bytes on every run and machine.
 *
 *   npx ts-node --transpile-only bench/corpus.ts N DIR
 */
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';

/** mulberry32: a tiny seeded PRNG, so corpora do not depend on Math.random. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SEED = 0x5eed1234;
const OBJECTS_PER_FILE = 250;
const CONTROL_PLANE_EVERY = 1000;

type Obj = Record<string, unknown>;

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod'] as const;
type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Faults a non-compliant workload carries (one to three of them). */
const FAULTS = [
  'privileged',
  'escalation',
  'root',
  'hostNetwork',
  'hostPID',
  'hostPath',
  'capAdd',
  'tagImage',
  'noResources',
  'secretEnv',
  'hostPort',
  'writableRoot',
  'seccompUnconfined',
  'automountToken',
] as const;
type Fault = (typeof FAULTS)[number];

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

function podSpec(ns: string, app: string, rand: () => number, faults: Set<Fault>, restartNever: boolean): Obj {
  const image = faults.has('tagImage')
    ? `registry.example.com/${ns}/${app}:1.${Math.floor(rand() * 20)}`
    : `registry.example.com/${ns}/${app}@sha256:${hex(rand, 64)}`;
  const container: Obj = {
    name: app,
    image,
    ports: [{ containerPort: 8080, name: 'http', ...(faults.has('hostPort') ? { hostPort: 80 } : {}) }],
    securityContext: {
      allowPrivilegeEscalation: faults.has('escalation') || faults.has('privileged'),
      privileged: faults.has('privileged'),
      readOnlyRootFilesystem: !faults.has('writableRoot'),
      ...(faults.has('root') ? { runAsUser: 0 } : { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 }),
      capabilities: faults.has('capAdd') ? { add: ['NET_ADMIN', 'SYS_ADMIN'] } : { drop: ['ALL'] },
    },
    ...(faults.has('noResources')
      ? {}
      : {
          resources: {
            requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '64Mi' },
            limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '256Mi' },
          },
        }),
    ...(faults.has('secretEnv')
      ? { env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${app}-db`, key: 'password' } } }] }
      : {}),
    ...(restartNever
      ? {}
      : {
          livenessProbe: { httpGet: { path: '/livez', port: 'http' }, periodSeconds: 10 },
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
        }),
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      ...(faults.has('hostPath') ? [{ name: 'host', mountPath: '/host' }] : []),
    ],
  };
  return {
    serviceAccountName: app,
    automountServiceAccountToken: faults.has('automountToken'),
    ...(faults.has('hostNetwork') ? { hostNetwork: true } : {}),
    ...(faults.has('hostPID') ? { hostPID: true } : {}),
    ...(restartNever ? { restartPolicy: 'Never' } : {}),
    securityContext: {
      ...(faults.has('root') ? {} : { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 }),
      seccompProfile: { type: faults.has('seccompUnconfined') ? 'Unconfined' : 'RuntimeDefault' },
    },
    containers: [container],
    volumes: [
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ...(faults.has('hostPath')
        ? [{ name: 'host', hostPath: { path: rand() < 0.5 ? '/' : '/var/run/docker.sock' } }]
        : []),
    ],
  };
}

function workload(kind: WorkloadKind, ns: string, i: number, rand: () => number, faults: Set<Fault>): Obj {
  const app = `${kind.toLowerCase()}-${i}`;
  const labels = { 'app.kubernetes.io/name': app };
  const meta = { name: app, namespace: ns, labels };
  const template = (never: boolean): Obj => ({ metadata: { labels }, spec: podSpec(ns, app, rand, faults, never) });
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata: meta, spec: podSpec(ns, app, rand, faults, false) };
    case 'Deployment':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: meta,
        spec: { replicas: 2, selector: { matchLabels: labels }, template: template(false) },
      };
    case 'StatefulSet':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: meta,
        spec: { replicas: 3, serviceName: app, selector: { matchLabels: labels }, template: template(false) },
      };
    case 'DaemonSet':
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: meta,
        spec: { selector: { matchLabels: labels }, template: template(false) },
      };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { backoffLimit: 2, template: template(true) } };
    case 'CronJob':
      return {
        apiVersion: 'batch/v1',
        kind,
        metadata: meta,
        spec: { schedule: '17 3 * * *', jobTemplate: { spec: { backoffLimit: 2, template: template(true) } } },
      };
  }
}

/** One tenant: a namespace, its policies (or not), RBAC, one workload of each kind, Services, a ConfigMap. */
function tenant(t: number, rand: () => number): Obj[] {
  const ns = `tenant-${String(t).padStart(5, '0')}`;
  const good = rand() < 0.6;
  const out: Obj[] = [];
  out.push({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: ns,
      labels: good
        ? {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'v1.36',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          }
        : rand() < 0.5
          ? { 'pod-security.kubernetes.io/enforce': 'privileged' }
          : { team: `t${t}` },
    },
  });
  if (good || rand() < 0.3) {
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-ingress', namespace: ns },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-egress', namespace: ns },
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    });
  }
  if (!good && rand() < 0.3) {
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-all', namespace: ns },
      spec: { podSelector: {}, ingress: [{}], egress: [{}], policyTypes: ['Ingress', 'Egress'] },
    });
  } else {
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-http-from-ingress', namespace: ns },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'deployment-0' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } }],
            ports: [{ port: 8080, protocol: 'TCP' }],
          },
        ],
      },
    });
  }
  if (good) {
    out.push({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'quota', namespace: ns },
      spec: {
        hard: {
          'requests.cpu': '8',
          'requests.memory': '16Gi',
          'limits.cpu': '16',
          'limits.memory': '32Gi',
          pods: '50',
        },
      },
    });
    out.push({
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'limits', namespace: ns },
      spec: {
        limits: [
          {
            type: 'Container',
            default: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
            defaultRequest: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '64Mi' },
            max: { cpu: '2', memory: '4Gi', 'ephemeral-storage': '4Gi' },
          },
        ],
      },
    });
    out.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns },
      automountServiceAccountToken: false,
    });
  }
  const wide = !good && rand() < 0.4;
  out.push({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'app-reader', namespace: ns },
    rules: wide
      ? [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]
      : [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
  });
  out.push({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'app-reader', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'app-reader' },
    subjects: [{ kind: 'ServiceAccount', name: !good && rand() < 0.5 ? 'default' : 'deployment-0', namespace: ns }],
  });
  out.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: ns },
    data: { LOG_LEVEL: 'info', FEATURES: `f${Math.floor(rand() * 1000)}` },
  });
  WORKLOAD_KINDS.forEach((kind, k) => {
    const faults = new Set<Fault>();
    if (!good || rand() < 0.3) {
      const n = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < n; f++) faults.add(FAULTS[Math.floor(rand() * FAULTS.length)]);
    }
    const w = workload(kind, ns, 0, rand, faults);
    out.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: (w.metadata as { name: string }).name, namespace: ns },
      automountServiceAccountToken: false,
    });
    out.push(w);
    if (k < 2) {
      out.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: (w.metadata as { name: string }).name, namespace: ns },
        spec: {
          selector: (w.metadata as { labels: Obj }).labels,
          ports: [{ name: 'http', port: 80, targetPort: 'http' }],
        },
      });
    }
  });
  return out;
}

function clusterRbac(c: number, rand: () => number): Obj[] {
  const bad = rand() < 0.4;
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `platform-${c}` },
      rules: bad
        ? [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]
        : [{ apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: ['get', 'list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `platform-${c}` },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: bad && rand() < 0.5 ? 'cluster-admin' : `platform-${c}`,
      },
      subjects: [{ kind: 'ServiceAccount', name: `platform-${c}`, namespace: 'kube-system' }],
    },
  ];
}

/** Multi-document YAML texts of a directory's .yaml files, in name order. */
function yamlTexts(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

const countDocs = (text: string): number => text.split(/^---[^\n]*$/m).filter((d) => /^kind:/m.test(d)).length;

export interface CorpusInfo {
  objects: number;
  files: number;
  bytes: number;
  controlPlaneSets: number;
}

/**
 * Writes an N-object corpus into `dir` (created; must not exist). `controlPlaneGood` is the text of
 * the blueprint's control-plane.yaml (from `hcb synth`); the insecure set is read from
 * test/fixtures/insecure/{control-plane,node}.
 */
export function writeCorpus(n: number, dir: string, controlPlaneGood: string, repo: string): CorpusInfo {
  fs.mkdirSync(dir, { recursive: false });
  const rand = prng(SEED);
  const badSet = [
    ...yamlTexts(path.join(repo, 'test/fixtures/insecure/control-plane')),
    ...yamlTexts(path.join(repo, 'test/fixtures/insecure/node')),
  ].join('\n---\n');
  const sets = [controlPlaneGood, badSet];
  const setDocs = sets.map(countDocs);
  let objects = 0;
  let files = 0;
  let manifestFiles = 0;
  let bytes = 0;
  let cpSets = 0;
  let pending: Obj[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
    const f = path.join(dir, `manifests-${String(manifestFiles++).padStart(4, '0')}.yaml`);
    fs.writeFileSync(f, text);
    bytes += Buffer.byteLength(text);
    files++;
    pending = [];
  };
  let t = 0;
  let nextControlPlane = 0;
  while (objects < n) {
    if (objects >= nextControlPlane && n - objects >= setDocs[cpSets % 2]) {
      const text = sets[cpSets % 2];
      fs.writeFileSync(path.join(dir, `control-plane-${String(cpSets).padStart(3, '0')}.yaml`), text);
      bytes += Buffer.byteLength(text);
      objects += setDocs[cpSets % 2];
      files++;
      cpSets++;
      nextControlPlane += CONTROL_PLANE_EVERY;
      continue;
    }
    const block = tenant(t, rand);
    if (t % 50 === 49) block.push(...clusterRbac(t, rand));
    t++;
    for (const o of block) {
      if (objects >= n) break;
      pending.push(o);
      objects++;
      if (pending.length >= OBJECTS_PER_FILE) flush();
    }
  }
  flush();
  return { objects, files, bytes, controlPlaneSets: cpSets };
}

if (require.main === module) {
  const [n, dir, cp] = process.argv.slice(2);
  if (!n || !dir || !cp) {
    process.stderr.write('usage: corpus.ts N DIR CONTROL-PLANE.yaml (from hcb synth)\n');
    process.exit(2);
  }
  const info = writeCorpus(Number(n), dir, fs.readFileSync(cp, 'utf8'), path.resolve(__dirname, '..'));
  process.stdout.write(`${JSON.stringify(info)}\n`);
}
