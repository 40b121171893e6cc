// Silent collisions fail with the construct path, the prop, the value and the fix: a policy that
// would replace a namespace's own NetworkPolicy, two workloads of one name, a workload in a
// namespace no HardenedNamespace of the app creates, a container outside the LimitRange bounds.
import { App, Chart, Testing } from 'cdk8s';
import {
  AllowInNamespaceTraffic,
  AutomationIdentity,
  BlueprintPropError,
  HardenedNamespace,
  HardenedWorkload,
  HardenedWorkloadProps,
  NamespaceAccess,
  NamespaceLimitRange,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PlatformAccess,
  PodSelection,
  Probe,
  Subject,
  Tenant,
  WorkloadIdentity,
} from '../../../constructs';
import { propError } from './helpers';

const IMAGE = 'registry.example.com/shop/web@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0';

function workload(
  chart: Chart,
  id: string,
  props: Partial<HardenedWorkloadProps> & { namespace: string },
  resources = {},
): HardenedWorkload {
  return new HardenedWorkload(chart, id, {
    containers: [
      {
        name: 'web',
        image: IMAGE,
        ports: [{ number: 8080 }],
        liveness: Probe.fromHttpGet('/healthz'),
        readiness: Probe.fromHttpGet('/ready'),
        resources,
      },
    ],
    ...props,
  });
}

const allow = (chart: Chart, id: string, name?: string) =>
  new NetworkAllowPolicy(chart, id, {
    namespace: 'shop',
    name,
    ingress: [{ peers: [NetworkPeer.namespace('ingress-nginx')], ports: [NetworkPort.tcp(8080)] }],
  });

/** Runs the app's synth (where cdk8s runs construct validation) and returns its error. */
function synthError(app: App): Error {
  try {
    app.synthYaml();
  } catch (e) {
    return e as Error;
  }
  throw new Error('synth succeeded');
}

describe('NetworkPolicy names', () => {
  test.each(['hcb-default-deny', 'hcb-allow-dns'])(
    'a NetworkAllowPolicy named %s after the HardenedNamespace fails, naming path, prop, value and fix',
    (name) => {
      const chart = Testing.chart();
      new HardenedNamespace(chart, 'shop');
      const e = propError(() => allow(chart, 'allow-web', name));
      expect(e.constructPath).toBe('test/allow-web');
      expect(e.prop).toBe('name');
      expect(e.value).toBe(name);
      expect(e.message).toContain(`NetworkPolicy "shop/${name}" is already rendered by`);
      expect(e.message).toContain('test/shop/');
      expect(e.fix).toMatch(/another name \(props\.name\)/);
    },
  );

  test('the other order fails too: the HardenedNamespace names the policy to rename', () => {
    const chart = Testing.chart();
    allow(chart, 'allow-web', 'hcb-default-deny');
    const e = propError(() => new HardenedNamespace(chart, 'shop'));
    expect(e.prop).toBe('name');
    expect(e.constructPath).toMatch(/^test\/shop\//);
    expect(e.fix).toContain('test/allow-web');
  });

  test('two NetworkAllowPolicies of one name in one namespace fail; the same name in two namespaces, or in two apps, is fine', () => {
    const chart = Testing.chart();
    allow(chart, 'a', 'allow-web');
    expect(propError(() => allow(chart, 'b', 'allow-web')).message).toContain('test/a');
    new NetworkAllowPolicy(chart, 'c', {
      namespace: 'billing',
      name: 'allow-web',
      ingress: [{ peers: [NetworkPeer.namespace('x')], ports: [NetworkPort.tcp(1)] }],
    });
    const other = Testing.chart();
    new HardenedNamespace(other, 'shop');
    allow(other, 'allow-web');
  });

  test('AllowInNamespaceTraffic policies collide like any other', () => {
    const chart = Testing.chart();
    allow(chart, 'x', 'web-to-db-egress');
    const e = propError(
      () =>
        new AllowInNamespaceTraffic(chart, 'web-to-db', {
          namespace: 'shop',
          from: PodSelection.serviceAccount('web'),
          to: PodSelection.labels({ app: 'db' }),
          ports: [NetworkPort.tcp(5432)],
        }),
    );
    expect(e.constructPath).toBe('test/web-to-db/Egress');
  });

  test('a namespace built twice fails', () => {
    const chart = Testing.chart();
    new Tenant(chart, 'pay', { environments: [{ name: 'prod' }] });
    const e = propError(() => new HardenedNamespace(chart, 'pay-prod'));
    expect([e.prop, e.value]).toEqual(['name', 'pay-prod']);
  });
});

describe('workload names', () => {
  test('two workloads with one name in one namespace fail, whatever their kind', () => {
    const chart = Testing.chart();
    new HardenedNamespace(chart, 'shop');
    workload(chart, 'web', { namespace: 'shop' });
    const e = propError(() => workload(chart, 'web-stateful', { namespace: 'shop', name: 'web', kind: 'StatefulSet' }));
    expect([e.constructPath, e.prop, e.value]).toEqual(['test/web-stateful', 'name', 'web']);
    expect(e.message).toContain('"shop/web" is already rendered by another HardenedWorkload at test/web');
    expect(e.fix).toMatch(/another name/);
  });

  test('the same name in two namespaces is fine', () => {
    const chart = Testing.chart();
    new HardenedNamespace(chart, 'shop');
    new HardenedNamespace(chart, 'billing');
    workload(chart, 'web', { namespace: 'shop' });
    workload(chart, 'web2', { namespace: 'billing', name: 'web' });
    expect(Testing.synth(chart).filter((o) => o.kind === 'Deployment')).toHaveLength(2);
  });
});

describe('a workload in a namespace no HardenedNamespace of the app creates', () => {
  test('fails at synth when the app has HardenedNamespaces (created before or after the workload)', () => {
    for (const order of ['namespace-first', 'workload-first']) {
      const app = Testing.app();
      const chart = new Chart(app, 'c');
      if (order === 'namespace-first') new HardenedNamespace(chart, 'shop');
      workload(chart, 'web', { namespace: 'shpo' });
      if (order === 'workload-first') new HardenedNamespace(chart, 'shop');
      const e = synthError(app);
      expect(e.message).toContain(
        'hcb: c/web: prop "namespace" = "shpo" is invalid: no HardenedNamespace of this app creates it (the app\'s: shop)',
      );
      expect(e.message).toContain('externalNamespace: true');
    }
  });

  test("passes when the namespace is the HardenedNamespace's, when externalNamespace is set, and in an app without HardenedNamespaces", () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    new HardenedNamespace(chart, 'shop');
    workload(chart, 'web', { namespace: 'shop' });
    workload(chart, 'runner', { namespace: 'platform-run', externalNamespace: true });
    expect(() => app.synthYaml()).not.toThrow();

    const appOnly = Testing.app();
    workload(new Chart(appOnly, 'app'), 'web', { namespace: 'shop' });
    expect(() => appOnly.synthYaml()).not.toThrow();
  });

  test('a namespace in another chart of the same app counts', () => {
    const app = Testing.app();
    new HardenedNamespace(new Chart(app, 'platform'), 'shop');
    workload(new Chart(app, 'application'), 'web', { namespace: 'shop' });
    expect(() => app.synthYaml()).not.toThrow();
  });
});

describe('containers outside the namespace LimitRange', () => {
  test('a limit above the LimitRange max fails when built, naming the container prop', () => {
    const chart = Testing.chart();
    new HardenedNamespace(chart, 'shop', { containerLimits: { maxCpu: '1' } });
    const e = propError(() => workload(chart, 'web', { namespace: 'shop' }, { cpuRequest: '500m', cpuLimit: '2' }));
    expect([e.constructPath, e.prop, e.value]).toEqual(['test/web', 'containers[0].resources.cpuLimit', '2']);
    expect(e.message).toContain('is above the cpu max 1 of LimitRange "shop/hcb-limits" (test/shop/Limits)');
    expect(e.fix).toMatch(
      /lower containers\[0\]\.resources\.cpuLimit to at most 1, or raise the namespace's containerLimits\.maxCpu/,
    );
  });

  test('the sized defaults count: small namespaces allow 4Gi memory per container', () => {
    const chart = Testing.chart();
    new HardenedNamespace(chart, 'shop');
    expect(propError(() => workload(chart, 'web', { namespace: 'shop' }, { memoryLimit: '5Gi' })).prop).toBe(
      'containers[0].resources.memoryLimit',
    );
    workload(chart, 'ok', { namespace: 'shop' }, { memoryLimit: '4Gi' });
  });

  test('init containers are checked too', () => {
    const chart = Testing.chart();
    new HardenedNamespace(chart, 'shop', { containerLimits: { maxEphemeralStorage: '2Gi' } });
    const e = propError(
      () =>
        new HardenedWorkload(chart, 'web', {
          namespace: 'shop',
          initContainers: [{ name: 'init', image: IMAGE, resources: { ephemeralStorageLimit: '3Gi' } }],
          containers: [
            { name: 'web', image: IMAGE, liveness: Probe.fromHttpGet('/h'), readiness: Probe.fromHttpGet('/r') },
          ],
        }),
    );
    expect(e.prop).toBe('initContainers[0].resources.ephemeralStorageLimit');
  });

  test('a request below the LimitRange min fails', () => {
    const chart = Testing.chart();
    new HardenedNamespace(chart, 'shop', { containerLimits: { minCpu: '100m', minMemory: '64Mi' } });
    const e = propError(() => workload(chart, 'web', { namespace: 'shop' }, { cpuRequest: '50m' }));
    expect([e.prop, e.value]).toEqual(['containers[0].resources.cpuRequest', '50m']);
    expect(e.message).toContain('is below the cpu min 100m');
    workload(chart, 'ok', { namespace: 'shop' }, { cpuRequest: '100m' });
    const lr = Testing.synth(chart).find((o) => o.kind === 'LimitRange');
    expect(lr.spec.limits[0].min).toEqual({ cpu: '100m', memory: '64Mi' });
  });

  test('a LimitRange min above its own default request is refused', () => {
    const chart = Testing.chart();
    const e = propError(() => new HardenedNamespace(chart, 'shop', { containerLimits: { minCpu: '1' } }));
    expect(e.prop).toBe('containerLimits.minCpu');
  });

  test('a LimitRange built after the workload fails the synth', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    workload(chart, 'web', { namespace: 'shop' }, { cpuLimit: '3' });
    new NamespaceLimitRange(chart, 'limits', { namespace: 'shop', maxCpu: '2' });
    const e = synthError(app);
    expect(e).not.toBeInstanceOf(BlueprintPropError); // cdk8s collects validation errors into one
    expect(e.message).toContain(
      'hcb: c/web: prop "containers[0].resources.cpuLimit" = "3" is invalid: is above the cpu max 2 of LimitRange "shop/hcb-limits" (c/limits)',
    );
  });

  test('no LimitRange in the app: nothing to compare, nothing refused', () => {
    const app = Testing.app();
    workload(new Chart(app, 'c'), 'web', { namespace: 'shop' }, { cpuRequest: '4', cpuLimit: '64' });
    expect(() => app.synthYaml()).not.toThrow();
  });
});

describe('RBAC names', () => {
  test('a second NamespaceAccess of a preset the Tenant already binds in the namespace fails instead of replacing its subjects', () => {
    const chart = Testing.chart();
    new Tenant(chart, 'pay', { environments: [{ name: 'prod' }], access: { developers: [Subject.group('devs')] } });
    const e = propError(
      () =>
        new NamespaceAccess(chart, 'more-devs', {
          namespace: 'pay-prod',
          preset: 'developer',
          subjects: [Subject.user('eve')],
        }),
    );
    expect([e.constructPath, e.prop, e.value]).toEqual(['test/more-devs', 'name', 'hcb-developer']);
    expect(e.message).toContain('Role "pay-prod/hcb-developer" is already rendered by');
    // another name is fine
    new NamespaceAccess(chart, 'more-devs-2', {
      namespace: 'pay-prod',
      preset: 'developer',
      name: 'extra-developers',
      subjects: [Subject.user('eve')],
    });
  });

  test('a workload that would create a ServiceAccount a WorkloadIdentity already renders fails, and says to pass the identity', () => {
    const chart = Testing.chart();
    new WorkloadIdentity(chart, 'api-identity', { namespace: 'shop', name: 'api' });
    const e = propError(() => workload(chart, 'api', { namespace: 'shop' }));
    expect(e.constructPath).toBe('test/api/Identity');
    expect(e.fix).toContain('HardenedWorkload prop serviceAccount');
    const ok = Testing.chart();
    const id = new WorkloadIdentity(ok, 'api-identity', { namespace: 'shop', name: 'api' });
    workload(ok, 'api', { namespace: 'shop', serviceAccount: id });
  });

  test('two AutomationIdentities of one name, and a PlatformAccess role granted twice, fail', () => {
    const chart = Testing.chart();
    new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['build'] });
    expect(
      propError(() => new AutomationIdentity(chart, 'ci2', { namespace: 'shop', name: 'ci', programs: ['release'] }))
        .prop,
    ).toBe('name');
    new PlatformAccess(chart, 'net', { role: 'network-admin', subjects: [Subject.group('net')] });
    const e = propError(
      () =>
        new PlatformAccess(chart, 'net2', {
          role: 'network-admin',
          subjects: [Subject.group('net2')],
          namespaces: ['shop'],
        }),
    );
    expect([e.prop, e.value]).toEqual(['role', 'hcb:platform:network-admin']);
  });
});
