// Constructs that render one named object take its name from props.name or, without one, from the
// construct id; an id that is not an object name is refused with the prop, the id and an example.
import { Chart, Testing } from 'cdk8s';
import {
  AutomationIdentity,
  HardenedWorkload,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  Probe,
  WorkloadIdentity,
} from '../../../constructs';
import { propError } from './helpers';

const IMAGE = 'registry.example.com/shop/web@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0';

/** Each construct with the name it renders and the example its error gives. */
const CASES: Array<{
  construct: string;
  example: string;
  build: (chart: Chart, id: string, name?: string) => { rendered: string };
}> = [
  {
    construct: 'HardenedWorkload',
    example: 'web',
    build: (chart, id, name) => {
      const w = new HardenedWorkload(chart, id, {
        namespace: 'shop',
        name,
        containers: [
          {
            name: 'web',
            image: IMAGE,
            ports: [{ number: 8080 }],
            liveness: Probe.fromHttpGet('/healthz'),
            readiness: Probe.fromHttpGet('/ready'),
          },
        ],
      });
      return { rendered: w.workloadName };
    },
  },
  {
    construct: 'NetworkAllowPolicy',
    example: 'allow-web-from-ingress',
    build: (chart, id, name) => {
      const p = new NetworkAllowPolicy(chart, id, {
        namespace: 'shop',
        name,
        ingress: [{ peers: [NetworkPeer.namespace('ingress-nginx')], ports: [NetworkPort.tcp(8080)] }],
      });
      return { rendered: p.policyName };
    },
  },
  {
    construct: 'WorkloadIdentity',
    example: 'payments-api',
    build: (chart, id, name) => ({
      rendered: new WorkloadIdentity(chart, id, { namespace: 'shop', name }).serviceAccountName,
    }),
  },
  {
    construct: 'AutomationIdentity',
    example: 'ci-deployer',
    build: (chart, id, name) => ({
      rendered: new AutomationIdentity(chart, id, { namespace: 'shop', name, programs: ['deploy'] }).serviceAccountName,
    }),
  },
];

describe.each(CASES)('$construct: object name from props.name or the construct id', ({ example, build }) => {
  test('the construct id when no name is given', () => {
    expect(build(Testing.chart(), 'shop-thing').rendered).toBe('shop-thing');
  });

  test('props.name over the construct id, whatever the id', () => {
    expect(build(Testing.chart(), 'Shop Thing', 'shop-thing').rendered).toBe('shop-thing');
  });

  test('an id that is not an object name, without props.name: refused with the id and an example name', () => {
    const err = propError(() => build(Testing.chart(), 'Shop Thing'));
    expect(err.prop).toBe('name');
    expect(err.value).toBeUndefined();
    expect(err.message).toContain('no name given and the construct id "Shop Thing" is not an object name');
    expect(err.fix).toBe(`pass props.name, e.g. "${example}"`);
  });

  test('an invalid props.name: refused as an RFC 1123 subdomain', () => {
    const err = propError(() => build(Testing.chart(), 'shop-thing', 'Shop_Thing'));
    expect(err.prop).toBe('name');
    expect(err.value).toBe('Shop_Thing');
    expect(err.message).toContain('must be an RFC 1123 subdomain');
  });
});
