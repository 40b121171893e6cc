// docs/constructs.md's platform chart / app chart example (moved there from README.md), taken from
// the document's text: the pipeline
// identity (deployer preset) can apply every object of the app chart, none of the platform
// chart's namespace-level objects, never reads Secrets or mints tokens, and both charts audit clean.
import * as fs from 'fs';
import * as path from 'path';
import { grantsOn, secretsReadProblem } from '../../../policies/checks/rbac-rules';
import { allowed as allowedBy, APPLY_VERBS, auditProblems, refused, rulesOfServiceAccount } from './deployer-rights';
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

describe('docs/constructs.md platform/app split', () => {
  const source = splitExampleSource();
  const objs = runReadmeExample(source);
  const chartOf = (o: Obj) => String(o.metadata?.annotations?.[PATH_ANNOTATION] ?? '').split('/')[0];
  const platform = objs.filter((o) => chartOf(o) === 'payments-platform');
  const appChart = objs.filter((o) => chartOf(o) === 'payments-app');

  // The rules the pipeline identity really holds: the Role bound to ServiceAccount payments-deployer.
  const { bindings: binding, role, rules } = rulesOfServiceAccount(platform, 'payments-prod', 'payments-deployer');
  const allowed = (kind: string, verb: string) => allowedBy(rules, kind, verb);

  test('the example type-checks and every object belongs to one of the two charts', () => {
    expect(typeCheckReadmeExample(source)).toEqual([]);
    expect(platform.length + appChart.length).toBe(objs.length);
    expect(appChart.length).toBeGreaterThan(0);
  });

  test('the pipeline identity is bound to the deployer preset in the namespace', () => {
    expect(binding).toHaveLength(1);
    expect(role?.metadata.labels['hcb.dev/access-preset']).toBe('deployer');
  });

  test("the app chart holds the workloads, Services and autoscalers, all in the deployer's namespace", () => {
    expect(appChart.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    for (const o of appChart) expect(o.metadata.namespace).toBe('payments-prod');
  });

  test.each(APPLY_VERBS)('the deployer preset may %s every object the app chart renders', (verb) => {
    expect(refused(appChart, rules, verb)).toEqual([]);
  });

  test("the platform chart holds what the deployer cannot apply, including the exposed workload's allow rule", () => {
    const kinds = new Set(platform.map((o) => o.kind));
    for (const kind of ['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy', 'Role', 'RoleBinding'])
      expect(kinds).toContain(kind);
    for (const kind of ['ResourceQuota', 'LimitRange', 'NetworkPolicy', 'Role', 'RoleBinding']) {
      for (const verb of ['create', 'update', 'patch'])
        expect([kind, verb, allowed(kind, verb)]).toEqual([kind, verb, false]);
    }
    const expose = platform.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'api-expose');
    expect(expose?.spec.podSelector).toEqual({ matchLabels: { 'hcb.dev/workload': 'api' } });
    expect(expose?.spec.ingress).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: {} },
        ],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  test('the deployer reads no Secret and mints no token', () => {
    expect(rules.map((r) => secretsReadProblem(r)).filter(Boolean)).toEqual([]);
    expect(rules.some((r) => grantsOn(r, '', 'serviceaccounts/token', ['create']).length > 0)).toBe(false);
    expect(rules.some((r) => grantsOn(r, '', 'secrets', ['patch', 'update']).length > 0)).toBe(false);
  });

  test('each chart audits clean on its own (no fail, no error)', () => {
    for (const [name, chart] of [
      ['platform', platform],
      ['app', appChart],
    ] as const)
      expect(auditProblems(name, chart)).toEqual([]);
  });
});
