/**
 * External agreement (issue "Catalogue fidelity"): kube-score, built from its Go module as a test-only
 * checker, runs on the insecure manifests and on the blueprint's own output. Every problem it finds must
 * be found by our catalogue too (the control test/external/kube-score-review.yaml names, on the same
 * object or in the same namespace), or carry a reviewed reason in that file.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { CATALOGUE } from '../../policies/catalogue';
import { evaluate } from '../../policies/engine';
import { loadInputs } from '../../policies/input';
import { tempDir, toolchainBin, REPO } from './support/env';

jest.setTimeout(180_000);

interface Review {
  control?: string;
  scope?: 'object' | 'namespace';
  reason?: string;
  note?: string;
}
const REVIEW = parseYaml(fs.readFileSync(path.join(REPO, 'test/external/kube-score-review.yaml'), 'utf8')) as Record<
  string,
  Review
>;

interface KubeScoreObject {
  type_meta: { kind: string };
  object_meta: { name: string; namespace?: string };
  checks: Array<{ check: { id: string }; grade: number; skipped: boolean }>;
}

function kubeScore(files: string[]): Array<{ kind: string; name: string; namespace?: string; check: string }> {
  let out: string;
  try {
    out = execFileSync(path.join(toolchainBin(), 'kube-score'), ['score', '--output-format', 'json', ...files], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e: any) {
    out = e.stdout; // kube-score exits non-zero when something is critical
  }
  const objects = JSON.parse(out) as KubeScoreObject[];
  return objects.flatMap((o) =>
    o.checks
      .filter((c) => !c.skipped && c.grade < 10)
      .map((c) => ({
        kind: o.type_meta.kind,
        name: o.object_meta.name,
        namespace: o.object_meta.namespace,
        check: c.check.id,
      })),
  );
}

async function ourFailures(
  files: string[],
): Promise<Array<{ control: string; kind?: string; name?: string; namespace?: string }>> {
  const loaded = await loadInputs(files);
  return evaluate(loaded.documents, { now: new Date('2026-06-01T00:00:00Z') })
    .filter((f) => f.status === 'fail')
    .map((f) => ({ control: f.control, kind: f.object?.kind, name: f.object?.name, namespace: f.object?.namespace }));
}

test('the review file names only real controls, and every entry has a control or a reason', () => {
  const ids = new Set(CATALOGUE.map((c) => c.id));
  for (const [check, r] of Object.entries(REVIEW)) {
    expect([check, Boolean(r.control) !== Boolean(r.reason)]).toEqual([check, true]);
    if (r.control) expect([check, ids.has(r.control)]).toEqual([check, true]);
  }
});

for (const [label, inputs] of [
  [
    'the insecure manifests',
    () =>
      fs
        .readdirSync(path.join(REPO, 'test/fixtures/insecure/apps'))
        .map((f) => path.join(REPO, 'test/fixtures/insecure/apps', f)),
  ],
  [
    "the blueprint's own output",
    () => {
      const out = path.join(tempDir('kube-score'), 'synth');
      execFileSync(
        process.execPath,
        [
          '-r',
          'ts-node/register/transpile-only',
          path.join(REPO, 'cli/main.ts'),
          'synth',
          '--out',
          out,
          '--namespace',
          'team-a',
          '--namespace',
          'team-b',
        ],
        { cwd: REPO, stdio: 'ignore' },
      );
      return [path.join(out, 'cluster.yaml')];
    },
  ],
] as const) {
  test(`every kube-score finding on ${label} is ours too, or reviewed`, async () => {
    const files = inputs();
    const theirs = kubeScore(files);
    expect(theirs.length).toBeGreaterThan(0);
    const ours = await ourFailures(files);
    const unexplained: string[] = [];
    for (const t of theirs) {
      const r = REVIEW[t.check];
      if (!r) {
        unexplained.push(
          `${t.check} on ${t.kind} ${t.namespace ?? ''}/${t.name}: not in test/external/kube-score-review.yaml`,
        );
        continue;
      }
      if (r.reason) continue;
      const hit = ours.some(
        (o) =>
          o.control === r.control &&
          (r.scope === 'namespace'
            ? o.namespace === t.namespace || (o.kind === 'Namespace' && o.name === t.namespace)
            : o.name === t.name && o.namespace === t.namespace),
      );
      if (!hit)
        unexplained.push(
          `${t.check} on ${t.kind} ${t.namespace ?? ''}/${t.name}: kube-score fails it, ${r.control} does not`,
        );
    }
    expect(unexplained).toEqual([]);
  });
}
