/**
 * External agreement (issue "Catalogue fidelity"): kubesec v2.14.2, built from its Go module as a
 * test-only checker, scores the insecure manifests and workloads the blueprint's constructs render.
 * Every rule kubesec reports on an object (its "critical" rules that match, and the "advise" rules a
 * workload does not meet) must be found by our catalogue too (the control
 * test/external/kubesec-review.yaml names fails on the same object), or carry a reviewed reason there.
 * An entry no kubesec report uses any more is stale and fails the test too.
 *
 * Offline: kubesec validates each object against Kubernetes JSON schemas (kubeconform) before it
 * scores it, and its default schema location is on the internet. `--schema-location` takes a local
 * path template (kubeconform registry: a location ending in "json" is used as given), so the test
 * writes a permissive schema (`{"type": "object"}`) for each kind it scans. Schema validation is no
 * part of the comparison: our loader and typed validation read the same objects; kubesec's scoring
 * rules run unchanged.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { parse as parseYaml, stringify } from 'yaml';
import { HardenedNamespace, HardenedWorkload, Probe } from '../../constructs';
import { CATALOGUE } from '../../policies/catalogue';
import { evaluate } from '../../policies/engine';
import { loadInputs } from '../../policies/input';
import { Document, KubeObject } from '../../policies/model';
import { tempDir, toolchainBin, REPO } from './support/env';

jest.setTimeout(180_000);

interface Review {
  /** Our control that fails on every object kubesec reports the rule for. */
  control?: string;
  /** Why we differ (the rule is not a requirement we check, or we check it differently). */
  reason?: string;
  /** With a reason: the control of ours that covers the same ground (checked to exist). */
  covers?: string;
  /**
   * With a control: why that control's not-applicable verdict on an object (a control-plane static
   * pod) is right where kubesec reports the rule. Only that verdict is accepted, never a pass.
   */
  notApplicable?: string;
}
const REVIEW_FILE = path.join(REPO, 'test/external/kubesec-review.yaml');
const REVIEW = parseYaml(fs.readFileSync(REVIEW_FILE, 'utf8')) as Record<string, Review>;

interface KubesecReport {
  object: string;
  valid: boolean;
  message: string;
  scoring?: { critical?: Array<{ id: string }>; advise?: Array<{ id: string }> };
}

interface Reported {
  rule: string;
  severity: 'critical' | 'advise';
  kind: string;
  name: string;
  namespace: string;
}

/** The workloads our constructs render (the shape of examples/app), as plain objects. */
function blueprintWorkloads(): KubeObject[] {
  const chart: Chart = Testing.chart();
  const ns = new HardenedNamespace(chart, 'shop', {
    app: 'shop',
    team: 'shop-team',
    environment: 'prod',
    protectionNeed: 'high',
    size: 'small',
  });
  for (const [id, protectionNeed] of [
    ['web', 'high'],
    ['worker', 'normal'],
  ] as const) {
    new HardenedWorkload(chart, id, {
      namespace: ns.namespaceName,
      protectionNeed,
      containers: [
        {
          name: id,
          image:
            'registry.example.com/shop/web@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0',
          ports: [{ number: 8080, name: 'http' }],
          liveness: Probe.fromHttpGet('/healthz'),
          readiness: Probe.fromHttpGet('/ready'),
          resources: { cpuRequest: '100m', cpuLimit: '500m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
          writablePaths: ['/tmp'],
        },
      ],
    });
  }
  return chart.toJson() as KubeObject[];
}

/** kubesec on the objects, offline: one YAML stream, permissive local schemas for their kinds. */
function kubesec(objects: readonly KubeObject[]): Reported[] {
  const dir = tempDir('kubesec');
  const schemas = path.join(dir, 'schemas');
  fs.mkdirSync(schemas);
  for (const kind of new Set(objects.map((o) => String(o.kind).toLowerCase())))
    fs.writeFileSync(path.join(schemas, `${kind}.json`), '{"type": "object"}\n');
  const input = path.join(dir, 'input.yaml');
  fs.writeFileSync(input, objects.map((o) => stringify(o)).join('---\n'));
  const res = spawnSync(
    path.join(toolchainBin(), 'kubesec'),
    ['scan', '--schema-location', `${schemas}/{{ .ResourceKind }}.json`, input],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  // kubesec exits 2 when an object scores 0 or less; anything else is a failure to run.
  if (res.status !== 0 && res.status !== 2) throw new Error(`kubesec exited ${res.status}: ${res.stderr}`);
  const reports = JSON.parse(res.stdout) as KubesecReport[];
  expect(reports).toHaveLength(objects.length);
  const out: Reported[] = [];
  for (const r of reports) {
    // Every object must have been scored or refused as an unsupported kind: an invalid report means
    // kubesec did not look at it (schema or parse problem), which would hide disagreements.
    expect([r.object, r.valid]).toEqual([r.object, true]);
    const slash = r.object.indexOf('/');
    const dot = r.object.lastIndexOf('.');
    const kind = r.object.slice(0, slash);
    const name = r.object.slice(slash + 1, dot);
    const namespace = r.object.slice(dot + 1);
    for (const c of r.scoring?.critical ?? []) out.push({ rule: c.id, severity: 'critical', kind, name, namespace });
    for (const a of r.scoring?.advise ?? []) out.push({ rule: a.id, severity: 'advise', kind, name, namespace });
  }
  return out;
}

function ourVerdicts(
  docs: readonly Document[],
): Array<{ control: string; status: string; kind?: string; name?: string; namespace: string }> {
  return evaluate(docs, { now: new Date('2026-06-01T00:00:00Z') })
    .filter((f) => f.status === 'fail' || f.status === 'not-applicable')
    .map((f) => ({
      control: f.control,
      status: f.status,
      kind: f.object?.kind,
      name: f.object?.name,
      namespace: f.object?.namespace ?? 'default',
    }));
}

const used = new Set<string>();

test('the review file names only real controls, and every entry has a control or a reason', () => {
  const ids = new Set(CATALOGUE.map((c) => c.id));
  for (const [rule, r] of Object.entries(REVIEW)) {
    expect([rule, Boolean(r.control) !== Boolean(r.reason)]).toEqual([rule, true]);
    if (r.control) expect([rule, ids.has(r.control)]).toEqual([rule, true]);
    if (r.covers) expect([rule, Boolean(r.reason), ids.has(r.covers)]).toEqual([rule, true, true]);
    if (r.notApplicable !== undefined)
      expect([rule, Boolean(r.control), r.notApplicable.length > 20]).toEqual([rule, true, true]);
  }
});

const INPUTS: Array<[string, () => Promise<Document[]>]> = [
  [
    'the insecure manifests',
    async () => {
      const base = path.join(REPO, 'test/fixtures/insecure');
      const loaded = await loadInputs(['apps', 'control-plane', 'rbac'].map((d) => path.join(base, d)));
      expect(loaded.errors).toEqual([]);
      return loaded.documents;
    },
  ],
  [
    "the workloads the blueprint's constructs render",
    async () => blueprintWorkloads().map((object) => ({ object, source: { file: 'blueprint' } })),
  ],
];

for (const [label, load] of INPUTS) {
  test(`every kubesec finding on ${label} is ours too, or reviewed`, async () => {
    const docs = await load();
    const theirs = kubesec(docs.map((d) => d.object));
    expect(theirs.length).toBeGreaterThan(0);
    const ours = ourVerdicts(docs);
    const unexplained: string[] = [];
    for (const t of theirs) {
      const r = REVIEW[t.rule];
      const what = `${t.rule} (${t.severity}) on ${t.kind} ${t.namespace}/${t.name}`;
      if (!r) {
        unexplained.push(`${what}: not in test/external/kubesec-review.yaml`);
        continue;
      }
      used.add(t.rule);
      if (r.reason) continue;
      const same = ours.filter(
        (o) => o.control === r.control && o.kind === t.kind && o.name === t.name && o.namespace === t.namespace,
      );
      const hit =
        same.some((o) => o.status === 'fail') ||
        (r.notApplicable !== undefined && same.some((o) => o.status === 'not-applicable'));
      if (!hit) unexplained.push(`${what}: kubesec reports it, ${r.control} does not fail there`);
    }
    expect(unexplained).toEqual([]);
  });
}

test('no review entry is stale (each is used by a kubesec report above)', () => {
  expect(Object.keys(REVIEW).filter((rule) => !used.has(rule))).toEqual([]);
});
