// docs/constructs.md's platform chart / app chart example (moved there from README.md), taken from
// the document's text: the pipeline
// identity (deployer preset) can apply every object of the app chart, none of the platform
// chart's namespace-level objects, never reads Secrets or mints tokens, and both charts audit clean.
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { evaluate, parseText } from '../../../policies';
import { grantsOn, secretsReadProblem } from '../../../policies/checks/rbac-rules';
import { runReadmeExample, typeCheckReadmeExample } from './readme-example';

jest.setTimeout(120_000);

const DOC = 'docs/constructs.md';
const HEADING = '## Give a pipeline access: platform chart and app chart';
const PATH_ANNOTATION = 'hcb.dev/construct-path';

function splitExampleSource(): string {
  const doc = fs.readFileSync(path.resolve(__dirname, '../../..', DOC), 'utf8');
  const start = doc.indexOf(HEADING);
  if (start < 0) throw new Error(`${DOC} has no section "${HEADING}"`);
  const next = doc.indexOf('\n## ', start + HEADING.length);
  const m = /```ts\n([\s\S]*?)```/.exec(doc.slice(start, next < 0 ? undefined : next));
  if (!m) throw new Error(`${DOC} section "${HEADING}" has no \`\`\`ts block`);
  return m[1];
}

type Obj = Record<string, any>;

/** The API resource (group, plural) of each kind an app chart may render. A new kind must be added here, so it gets checked. */
const RESOURCES: Record<string, [string, string]> = {
  Deployment: ['apps', 'deployments'],
  StatefulSet: ['apps', 'statefulsets'],
  Service: ['', 'services'],
  ServiceAccount: ['', 'serviceaccounts'],
  ConfigMap: ['', 'configmaps'],
  PersistentVolumeClaim: ['', 'persistentvolumeclaims'],
  PodDisruptionBudget: ['policy', 'poddisruptionbudgets'],
  HorizontalPodAutoscaler: ['autoscaling', 'horizontalpodautoscalers'],
  CronJob: ['batch', 'cronjobs'],
  Job: ['batch', 'jobs'],
  Ingress: ['networking.k8s.io', 'ingresses'],
  NetworkPolicy: ['networking.k8s.io', 'networkpolicies'],
  Role: ['rbac.authorization.k8s.io', 'roles'],
  RoleBinding: ['rbac.authorization.k8s.io', 'rolebindings'],
  ResourceQuota: ['', 'resourcequotas'],
  LimitRange: ['', 'limitranges'],
};

// What `kubectl apply` (client- and server-side) and Pulumi's Kubernetes provider send.
const APPLY_VERBS = ['get', 'create', 'update', 'patch', 'delete'];

describe('docs/constructs.md platform/app split', () => {
  const source = splitExampleSource();
  const objs = runReadmeExample(source);
  const chartOf = (o: Obj) => String(o.metadata?.annotations?.[PATH_ANNOTATION] ?? '').split('/')[0];
  const platform = objs.filter((o) => chartOf(o) === 'payments-platform');
  const appChart = objs.filter((o) => chartOf(o) === 'payments-app');

  // The rules the pipeline identity really holds: the Role bound to ServiceAccount payments-deployer.
  const binding = platform.filter((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'payments-prod'
    && (o.subjects ?? []).some((s: Obj) => s.kind === 'ServiceAccount' && s.name === 'payments-deployer'));
  const role = platform.find((o) => o.kind === 'Role' && o.metadata.namespace === 'payments-prod' && o.metadata.name === binding[0]?.roleRef?.name);
  const rules: Obj[] = role?.rules ?? [];
  const allowed = (kind: string, verb: string) => {
    const [group, resource] = RESOURCES[kind];
    return rules.some((r) => grantsOn(r, group, resource, [verb]).length > 0);
  };

  test('the example type-checks and every object belongs to one of the two charts', () => {
    expect(typeCheckReadmeExample(source)).toEqual([]);
    expect(platform.length + appChart.length).toBe(objs.length);
    expect(appChart.length).toBeGreaterThan(0);
  });

  test('the pipeline identity is bound to the deployer preset in the namespace', () => {
    expect(binding).toHaveLength(1);
    expect(role?.metadata.labels['hcb.dev/access-preset']).toBe('deployer');
  });

  test('the app chart holds the workloads, Services and autoscalers, all in the deployer\'s namespace', () => {
    expect(appChart.map((o) => o.kind).sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    for (const o of appChart) expect(o.metadata.namespace).toBe('payments-prod');
  });

  test.each(APPLY_VERBS)('the deployer preset may %s every object the app chart renders', (verb) => {
    const refused = appChart.filter((o) => {
      if (!(o.kind in RESOURCES)) throw new Error(`the app chart renders ${o.kind}: add its resource to RESOURCES so the deployer's rights are checked`);
      return !allowed(o.kind, verb);
    }).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(refused).toEqual([]);
  });

  test('the platform chart holds what the deployer cannot apply, including the exposed workload\'s allow rule', () => {
    const kinds = new Set(platform.map((o) => o.kind));
    for (const kind of ['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy', 'Role', 'RoleBinding']) expect(kinds).toContain(kind);
    for (const kind of ['ResourceQuota', 'LimitRange', 'NetworkPolicy', 'Role', 'RoleBinding']) {
      for (const verb of ['create', 'update', 'patch']) expect([kind, verb, allowed(kind, verb)]).toEqual([kind, verb, false]);
    }
    const expose = platform.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'api-expose');
    expect(expose?.spec.podSelector).toEqual({ matchLabels: { 'hcb.dev/workload': 'api' } });
    expect(expose?.spec.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: {} }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    }]);
  });

  test('the deployer reads no Secret and mints no token', () => {
    expect(rules.map((r) => secretsReadProblem(r)).filter(Boolean)).toEqual([]);
    expect(rules.some((r) => grantsOn(r, '', 'serviceaccounts/token', ['create']).length > 0)).toBe(false);
    expect(rules.some((r) => grantsOn(r, '', 'secrets', ['patch', 'update']).length > 0)).toBe(false);
  });

  test('each chart audits clean on its own (no fail, no error)', () => {
    for (const [name, chart] of [['platform', platform], ['app', appChart]] as const) {
      const parsed = parseText(chart.map((o) => stringify(o)).join('---\n'), `${name}.k8s.yaml`);
      expect(parsed.errors).toEqual([]);
      const bad = evaluate(parsed.documents, { now: new Date('2026-11-29T00:00:00Z') })
        .filter((f) => f.status === 'fail' || f.status === 'error')
        .map((f) => `${name}: ${f.control} ${f.object?.kind}/${f.object?.name}: ${f.message}`);
      expect(bad).toEqual([]);
    }
  });
});
