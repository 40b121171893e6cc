// The workload features app teams reach for (issue 11): autoscaling, expose, imagePullSecrets,
// persistent volumes, Secret file modes, service links, stable selectors. Each bad prop fails with
// the construct path, prop, value and fix; the rendered output audits clean with our catalogue.
import { ApiObject, Chart, Testing } from 'cdk8s';
import { stringify } from 'yaml';
import {
  CONSTRUCT_PATH_ANNOTATION,
  HardenedNamespace,
  HardenedWorkload,
  HardenedWorkloadProps,
  NetworkPeer,
} from '../../../../constructs';
import { checkPodSpec } from '../../../../constructs/workload/pod-template-checks';
import { evaluate, parseText } from '../../../../policies';
import { Obj, ofKind, one, propError, synth } from '../helpers';
import { webContainer } from './fixtures';

const base: HardenedWorkloadProps = { namespace: 'shop', containers: [webContainer()] };
const ingress = [NetworkPeer.namespace('ingress-nginx')];

function errorOf(props: Partial<HardenedWorkloadProps>) {
  return propError(() => synth((chart) => new HardenedWorkload(chart, 'web', { ...base, ...props })));
}

describe('autoscaling', () => {
  test('renders an autoscaling/v2 HPA on the workload and no fixed replicas (Deployment and StatefulSet)', () => {
    for (const kind of ['Deployment', 'StatefulSet'] as const) {
      const out = synth(
        (chart) =>
          new HardenedWorkload(chart, 'web', {
            ...base,
            kind,
            protectionNeed: 'high',
            autoscaling: { minReplicas: 2, maxReplicas: 6, cpuUtilization: 70, memoryUtilization: 80 },
          }),
      );
      const w = one(out, kind);
      expect(w.spec).not.toHaveProperty('replicas');
      const hpa = one(out, 'HorizontalPodAutoscaler');
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.metadata).toMatchObject({ name: 'web', namespace: 'shop' });
      expect(hpa.spec).toEqual({
        scaleTargetRef: { apiVersion: 'apps/v1', kind, name: 'web' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
        ],
      });
      // The PodDisruptionBudget of high availability still applies.
      expect(one(out, 'PodDisruptionBudget').spec.selector).toEqual(w.spec.selector);
    }
  });

  test('without autoscaling there is no HPA and replicas are fixed', () => {
    const out = synth((chart) => new HardenedWorkload(chart, 'web', { ...base, replicas: 3 }));
    expect(ofKind(out, 'HorizontalPodAutoscaler')).toHaveLength(0);
    expect(one(out, 'Deployment').spec.replicas).toBe(3);
  });

  test.each([
    [
      { replicas: 2, autoscaling: { minReplicas: 1, maxReplicas: 3, cpuUtilization: 70 } },
      'replicas',
      /HorizontalPodAutoscaler owns/,
    ],
    [{ autoscaling: { minReplicas: 0, maxReplicas: 3, cpuUtilization: 70 } }, 'autoscaling.minReplicas', /1 to 1000/],
    [
      { autoscaling: { minReplicas: 4, maxReplicas: 3, cpuUtilization: 70 } },
      'autoscaling.maxReplicas',
      /minReplicas \(4\)/,
    ],
    [{ autoscaling: { minReplicas: 1, maxReplicas: 3 } }, 'autoscaling', /no target/],
    [
      { autoscaling: { minReplicas: 1, maxReplicas: 3, cpuUtilization: 0 } },
      'autoscaling.cpuUtilization',
      /percentage/,
    ],
    [
      { protectionNeed: 'high', autoscaling: { minReplicas: 1, maxReplicas: 3, cpuUtilization: 70 } },
      'autoscaling.minReplicas',
      /at least 2/,
    ],
  ] as Array<[Partial<HardenedWorkloadProps>, string, RegExp]>)('refuses %j at %s', (props, prop, problem) => {
    const e = errorOf(props);
    expect(e.constructPath).toBe('test/web');
    expect(e.prop).toBe(prop);
    expect(e.message).toMatch(problem);
    expect(e.fix.length).toBeGreaterThan(0);
  });
});

describe('expose', () => {
  test('a ClusterIP Service on the stable selector and a NetworkAllowPolicy admitting only the named peers on the container port', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'web', {
          ...base,
          expose: [{ port: 'http', servicePort: 80, from: ingress }],
        }),
    );
    const svc = one(out, 'Service', 'web');
    expect(svc.spec).toEqual({
      type: 'ClusterIP',
      selector: { 'hcb.dev/workload': 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    });
    const np = one(out, 'NetworkPolicy', 'web-expose');
    expect(np.spec).toEqual({
      podSelector: { matchLabels: { 'hcb.dev/workload': 'web' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: {} },
          ],
          ports: [{ protocol: 'TCP', port: 8080 }],
        },
      ],
    });
    // The pods carry the label both select on.
    expect(one(out, 'Deployment').spec.template.metadata.labels['hcb.dev/workload']).toBe('web');
  });

  test('exposeRulesScope puts the NetworkAllowPolicy into another chart (the platform chart)', () => {
    const app = Testing.app();
    const platform = new Chart(app, 'platform');
    const appChart = new Chart(app, 'app');
    const w = new HardenedWorkload(appChart, 'web', {
      ...base,
      expose: [{ port: 8080, from: ingress }],
      exposeRulesScope: platform,
    });
    const appObjs = appChart.toJson() as Obj[];
    const platformObjs = platform.toJson() as Obj[];
    expect(ofKind(appObjs, 'NetworkPolicy')).toHaveLength(0);
    expect(one(appObjs, 'Service', 'web').spec.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP' },
    ]);
    expect(one(platformObjs, 'NetworkPolicy', 'web-expose').metadata.annotations[CONSTRUCT_PATH_ANNOTATION]).toMatch(
      /^platform\//,
    );
    expect(w.exposePolicy?.policyName).toBe('web-expose');
  });

  test.each([
    [{ expose: [{ port: 'http', from: [] }] }, 'expose[0].from', /names no peer/],
    [{ expose: [{ port: 'http', from: [NetworkPeer.cidr('0.0.0.0/0')] }] }, 'expose[0].from[0]', /allow-all/],
    [{ expose: [{ port: 'http', from: [NetworkPeer.cidr('::/0')] }] }, 'expose[0].from[0]', /allow-all/],
    [
      { expose: [{ port: 'grpc', from: ingress }] },
      'expose[0].port',
      /not a port of the workload's containers \(ports: http \(8080\)\)/,
    ],
    [
      {
        expose: [
          { port: 'http', from: ingress },
          { port: 8080, from: ingress },
        ],
      },
      'expose[1].port',
      /exposed twice/,
    ],
    [{ expose: [{ port: 'http', servicePort: 70000, from: ingress }] }, 'expose[0].servicePort', /not a port number/],
    [
      { expose: [{ port: 'http', from: [{ kind: 'namespace' } as unknown as NetworkPeer] }] },
      'expose[0].from[0]',
      /not a NetworkPeer/,
    ],
  ] as Array<[Partial<HardenedWorkloadProps>, string, RegExp]>)('refuses %j at %s', (props, prop, problem) => {
    const e = errorOf(props);
    expect([e.constructPath, e.prop]).toEqual(['test/web', prop]);
    expect(e.message).toMatch(problem);
  });

  test('exposeRulesScope without expose is refused', () => {
    expect(
      propError(() => synth((chart) => new HardenedWorkload(chart, 'web', { ...base, exposeRulesScope: chart }))).prop,
    ).toBe('exposeRulesScope');
  });

  test("the exposed Service name collides with another workload's headless Service: fails with both paths", () => {
    const e = propError(() =>
      synth((chart) => {
        new HardenedWorkload(chart, 'db', { ...base, kind: 'StatefulSet', containers: [webContainer({ name: 'db' })] });
        new HardenedWorkload(chart, 'db-headless', { ...base, expose: [{ port: 'http', from: ingress }] });
      }),
    );
    expect(e.message).toMatch(/Service "shop\/db-headless" is already rendered by .* at test\/db/);
  });
});

describe('pod spec features', () => {
  test('imagePullSecrets, enableServiceLinks false by default (true when asked)', () => {
    const out = synth(
      (chart) => new HardenedWorkload(chart, 'web', { ...base, imagePullSecrets: ['registry-a', 'registry-b'] }),
    );
    const spec = one(out, 'Deployment').spec.template.spec;
    expect(spec.imagePullSecrets).toEqual([{ name: 'registry-a' }, { name: 'registry-b' }]);
    expect(spec.enableServiceLinks).toBe(false);
    const on = synth((chart) => new HardenedWorkload(chart, 'web', { ...base, enableServiceLinks: true }));
    expect(one(on, 'Deployment').spec.template.spec.enableServiceLinks).toBe(true);
    expect(one(on, 'Deployment').spec.template.spec.imagePullSecrets).toBeUndefined();
  });

  test.each([
    [{ imagePullSecrets: ['Bad_Name'] }, 'imagePullSecrets[0]'],
    [{ imagePullSecrets: ['a', 'a'] }, 'imagePullSecrets[1]'],
    [{ imagePullSecrets: 'a' as unknown as string[] }, 'imagePullSecrets'],
    [{ enableServiceLinks: 'no' as unknown as boolean }, 'enableServiceLinks'],
  ] as Array<[Partial<HardenedWorkloadProps>, string]>)('refuses %j at %s', (props, prop) => {
    expect(errorOf(props).prop).toBe(prop);
  });

  test('Secret volumes are mounted read-only with file mode 0400', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'web', {
          ...base,
          containers: [webContainer({ secretMounts: [{ secretName: 'tls', mountPath: '/etc/tls' }] })],
        }),
    );
    const spec = one(out, 'Deployment').spec.template.spec;
    expect(spec.volumes).toEqual([{ name: 'secret-tls', secret: { secretName: 'tls', defaultMode: 0o400 } }]);
    expect(spec.containers[0].volumeMounts).toEqual([{ name: 'secret-tls', mountPath: '/etc/tls', readOnly: true }]);
  });
});

describe('persistent volumes', () => {
  test('StatefulSet volumeClaimTemplates (size, storage class, access mode) mounted by claimMounts; existing claims as pod volumes', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'db', {
          ...base,
          kind: 'StatefulSet',
          volumeClaimTemplates: [
            { name: 'data', size: '20Gi', storageClass: 'fast-ssd' },
            { name: 'wal', size: '5Gi', accessMode: 'ReadWriteOncePod' },
          ],
          initContainers: [
            { name: 'init', image: webContainer().image, claimMounts: [{ claim: 'data', mountPath: '/data' }] },
          ],
          containers: [
            webContainer({
              name: 'db',
              secretMounts: [{ secretName: 'db-tls', mountPath: '/etc/tls' }],
              claimMounts: [
                { claim: 'data', mountPath: '/var/lib/db' },
                { claim: 'wal', mountPath: '/var/lib/wal' },
                { claim: 'shared-config', mountPath: '/etc/shared', readOnly: true },
              ],
            }),
          ],
        }),
    );
    const sts = one(out, 'StatefulSet');
    expect(sts.spec.volumeClaimTemplates).toEqual([
      {
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'fast-ssd',
          resources: { requests: { storage: '20Gi' } },
        },
      },
      {
        metadata: { name: 'wal' },
        spec: { accessModes: ['ReadWriteOncePod'], resources: { requests: { storage: '5Gi' } } },
      },
    ]);
    const spec = sts.spec.template.spec;
    expect(spec.initContainers[0].volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
    expect(spec.containers[0].volumeMounts).toEqual([
      { name: 'secret-db-tls', mountPath: '/etc/tls', readOnly: true },
      { name: 'pvc-ro-shared-config', mountPath: '/etc/shared', readOnly: true },
      { name: 'data', mountPath: '/var/lib/db' },
      { name: 'wal', mountPath: '/var/lib/wal' },
    ]);
    // Templates get their pod volumes from the StatefulSet controller; only the existing claim is a pod volume.
    expect(spec.volumes.map((v: Obj) => v.name).sort()).toEqual(['pvc-ro-shared-config', 'secret-db-tls']);
    expect(spec.volumes.find((v: Obj) => v.name === 'pvc-ro-shared-config').persistentVolumeClaim).toEqual({
      claimName: 'shared-config',
      readOnly: true,
    });
    expect(checkPodSpec(spec)).toEqual([]);
  });

  test('a Deployment mounts an existing claim', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'web', {
          ...base,
          containers: [webContainer({ claimMounts: [{ claim: 'uploads', mountPath: '/srv/uploads' }] })],
        }),
    );
    const spec = one(out, 'Deployment').spec.template.spec;
    expect(spec.volumes).toEqual([
      { name: 'pvc-uploads', persistentVolumeClaim: { claimName: 'uploads', readOnly: false } },
    ]);
    expect(spec.containers[0].volumeMounts).toEqual([
      { name: 'pvc-uploads', mountPath: '/srv/uploads', readOnly: false },
    ]);
  });

  test.each([
    [{ volumeClaimTemplates: [{ name: 'data', size: '1Gi' }] }, 'volumeClaimTemplates', /only a StatefulSet/],
    [
      { kind: 'StatefulSet', volumeClaimTemplates: [{ name: 'Data', size: '1Gi' }] },
      'volumeClaimTemplates[0].name',
      /RFC 1123/,
    ],
    [
      { kind: 'StatefulSet', volumeClaimTemplates: [{ name: 'data', size: 'ten' }] },
      'volumeClaimTemplates[0].size',
      /./,
    ],
    [
      { kind: 'StatefulSet', volumeClaimTemplates: [{ name: 'data', size: '1Gi', accessMode: 'RWO' }] },
      'volumeClaimTemplates[0].accessMode',
      /not an access mode/,
    ],
    [
      { kind: 'StatefulSet', volumeClaimTemplates: [{ name: 'data', size: '1Gi', storageClass: 'Fast SSD' }] },
      'volumeClaimTemplates[0].storageClass',
      /./,
    ],
    [
      {
        kind: 'StatefulSet',
        volumeClaimTemplates: [
          { name: 'data', size: '1Gi' },
          { name: 'data', size: '2Gi' },
        ],
      },
      'volumeClaimTemplates[1].name',
      /another template/,
    ],
    [
      { containers: [webContainer({ claimMounts: [{ claim: 'data', mountPath: 'relative' }] })] },
      'containers[0].claimMounts[0].mountPath',
      /absolute/,
    ],
    [
      { containers: [webContainer({ claimMounts: [{ claim: '', mountPath: '/data' }] })] },
      'containers[0].claimMounts[0].claim',
      /./,
    ],
  ] as Array<[Partial<HardenedWorkloadProps>, string, RegExp]>)('refuses %j at %s', (props, prop, problem) => {
    const e = errorOf(props);
    expect([e.constructPath, e.prop]).toEqual(['test/web', prop]);
    expect(e.message).toMatch(problem);
  });
});

describe('stable selectors', () => {
  const render = (chartName: string, parent?: string) => {
    const app = Testing.app();
    const chart = new Chart(app, chartName);
    const scope = parent ? new Chart(chart, parent) : chart;
    new HardenedWorkload(scope, 'web', {
      ...base,
      protectionNeed: 'high',
      kind: 'StatefulSet',
      expose: [{ port: 'http', from: ingress }],
    });
    app.synth(); // validations
    return chart.node
      .findAll()
      .filter((c): c is ApiObject => c instanceof ApiObject)
      .map((o) => {
        const copy = JSON.parse(JSON.stringify(o.toJson()));
        delete copy.metadata.annotations?.[CONSTRUCT_PATH_ANNOTATION];
        return copy;
      });
  };

  test('renaming the chart (or nesting the workload deeper) changes nothing but the construct-path annotation', () => {
    const a = render('shop');
    expect(render('shop-renamed')).toEqual(a);
    expect(render('other', 'nested')).toEqual(a);
    const sts = one(a, 'StatefulSet');
    expect(sts.spec.selector).toEqual({ matchLabels: { 'hcb.dev/workload': 'web' } });
    expect(JSON.stringify(a)).not.toContain('cdk8s.io/metadata.addr');
    expect(one(a, 'Service', 'web-headless').spec.selector).toEqual({ 'hcb.dev/workload': 'web' });
  });
});

describe('audit', () => {
  test('a namespace and workloads using every feature audit clean with the catalogue (no fail, no error)', () => {
    const chart = Testing.chart();
    const ns = new HardenedNamespace(chart, 'shop', {
      app: 'shop',
      team: 'shop-team',
      environment: 'prod',
      protectionNeed: 'high',
      size: 'small',
    });
    new HardenedWorkload(chart, 'web', {
      namespace: ns.namespaceName,
      protectionNeed: 'high',
      imagePullSecrets: ['registry'],
      autoscaling: { minReplicas: 2, maxReplicas: 5, cpuUtilization: 75 },
      expose: [{ port: 'http', servicePort: 80, from: ingress }],
      containers: [
        webContainer({
          secretMounts: [{ secretName: 'web-tls', mountPath: '/etc/tls' }],
          claimMounts: [{ claim: 'uploads', mountPath: '/srv/uploads' }],
        }),
      ],
    });
    new HardenedWorkload(chart, 'db', {
      namespace: ns.namespaceName,
      protectionNeed: 'high',
      kind: 'StatefulSet',
      volumeClaimTemplates: [{ name: 'data', size: '10Gi', storageClass: 'standard' }],
      expose: [{ port: 5432, from: [NetworkPeer.serviceAccount('web')] }],
      containers: [
        webContainer({
          name: 'db',
          ports: [{ number: 5432, name: 'pg' }],
          claimMounts: [{ claim: 'data', mountPath: '/var/lib/db' }],
        }),
      ],
    });
    const objs = Testing.synth(chart);
    const parsed = parseText(objs.map((o) => stringify(o)).join('---\n'), 'features.k8s.yaml');
    expect(parsed.errors).toEqual([]);
    const findings = evaluate(parsed.documents, { now: new Date('2026-11-29T00:00:00Z') });
    const bad = findings
      .filter((f) => f.status === 'fail' || f.status === 'error')
      .map(
        (f) =>
          `${f.status} ${f.control} ${f.object ? `${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}` : '-'}: ${f.message}`,
      );
    expect(bad).toEqual([]);
    // Really evaluated: workload controls passed on both workloads.
    const passed = findings
      .filter((f) => f.control === 'HCB-WORKLOAD-PRIVILEGED' && f.status === 'pass')
      .map((f) => f.object?.name)
      .sort();
    expect(passed).toEqual(['db', 'web']);
  });
});
