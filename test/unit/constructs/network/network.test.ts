import {
  AllowInNamespaceTraffic,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PodSelection,
} from '../../../../constructs';
import { parseCidr, cidrStrictlyContains } from '../../../../constructs/network/cidr';
import { one, propError, synth } from '../helpers';

describe('NetworkAllowPolicy', () => {
  test('renders typed peers and ports, only the directions asked for', () => {
    const out = synth(
      (chart) =>
        new NetworkAllowPolicy(chart, 'allow-web', {
          namespace: 'shop',
          appliesTo: PodSelection.labels({ app: 'web' }),
          ingress: [
            { peers: [NetworkPeer.namespace('ingress-nginx')], ports: [NetworkPort.tcp(8080)] },
            { peers: [NetworkPeer.pods({ app: 'monitor' }, 'monitoring')], ports: [NetworkPort.named('metrics')] },
          ],
        }),
    );
    const np = one(out, 'NetworkPolicy', 'allow-web');
    expect(np.metadata.namespace).toBe('shop');
    expect(np.metadata.annotations['hcb.dev/construct-path']).toBe('test/allow-web/Resource');
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.egress).toBeUndefined();
    expect(np.spec.podSelector).toEqual({ matchLabels: { app: 'web' } });
    expect(np.spec.ingress).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: {} },
        ],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { app: 'monitor' } },
          },
        ],
        ports: [{ protocol: 'TCP', port: 'metrics' }],
      },
    ]);
  });

  test('egress to CIDR with holes, to the API server, port ranges', () => {
    const out = synth(
      (chart) =>
        new NetworkAllowPolicy(chart, 'p', {
          namespace: 'shop',
          name: 'egress-out',
          egress: [
            {
              peers: [NetworkPeer.cidr('10.0.0.0/8', ['10.96.0.0/12'])],
              ports: [NetworkPort.tcp(443), NetworkPort.udpRange(3000, 3010)],
            },
            { peers: [NetworkPeer.apiServer(['192.168.1.10/32', 'fd00::1/128'])], ports: [NetworkPort.tcp(6443)] },
          ],
        }),
    );
    const np = one(out, 'NetworkPolicy', 'egress-out');
    expect(np.spec.policyTypes).toEqual(['Egress']);
    expect(np.spec.egress[0]).toEqual({
      to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] } }],
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'UDP', port: 3000, endPort: 3010 },
      ],
    });
    expect(np.spec.egress[1].to).toEqual([
      { ipBlock: { cidr: '192.168.1.10/32' } },
      { ipBlock: { cidr: 'fd00::1/128' } },
    ]);
  });

  test('anyPort must be explicit and renders no ports', () => {
    const out = synth(
      (chart) =>
        new NetworkAllowPolicy(chart, 'p', {
          namespace: 'shop',
          name: 'any',
          ingress: [{ peers: [NetworkPeer.allPodsInNamespace()], anyPort: true }],
        }),
    );
    expect(one(out, 'NetworkPolicy').spec.ingress).toEqual([{ from: [{ podSelector: {} }] }]);
  });

  test.each([
    [{ ingress: [] }, 'ingress'],
    [{ ingress: [{ peers: [], ports: [NetworkPort.tcp(80)] }] }, 'ingress[0].peers'],
    [{ ingress: [{ peers: [NetworkPeer.namespace('a')] }] }, 'ingress[0].ports'],
    [
      { ingress: [{ peers: [NetworkPeer.namespace('a')], ports: [NetworkPort.tcp(80)], anyPort: true }] },
      'ingress[0].anyPort',
    ],
    [
      { ingress: [{ peers: [NetworkPeer.namespace('A')], ports: [NetworkPort.tcp(80)] }] },
      'ingress[0].peers[0].namespace',
    ],
    [{ ingress: [{ peers: [NetworkPeer.pods({})], ports: [NetworkPort.tcp(80)] }] }, 'ingress[0].peers[0].labels'],
    [{ ingress: [{ peers: [NetworkPeer.namespace('a')], ports: [NetworkPort.tcp(0)] }] }, 'ingress[0].ports[0]'],
    [{ ingress: [{ peers: [NetworkPeer.namespace('a')], ports: [NetworkPort.tcp(65536)] }] }, 'ingress[0].ports[0]'],
    [
      { ingress: [{ peers: [NetworkPeer.namespace('a')], ports: [NetworkPort.tcpRange(90, 80)] }] },
      'ingress[0].ports[0].endPort',
    ],
    [{ ingress: [{ peers: [NetworkPeer.namespace('a')], ports: [NetworkPort.named('HTTP')] }] }, 'ingress[0].ports[0]'],
    [
      { egress: [{ peers: [NetworkPeer.cidr('10.0.0.1/8')], ports: [NetworkPort.tcp(80)] }] },
      'egress[0].peers[0].cidr',
    ],
    [
      { egress: [{ peers: [NetworkPeer.cidr('10.0.0.0/33')], ports: [NetworkPort.tcp(80)] }] },
      'egress[0].peers[0].cidr',
    ],
    [
      { egress: [{ peers: [NetworkPeer.cidr('10.0.0.0/8', ['11.0.0.0/16'])], ports: [NetworkPort.tcp(80)] }] },
      'egress[0].peers[0].except[0]',
    ],
    [
      { egress: [{ peers: [NetworkPeer.apiServer(['10.0.0.0/24'])], ports: [NetworkPort.tcp(6443)] }] },
      'egress[0].peers[0].apiServer[0]',
    ],
    [
      { egress: [{ peers: [NetworkPeer.apiServer([])], ports: [NetworkPort.tcp(6443)] }] },
      'egress[0].peers[0].apiServer',
    ],
    [
      {
        appliesTo: PodSelection.labels({}),
        egress: [{ peers: [NetworkPeer.namespace('a')], ports: [NetworkPort.tcp(1)] }],
      },
      'appliesTo',
    ],
    [
      { namespace: 'kube-system', egress: [{ peers: [NetworkPeer.namespace('a')], ports: [NetworkPort.tcp(1)] }] },
      'namespace',
    ],
  ])('refuses %j at %s', (props, prop) => {
    const e = propError(() =>
      synth((chart) => new NetworkAllowPolicy(chart, 'p', { namespace: 'shop', name: 'x', ...props } as any)),
    );
    expect(e.prop).toBe(prop);
    expect(e.constructPath).toBe('test/p');
  });
});

describe('AllowInNamespaceTraffic (micro-segmentation)', () => {
  test('writes egress on clients and ingress on servers, by ServiceAccount and labels', () => {
    const out = synth(
      (chart) =>
        new AllowInNamespaceTraffic(chart, 'web-to-api', {
          namespace: 'shop',
          from: PodSelection.serviceAccount('web'),
          to: PodSelection.labels({ app: 'api' }),
          ports: [NetworkPort.tcp(8080)],
        }),
    );
    const eg = one(out, 'NetworkPolicy', 'web-to-api-egress');
    expect(eg.spec.podSelector).toEqual({ matchLabels: { 'hcb.dev/service-account': 'web' } });
    expect(eg.spec.egress).toEqual([
      { to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 8080 }] },
    ]);
    const ing = one(out, 'NetworkPolicy', 'web-to-api-ingress');
    expect(ing.spec.podSelector).toEqual({ matchLabels: { app: 'api' } });
    expect(ing.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'hcb.dev/service-account': 'web' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
  });

  test('refuses all-to-all and missing ports', () => {
    expect(
      propError(() =>
        synth(
          (chart) =>
            new AllowInNamespaceTraffic(chart, 'x', {
              namespace: 'shop',
              from: PodSelection.all(),
              to: PodSelection.all(),
              ports: [NetworkPort.tcp(1)],
            }),
        ),
      ).prop,
    ).toBe('from');
    expect(
      propError(() =>
        synth(
          (chart) =>
            new AllowInNamespaceTraffic(chart, 'x', {
              namespace: 'shop',
              from: PodSelection.labels({ a: 'b' }),
              to: PodSelection.all(),
              ports: [],
            }),
        ),
      ).prop,
    ).toBe('ports');
  });
});

describe('CIDR helpers', () => {
  test('parse and containment', () => {
    expect(parseCidr('fd00::/8')).toEqual({ family: 6, address: 0xfd00n << 112n, prefix: 8 });
    expect(parseCidr('1.2.3.4/32')?.address).toBe(0x01020304n);
    for (const bad of ['1.2.3/8', '01.2.3.4/8', '1.2.3.4', '::/129', 'a::b::c/64', '1.2.3.4/-1', ''])
      expect(parseCidr(bad)).toBeUndefined();
    expect(cidrStrictlyContains(parseCidr('10.0.0.0/8')!, parseCidr('10.1.0.0/16')!)).toBe(true);
    expect(cidrStrictlyContains(parseCidr('10.0.0.0/8')!, parseCidr('10.0.0.0/8')!)).toBe(false);
    expect(cidrStrictlyContains(parseCidr('10.0.0.0/8')!, parseCidr('fd00::/16')!)).toBe(false);
  });
});
