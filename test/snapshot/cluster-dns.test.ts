import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { ClusterDns } from '../../constructs';

test('ClusterDns: CoreDNS add-on objects', () => {
  const chart = Testing.chart();
  new ClusterDns(chart, 'cluster-dns', {
    image: `hcb.local/hcb/coredns@sha256:${'0123456789abcdef'.repeat(4)}`,
    clusterIP: '198.19.0.10',
    apiServerEndpoints: ['198.18.0.2/32'],
    apiServerPort: 6443,
    probeSources: ['198.18.16.1/32'],
  });
  expect(
    Testing.synth(chart)
      .map((doc) => stringify(doc))
      .join('---\n'),
  ).toMatchSnapshot();
});
