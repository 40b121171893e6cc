/**
 * Issue 15: a field the catalogue reads, in a type the API server refuses to decode (a string or
 * a mapping where a bool belongs, a mapping where a list belongs, a string where an int belongs),
 * is an `error` naming file, line, object and field path, and no check sees the object.
 *
 * Fixtures: test/fixtures/input-types/*.yaml (see its README.md); unit cases for the schema
 * itself and for callers of the engine that do not go through the loader.
 */
import * as fs from 'fs';
import * as path from 'path';
import { evaluate } from '../../../policies/engine';
import { INPUT_PARSE_CONTROL, loadInputs, loadProblemsToFindings, parseText } from '../../../policies/input';
import { typeProblems } from '../../../policies/input/schema';
import { Document, Finding, KubeObject } from '../../../policies/model';
import { compareExpectations, parseExpectations, subjectOf } from './fixture-expectations';

const DIR = path.resolve(__dirname, '../../fixtures/input-types');
const NOW = new Date('2026-01-15T12:00:00Z');
const FIXTURES = fs
  .readdirSync(DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

async function audit(file: string): Promise<Finding[]> {
  const loaded = await loadInputs([file], { cwd: DIR });
  return [...loadProblemsToFindings(loaded.errors), ...evaluate(loaded.documents, { now: NOW })];
}

describe('input-types fixtures: wrongly typed fields are errors, never passes', () => {
  it('has fixtures', () => expect(FIXTURES.length).toBeGreaterThanOrEqual(10));

  for (const file of FIXTURES) {
    it(file, async () => {
      const text = fs.readFileSync(path.join(DIR, file), 'utf8');
      const controls = [...text.matchAll(/^#\s*control:\s*(\S+)\s*$/gm)].map((m) => m[1]);
      const expectations = parseExpectations(text, file);
      expect(expectations.filter((e) => e.status === 'error').length).toBeGreaterThan(0);
      const findings = await audit(file);
      const selected = findings.filter((f) => f.control === INPUT_PARSE_CONTROL || controls.includes(f.control));
      expect(compareExpectations(expectations, selected)).toEqual([]);
      // No control passes (or finds not applicable) an object that could not be decoded.
      const refused = new Set(findings.filter((f) => f.control === INPUT_PARSE_CONTROL).map(subjectOf));
      const judged = findings.filter(
        (f) => f.control !== INPUT_PARSE_CONTROL && f.object !== undefined && refused.has(subjectOf(f)),
      );
      expect(judged.map((f) => `${f.control} ${f.status} ${subjectOf(f)}`)).toEqual([]);
    });
  }
});

const pod = (securityContext: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'team-a' },
  spec: { containers: [{ name: 'c', image: 'x', securityContext }], ...spec },
});
const doc = (object: KubeObject, line = 1): Document => ({ object, source: { file: 'in.yaml', line } });

describe('the engine refuses wrongly typed documents from any caller', () => {
  const cases: [string, KubeObject, string, string][] = [
    [
      'privileged "true"',
      pod({ privileged: 'true' }),
      'HCB-WORKLOAD-PRIVILEGED',
      'spec.containers[0].securityContext.privileged is a string',
    ],
    ['privileged {}', pod({ privileged: {} }), 'HCB-WORKLOAD-PRIVILEGED', 'privileged is a mapping'],
    [
      'allowPrivilegeEscalation "false"',
      pod({ allowPrivilegeEscalation: 'false' }),
      'HCB-WORKLOAD-PRIVILEGE-ESCALATION',
      'allowPrivilegeEscalation is a string',
    ],
    [
      'runAsNonRoot "true"',
      pod({ runAsNonRoot: 'true', runAsUser: 1000 }),
      'HCB-WORKLOAD-RUN-AS-NON-ROOT',
      'runAsNonRoot is a string',
    ],
    [
      'runAsUser "1000"',
      pod({ runAsNonRoot: true, runAsUser: '1000' }),
      'HCB-WORKLOAD-RUN-AS-NON-ROOT',
      'runAsUser is a string where Kubernetes expects an integer (int64)',
    ],
    [
      'readOnlyRootFilesystem "true"',
      pod({ readOnlyRootFilesystem: 'true' }),
      'HCB-WORKLOAD-READ-ONLY-ROOT-FS',
      'readOnlyRootFilesystem is a string',
    ],
    [
      'drop as a map',
      pod({ capabilities: { drop: { ALL: true } } }),
      'HCB-WORKLOAD-CAPABILITIES',
      'capabilities.drop is a mapping where Kubernetes expects a list',
    ],
    [
      'hostNetwork "true"',
      pod({}, { hostNetwork: 'true' }),
      'HCB-WORKLOAD-HOST-NAMESPACES',
      'spec.hostNetwork is a string',
    ],
    ['hostPID {}', pod({}, { hostPID: { on: true } }), 'HCB-WORKLOAD-HOST-NAMESPACES', 'spec.hostPID is a mapping'],
    ['hostIPC "yes"', pod({}, { hostIPC: 'yes' }), 'HCB-WORKLOAD-HOST-NAMESPACES', 'spec.hostIPC is a string'],
    [
      'automount "false"',
      pod({}, { automountServiceAccountToken: 'false' }),
      'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT',
      'spec.automountServiceAccountToken is a string',
    ],
    [
      'containers as a map',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'team-a' },
        spec: { containers: { c: { image: 'x' } } },
      },
      'HCB-WORKLOAD-PRIVILEGED',
      'spec.containers is a mapping',
    ],
    [
      'hostPort "22"',
      pod({}, { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 22, hostPort: '22' }] }] }),
      'HCB-WORKLOAD-HOST-PORTS',
      'ports[0].hostPort is a string',
    ],
    [
      'containerPort 80.5',
      pod({}, { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80.5 }] }] }),
      'HCB-WORKLOAD-HOST-PORTS',
      'containerPort is a number with a fraction',
    ],
    [
      'rules as a map',
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'r' },
        rules: { verbs: ['*'], resources: ['*'], apiGroups: ['*'] },
      },
      'HCB-RBAC-NO-WILDCARDS',
      'rules is a mapping',
    ],
    [
      'subjects as a map',
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'b' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: { kind: 'Group', name: 'system:authenticated' },
      },
      'HCB-RBAC-CLUSTER-ADMIN-BINDINGS',
      'subjects is a mapping',
    ],
    [
      'SA automount "false"',
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: 'team-a' },
        automountServiceAccountToken: 'false',
      },
      'HCB-NAMESPACE-DEFAULT-SA-LOCKED',
      'automountServiceAccountToken is a string',
    ],
    [
      'NetworkPolicy ports as a map',
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'n', namespace: 'team-a' },
        spec: { podSelector: {}, ingress: [{ ports: { port: 80 } }] },
      },
      'HCB-NAMESPACE-DEFAULT-DENY-INGRESS',
      'spec.ingress[0].ports is a mapping',
    ],
  ];
  for (const [name, object, control, fragment] of cases) {
    it(name, () => {
      const findings = evaluate([doc(object, 7)], { now: NOW });
      const errors = findings.filter((f) => f.control === INPUT_PARSE_CONTROL);
      expect(errors).toHaveLength(1);
      expect(errors[0].status).toBe('error');
      expect(errors[0].message).toContain(fragment);
      expect(errors[0].message.startsWith('in.yaml:7: ')).toBe(true);
      expect(errors[0].object).toMatchObject({ kind: object.kind, file: 'in.yaml', line: 7 });
      // The control never judged the object: nothing in the input is its subject any more.
      const own = findings.filter((f) => f.control === control);
      expect(own.length).toBeGreaterThan(0);
      expect(own.filter((f) => f.object?.kind === object.kind && f.object?.name === object.metadata?.name)).toEqual([]);
    });
  }

  it('the same objects with their proper types are judged (the cases matter to the controls)', () => {
    const judged = (o: KubeObject, control: string): string[] =>
      evaluate([doc(o)], { now: NOW })
        .filter((f) => f.control === control)
        .map((f) => f.status);
    expect(judged(pod({ privileged: true }), 'HCB-WORKLOAD-PRIVILEGED')).toEqual(['fail']);
    expect(judged(pod({}, { hostNetwork: true }), 'HCB-WORKLOAD-HOST-NAMESPACES')).toEqual(['fail']);
    expect(
      judged(
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'r' },
          rules: [{ verbs: ['*'], resources: ['*'], apiGroups: ['*'] }],
        },
        'HCB-RBAC-NO-WILDCARDS',
      ),
    ).toEqual(['fail']);
  });
});

describe('typeProblems: what the API server decodes', () => {
  it('null is absent, integral floats are integers, IntOrString takes both, quantities take numbers', () => {
    expect(typeProblems(pod({ privileged: null, runAsUser: 1000.0, capabilities: { drop: null } }))).toEqual([]);
    expect(
      typeProblems(pod({}, { containers: [{ name: 'c', resources: { limits: { cpu: 1, memory: '1Gi' } } }] })),
    ).toEqual([]);
    const np = (port: unknown): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'n' },
      spec: { ingress: [{ ports: [{ port }] }] },
    });
    expect(typeProblems(np('http'))).toEqual([]);
    expect(typeProblems(np(8080))).toEqual([]);
    expect(typeProblems(np(true)).map((p) => p.field)).toEqual(['spec.ingress[0].ports[0].port']);
    expect(
      typeProblems(pod({}, { containers: [{ name: 'c', resources: { limits: { cpu: true } } }] })).map((p) => p.field),
    ).toEqual(['spec.containers[0].resources.limits.cpu']);
  });

  it('int32 and int64 bounds as Go ParseInt and OverflowInt check them', () => {
    const port = (n: number): KubeObject => pod({}, { containers: [{ name: 'c', ports: [{ containerPort: n }] }] });
    expect(typeProblems(port(2 ** 31 - 1))).toEqual([]);
    expect(typeProblems(port(2 ** 31))).toHaveLength(1);
    expect(typeProblems(port(-(2 ** 31)))).toEqual([]);
    expect(typeProblems(pod({ runAsUser: 2 ** 40 }))).toEqual([]);
    expect(typeProblems(pod({ runAsUser: 2 ** 64 }))).toHaveLength(1);
  });

  it('only built-in kinds of their own group (or without apiVersion) are validated', () => {
    const calico = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'NetworkPolicy',
      metadata: { name: 'n' },
      spec: { ingress: { action: 'Allow' } },
    };
    expect(typeProblems(calico)).toEqual([]);
    expect(typeProblems({ ...calico, apiVersion: 'networking.k8s.io/v1' })).toHaveLength(1);
    expect(typeProblems({ ...calico, apiVersion: undefined })).toHaveLength(1);
    expect(typeProblems({ apiVersion: 'example.com/v1', kind: 'Pod', spec: { hostNetwork: 'true' } })).toEqual([]);
  });

  it('names the type of a value, never its content', () => {
    const [p] = typeProblems(pod({ privileged: 'hunter2-secret' }));
    expect(JSON.stringify(p)).not.toContain('hunter2');
    expect(p.found).toBe('a string');
  });

  it('stops after a bounded number of problems', () => {
    const many = pod(
      {},
      {
        containers: Array.from({ length: 5000 }, (_, i) => ({
          name: `c${i}`,
          securityContext: { privileged: 'true' },
        })),
      },
    );
    const problems = typeProblems(many);
    expect(problems.length).toBeLessThanOrEqual(11);
    expect(evaluate([doc(many)], { now: NOW }).find((f) => f.control === INPUT_PARSE_CONTROL)?.message).toContain(
      'and more',
    );
  });
});

describe('the loader names the line of the wrongly typed field', () => {
  it('YAML: the field line, the document stays out, the others load', () => {
    const text =
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      privileged: "true"\n';
    const r = parseText(text, 'in.yaml');
    expect(r.documents.map((d) => d.object.kind)).toEqual(['Namespace']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      file: 'in.yaml',
      line: 13,
      subject: { kind: 'Pod', namespace: 'a', name: 'p' },
    });
    expect(r.errors[0].message).toContain('Pod a/p: spec.containers[0].securityContext.privileged is a string');
  });

  it('JSON: a JSON string for a bool field is refused', () => {
    const text = JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', securityContext: { privileged: 'true' } }] },
      },
      null,
      2,
    );
    const r = parseText(text, 'in.json');
    expect(r.documents).toEqual([]);
    expect(r.errors[0].line).toBe(text.split('\n').findIndex((l) => l.includes('"privileged"')) + 1);
  });

  it('a value merged in through << is reported at the mapping it was merged into', () => {
    const text =
      'x: &sc {privileged: "true"}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    securityContext:\n      <<: {privileged: "true"}\n';
    const r = parseText(text, 'in.yaml');
    const e = r.errors.find((x) => x.subject?.kind === 'Pod');
    expect(e?.line).toBe(10);
    expect(e?.message).toContain('spec.containers[0].securityContext.privileged is a string');
  });

  it('a List item is checked like a document of its own', () => {
    const text =
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: s, namespace: a}\n  automountServiceAccountToken: "false"\n';
    const r = parseText(text, 'in.yaml');
    expect(r.documents).toEqual([]);
    expect(r.errors).toMatchObject([{ line: 7, subject: { kind: 'ServiceAccount', name: 's' } }]);
  });
});
