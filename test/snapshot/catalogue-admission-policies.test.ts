import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { CatalogueAdmissionPolicies } from '../../constructs';

function synthYaml(build: (chart: ReturnType<typeof Testing.chart>) => void): string {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart)
    .map((doc) => stringify(doc, { sortMapEntries: false }))
    .join('---\n');
}

describe('CatalogueAdmissionPolicies snapshot', () => {
  test('defaults: every admission control, enforced', () => {
    expect(
      synthYaml((chart) => new CatalogueAdmissionPolicies(chart, 'admission', { evaluationDate: '2026-06-01' })),
    ).toMatchSnapshot();
  });

  test('dry-run, two controls, one namespace excepted', () => {
    expect(
      synthYaml(
        (chart) =>
          new CatalogueAdmissionPolicies(chart, 'admission', {
            mode: 'dry-run',
            controls: ['HCB-WORKLOAD-SECRETS-IN-ENV', 'HCB-NAMESPACE-NO-DEFAULT-OBJECTS'],
            exceptions: [
              {
                control: 'HCB-WORKLOAD-SECRETS-IN-ENV',
                scope: { namespace: 'legacy' },
                justification: 'migration in progress',
                owner: 'team-a',
                expires: '2026-12-31',
              },
            ],
            evaluationDate: '2026-06-01',
          }),
      ),
    ).toMatchSnapshot();
  });

  test('per-control layout, two controls', () => {
    expect(
      synthYaml(
        (chart) =>
          new CatalogueAdmissionPolicies(chart, 'admission', {
            layout: 'per-control',
            controls: ['HCB-WORKLOAD-PRIVILEGED', 'HCB-RBAC-NO-WILDCARDS'],
            evaluationDate: '2026-06-01',
          }),
      ),
    ).toMatchSnapshot();
  });
});
