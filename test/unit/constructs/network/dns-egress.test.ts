/**
 * The namespace's DNS egress rule opens UDP/TCP 53 to the cluster DNS pods only: a namespace
 * selector AND a pod selector in one peer (never port 53 to any address, which would let a pod
 * use an outside resolver, or tunnel data through DNS, past the default deny).
 */
import { DnsEgressNetworkPolicy, HardenedNamespace } from '../../../../constructs';
import { one, propError, synth } from '../helpers';

const DNS_PORTS = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];

describe('DnsEgressNetworkPolicy', () => {
  test('one egress rule: port 53 to the DNS pods of the DNS namespace, no ipBlock, no open peer', () => {
    const np = one(
      synth((chart) => new DnsEgressNetworkPolicy(chart, 'dns', { namespace: 'shop' })),
      'NetworkPolicy',
      'hcb-allow-dns',
    );
    expect(np.spec).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: DNS_PORTS,
        },
      ],
    });
  });

  test('a custom in-cluster resolver: its namespace and pod labels, still both selectors', () => {
    const np = one(
      synth(
        (chart) =>
          new DnsEgressNetworkPolicy(chart, 'dns', {
            namespace: 'shop',
            dnsNamespace: 'dns',
            dnsPodLabels: { app: 'unbound' },
          }),
      ),
      'NetworkPolicy',
    );
    expect(np.spec.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } },
            podSelector: { matchLabels: { app: 'unbound' } },
          },
        ],
        ports: DNS_PORTS,
      },
    ]);
  });

  test('refuses empty DNS pod labels (every pod of the DNS namespace on 53), on the construct and through HardenedNamespace', () => {
    const direct = propError(() =>
      synth((chart) => new DnsEgressNetworkPolicy(chart, 'dns', { namespace: 'shop', dnsPodLabels: {} })),
    );
    expect(direct.message).toMatch(
      /prop "dnsPodLabels" = \{\} is invalid: selects every pod of the DNS namespace, not the DNS pods/,
    );
    const viaNamespace = propError(() =>
      synth((chart) => new HardenedNamespace(chart, 'ns', { name: 'shop', dnsPodLabels: {} })),
    );
    expect(viaNamespace.message).toMatch(/dnsPodLabels/);
  });
});
