// auditApp: the one call an app repo's jest test makes to audit its charts (issue 11).
import { ApiObject, App, Chart, Testing } from 'cdk8s';
import { auditApp, HardenedNamespace, HardenedWorkload } from '../../../constructs';
import { webContainer } from './workload/fixtures';

function shopApp(extra?: (chart: Chart) => void): { app: App; chart: Chart } {
  const app = Testing.app();
  const chart = new Chart(app, 'shop');
  new HardenedNamespace(chart, 'shop', { app: 'shop', team: 'shop-team', environment: 'prod' });
  new HardenedWorkload(chart, 'web', { namespace: 'shop', containers: [webContainer()] });
  extra?.(chart);
  return { app, chart };
}

describe('auditApp', () => {
  test('hardened charts audit clean in the app scope; App, Chart and list give the same findings', () => {
    const { app, chart } = shopApp();
    const result = auditApp(app);
    expect(result.failures).toEqual([]);
    expect(result.findings.filter((f) => f.status === 'pass').length).toBeGreaterThan(20);
    expect(result.documents.map((d) => d.object.kind)).toEqual(
      expect.arrayContaining(['Namespace', 'Deployment', 'NetworkPolicy']),
    );
    expect(result.findings.every((f) => /^HCB-(WORKLOAD|NAMESPACE|RBAC|NETWORK)/.test(f.control))).toBe(true);
    expect(auditApp(chart).findings).toEqual(result.findings);
    expect(auditApp([chart]).findings).toEqual(result.findings);
  });

  test('a bad object is a failure naming the object and its chart file', () => {
    const { app } = shopApp(
      (chart) =>
        new ApiObject(chart, 'debug', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'debug', namespace: 'shop' },
          spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
        }),
    );
    const bad = auditApp(app).failures.find((f) => f.control === 'HCB-WORKLOAD-PRIVILEGED');
    expect(bad).toMatchObject({
      status: 'fail',
      object: { kind: 'Pod', name: 'debug', namespace: 'shop', file: 'shop.k8s.yaml' },
    });
  });

  test('an exception accepts a failure; scope all runs the whole catalogue', () => {
    const { app } = shopApp(
      (chart) =>
        new ApiObject(chart, 'debug', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'debug', namespace: 'shop' },
          spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
        }),
    );
    const exceptions = [
      {
        control: 'HCB-WORKLOAD-PRIVILEGED',
        scope: { kind: 'Pod', namespace: 'shop', name: 'debug' },
        justification: 'debug pod, reviewed',
        owner: 'platform-team',
        expires: '2026-12-31',
      },
    ];
    const accepted = auditApp(app, { exceptions, now: new Date('2026-11-29T00:00:00Z') }).findings.filter(
      (f) => f.control === 'HCB-WORKLOAD-PRIVILEGED' && f.object?.name === 'debug',
    );
    expect(accepted.map((f) => f.status)).toEqual(['accepted']);
    const all = auditApp(app, { scope: 'all' }).findings;
    expect(all.some((f) => f.control.startsWith('HCB-APISERVER-'))).toBe(true);
  });

  test('construct validation runs as in app.synth(), and bad arguments are refused', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    new HardenedNamespace(chart, 'shop', { app: 'shop', team: 'shop-team', environment: 'prod' });
    new HardenedWorkload(chart, 'web', { namespace: 'elsewhere', containers: [webContainer()] });
    expect(() => auditApp(app)).toThrow(/no HardenedNamespace of this app creates it/);
    expect(() => auditApp({} as never)).toThrow(/pass a cdk8s App/);
    expect(() => auditApp(shopApp().app, { scope: 'cluster' as never })).toThrow(/scope must be/);
  });
});
