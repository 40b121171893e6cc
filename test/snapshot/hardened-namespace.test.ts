import { Chart, Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { HardenedNamespace } from '../../constructs';

function synthYaml(build: (chart: Chart) => void): string {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart)
    .map((doc) => stringify(doc, { sortMapEntries: false }))
    .join('---\n');
}

describe('HardenedNamespace snapshot', () => {
  test('defaults', () => {
    expect(synthYaml((chart) => new HardenedNamespace(chart, 'payments'))).toMatchSnapshot();
  });

  test('sized, labelled, with a baseline exception', () => {
    expect(
      synthYaml(
        (chart) =>
          new HardenedNamespace(chart, 'Payments', {
            name: 'payments-prod',
            app: 'payments',
            protectionNeed: 'high',
            team: 'team-a',
            environment: 'prod',
            size: 'medium',
            quota: { pods: 30 },
            podSecurityException: {
              level: 'baseline',
              justification: 'legacy agent needs NET_RAW',
              owner: 'team-a',
              expires: '2999-12-31',
              ticket: 'SEC-1',
            },
          }),
      ),
    ).toMatchSnapshot();
  });
});
