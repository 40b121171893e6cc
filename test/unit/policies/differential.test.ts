/**
 * Differential test: the synth-time verdict (policies/engine evaluate) and the verdict of the
 * Pulumi policy pack's pure core (policies/pack/violations.ts) agree on every fixture of every
 * control the ValidatingAdmissionPolicies enforce. The pack sees the fixture's objects the way
 * Pulumi hands them over (one stack resource per object, props as the object), so a difference
 * means the deploy-time gate and `hcb audit` disagree about the same manifests.
 *
 * The third verdict, the API server's with the rendered policies, is compared in
 * test/e2e/admission-differential.test.ts.
 */
import { ADMISSION_POLICY_CONTROLS } from '../../../constructs/admission/catalogue-admission-policies';
import { CATALOGUE } from '../../../policies/catalogue';
import { evaluate } from '../../../policies/engine';
import { Document, Finding, SEVERITIES } from '../../../policies/model';
import { packViolations, StackResource } from '../../../policies/pack/violations';
import { fixtureFiles, loadFixture } from './fixture-loader';

const NOW = new Date('2026-01-15T12:00:00Z');

/** Pulumi's type token of a Kubernetes object, e.g. kubernetes:apps/v1:Deployment. */
function typeToken(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  return `kubernetes:${group}/${version}:${kind}`;
}

function resources(docs: readonly Document[]): StackResource[] {
  return docs.map((d, i) => {
    const o = d.object;
    const type =
      typeof o.apiVersion === 'string' && typeof o.kind === 'string'
        ? typeToken(o.apiVersion, o.kind)
        : 'hcb:test:Unknown';
    return {
      type,
      urn: `urn:pulumi:test::fixtures::${type}::doc-${i}`,
      props: JSON.parse(JSON.stringify(o)) as Record<string, unknown>,
    };
  });
}

function subject(f: Finding): string {
  const o = f.object;
  if (!o) return '-';
  return o.path ?? [o.kind, o.namespace, o.name].filter((x) => x !== undefined).join('/');
}

/** Subjects the engine fails (or errors on) for the control, at or above the pack's default threshold. */
function synthVerdict(docs: Document[], controlId: string): string[] {
  const control = CATALOGUE.find((c) => c.id === controlId)!;
  const threshold = SEVERITIES.indexOf('low');
  return [
    ...new Set(
      evaluate(docs, { controls: [control], now: NOW })
        .filter((f) => f.status === 'error' || (f.status === 'fail' && SEVERITIES.indexOf(f.severity) <= threshold))
        .map(subject),
    ),
  ].sort();
}

function packVerdict(docs: Document[], controlId: string): string[] {
  return [
    ...new Set(
      packViolations(resources(docs), { now: NOW })
        .filter((v) => v.finding.control === controlId)
        .map((v) => subject(v.finding)),
    ),
  ].sort();
}

describe('synth verdict = policy pack verdict on the fixtures of every control with an admission rule', () => {
  it('covers every admission control with pass and fail fixtures', () => {
    expect(ADMISSION_POLICY_CONTROLS.length).toBeGreaterThanOrEqual(5);
    for (const id of ADMISSION_POLICY_CONTROLS) {
      expect({ id, pass: fixtureFiles(id, 'pass').length > 0, fail: fixtureFiles(id, 'fail').length > 0 }).toEqual({
        id,
        pass: true,
        fail: true,
      });
    }
  });

  for (const id of ADMISSION_POLICY_CONTROLS) {
    describe(id, () => {
      for (const kind of ['pass', 'fail'] as const) {
        for (const file of fixtureFiles(id, kind)) {
          it(`${kind}/${file.split('/').pop()}`, () => {
            const docs = loadFixture(file);
            const synth = synthVerdict(docs, id);
            expect(packVerdict(docs, id)).toEqual(synth);
            // the fixture is what it says: a fail fixture gives the pack something to block
            if (kind === 'fail') expect(synth.length).toBeGreaterThan(0);
            else expect(synth).toEqual([]);
          });
        }
      }
    });
  }
});
