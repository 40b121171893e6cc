import * as os from 'os';
import { App, ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CONSTRUCT_PATH_ANNOTATION,
  HardenedWorkload,
  HardenedWorkloadProps,
  PodRestartSchedule,
  Probe,
  WorkloadIdentity,
} from '../../../../constructs';
import { cronEvery } from '../../../../constructs/workload/pod-restart-schedule';
import { checkPodSpec } from '../../../../constructs/workload/pod-template-checks';
import { Obj, ofKind, one, propError, synth } from '../helpers';
import { DIGEST, webContainer } from './fixtures';

const base: HardenedWorkloadProps = { namespace: 'shop', containers: [webContainer()] };
const podSpec = (objs: Obj[], kind = 'Deployment') => one(objs, kind).spec.template.spec;

describe('HardenedWorkload', () => {
  const objs = synth((chart) => new HardenedWorkload(chart, 'web', base));
  const spec = podSpec(objs);
  const [c] = spec.containers;

  test('passes every workload control', () => {
    expect(checkPodSpec(spec)).toEqual([]);
  });

  test('container security context: non-root, read-only, no escalation, drop ALL, RuntimeDefault', () => {
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(spec.securityContext.runAsNonRoot).toBe(true);
  });

  test('no host namespaces, own ServiceAccount without token', () => {
    expect(spec.hostNetwork).toBe(false);
    expect(spec.hostPID).toBe(false);
    expect(spec.hostIPC).toBe(false);
    expect(spec.serviceAccountName).toBe('web');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(one(objs, 'ServiceAccount', 'web').automountServiceAccountToken).toBe(false);
  });

  test('explicit requests and limits instead of cdk8s-plus fixed defaults', () => {
    expect(c.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '64Mi' },
      limits: { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
    });
  });

  test('probes aim at the container port, which keeps its name', () => {
    expect(c.livenessProbe.httpGet.port).toBe(8080);
    expect(c.readinessProbe.httpGet.port).toBe(8080);
    expect(c.ports).toEqual([{ containerPort: 8080, name: 'http', protocol: 'TCP' }]);
  });

  test('pods are labelled for selection by app and ServiceAccount; objects carry construct paths', () => {
    const labels = one(objs, 'Deployment').spec.template.metadata.labels;
    expect(labels['hcb.dev/service-account']).toBe('web');
    expect(labels['hcb.dev/app']).toBe('web');
    for (const o of objs) expect(o.metadata.annotations[CONSTRUCT_PATH_ANNOTATION]).toMatch(/^test\/web\//);
  });

  test('normal protection need: one replica, no PDB, no spread', () => {
    expect(one(objs, 'Deployment').spec.replicas).toBe(1);
    expect(ofKind(objs, 'PodDisruptionBudget')).toHaveLength(0);
    expect(spec.topologySpreadConstraints).toBeUndefined();
  });

  test('high availability: replicas, zone and host spread, PDB on the same selector', () => {
    const out = synth(
      (chart) => new HardenedWorkload(chart, 'web', { ...base, protectionNeed: 'high', zoneSpread: 'required' }),
    );
    const d = one(out, 'Deployment');
    expect(d.spec.replicas).toBe(2);
    const tsc = d.spec.template.spec.topologySpreadConstraints;
    expect(tsc.map((t: any) => [t.topologyKey, t.whenUnsatisfiable])).toEqual([
      ['topology.kubernetes.io/zone', 'DoNotSchedule'],
      ['kubernetes.io/hostname', 'ScheduleAnyway'],
    ]);
    expect(tsc[0].labelSelector).toEqual(d.spec.selector);
    const pdb = one(out, 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: d.spec.selector });
  });

  test('dedicated nodes: node selector and tolerations', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'web', {
          ...base,
          protectionNeed: 'very-high',
          dedicatedNodes: {
            nodeSelector: { 'hcb.dev/pool': 'shop' },
            tolerations: [
              { key: 'hcb.dev/dedicated', value: 'shop' },
              { key: 'gpu', effect: 'NoExecute' },
            ],
          },
        }),
    );
    const s = podSpec(out);
    expect(s.nodeSelector).toEqual({ 'hcb.dev/pool': 'shop' });
    expect(s.tolerations).toEqual([
      { key: 'hcb.dev/dedicated', operator: 'Equal', value: 'shop', effect: 'NoSchedule' },
      { key: 'gpu', operator: 'Exists', effect: 'NoExecute' },
    ]);
    expect(one(out, 'Deployment').spec.template.metadata.annotations['hcb.dev/max-pod-age']).toBe('24h');
  });

  test('init containers are hardened too (A6)', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'web', {
          ...base,
          initContainers: [{ name: 'migrate', image: `r.example.com/m${DIGEST}`, command: ['migrate'] }],
        }),
    );
    const [init] = podSpec(out).initContainers;
    expect(init.securityContext.capabilities).toEqual({ drop: ['ALL'] });
    expect(init.resources.limits).toEqual({ cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' });
    expect(init.livenessProbe).toBeUndefined();
    expect(checkPodSpec(podSpec(out))).toEqual([]);
  });

  test('Secrets only as read-only volumes; writable paths as emptyDir', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'web', {
          ...base,
          containers: [
            webContainer({
              secretMounts: [{ secretName: 'db', mountPath: '/etc/db' }],
              writablePaths: ['/tmp'],
              env: { MODE: 'prod' },
            }),
          ],
        }),
    );
    const s = podSpec(out);
    expect(s.containers[0].volumeMounts).toEqual([
      { mountPath: '/etc/db', name: 'secret-db', readOnly: true },
      { mountPath: '/tmp', name: 'tmp-web-0' },
    ]);
    expect(s.volumes).toEqual([
      { name: 'secret-db', secret: { secretName: 'db', defaultMode: 0o400 } },
      { name: 'tmp-web-0', emptyDir: { sizeLimit: '64Mi' } },
    ]);
    expect(s.containers[0].env).toEqual([{ name: 'MODE', value: 'prod' }]);
  });

  test('StatefulSet with its headless Service', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'db', {
          ...base,
          kind: 'StatefulSet',
          containers: [webContainer({ name: 'db', ports: [{ number: 5432 }] })],
        }),
    );
    const svc = one(out, 'Service');
    expect(svc.metadata.name).toBe('db-headless');
    expect(svc.spec.clusterIP).toBe('None');
    expect(one(out, 'StatefulSet').spec.serviceName).toBe('db-headless');
    expect(checkPodSpec(podSpec(out, 'StatefulSet'))).toEqual([]);
    expect(svc.metadata.annotations[CONSTRUCT_PATH_ANNOTATION]).toBe('test/db/HeadlessService/Resource');
  });

  test('ephemeral storage as written, on app and init containers', () => {
    const out = synth(
      (chart) =>
        new HardenedWorkload(chart, 'web', {
          ...base,
          initContainers: [
            {
              name: 'init',
              image: `registry.example.com/init${DIGEST}`,
              resources: { ephemeralStorageRequest: '100Mi', ephemeralStorageLimit: '300Mi' },
            },
          ],
          containers: [
            webContainer({
              resources: { ephemeralStorageRequest: '1500M', ephemeralStorageLimit: '3Gi' },
              writablePaths: ['/tmp'],
              writablePathSizeLimit: '2Gi',
            }),
          ],
        }),
    );
    const s = podSpec(out);
    expect(s.initContainers[0].resources.requests['ephemeral-storage']).toBe('100Mi');
    expect(s.initContainers[0].resources.limits['ephemeral-storage']).toBe('300Mi');
    expect(s.containers[0].resources.requests['ephemeral-storage']).toBe('1500M');
    expect(s.containers[0].resources.limits['ephemeral-storage']).toBe('3Gi');
    expect(checkPodSpec(s)).toEqual([]);
  });

  test('the ephemeral-storage error names construct path, prop, value and fix', () => {
    const e = propError(() =>
      synth(
        (chart) =>
          new HardenedWorkload(chart, 'web', {
            ...base,
            containers: [
              webContainer({ resources: { ephemeralStorageLimit: '100Mi' }, writablePaths: ['/tmp', '/var/cache'] }),
            ],
          }),
      ),
    );
    expect([e.constructPath, e.prop]).toEqual(['test/web', 'containers[0].resources.ephemeralStorageLimit']);
    expect(e.message).toContain('100Mi');
    expect(e.fix).toMatch(/raise resources.ephemeralStorageLimit or lower writablePathSizeLimit/);
  });

  test('warnings are printed when the app synthesizes, once per workload', () => {
    const app = new App({ outdir: os.tmpdir() });
    const chart = new Chart(app, 'c');
    new HardenedWorkload(chart, 'web', { ...base, containers: [webContainer({ image: 'nginx:1.27' })] });
    new HardenedWorkload(chart, 'pinned', { ...base, containers: [webContainer()] });
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => {
      written.push(String(chunk));
      return true;
    });
    try {
      app.synthYaml();
      app.synthYaml();
    } finally {
      spy.mockRestore();
    }
    expect(written).toEqual([
      'warning: c/web: image "nginx:1.27" of container "web" is not pinned by digest (@sha256:...); a tag can be moved to other content\n',
    ]);
  });

  test('image without digest is a warning, not an error', () => {
    let w!: HardenedWorkload;
    synth((chart) => {
      w = new HardenedWorkload(chart, 'web', { ...base, containers: [webContainer({ image: 'nginx:1.27' })] });
    });
    expect(w.warnings).toHaveLength(1);
    expect(w.warnings[0]).toContain('not pinned by digest');
    expect(w.node.metadata.some((m) => m.type === 'hcb:warning')).toBe(true);
  });

  test('uses a given identity', () => {
    const out = synth((chart) => {
      const id = new WorkloadIdentity(chart, 'op', { namespace: 'shop', automountToken: true });
      new HardenedWorkload(chart, 'web', { ...base, serviceAccount: id });
    });
    expect(podSpec(out).serviceAccountName).toBe('op');
    expect(ofKind(out, 'ServiceAccount')).toHaveLength(1);
  });

  test('synth-time check catches escape-hatch changes', () => {
    const app = new App({ outdir: os.tmpdir() });
    const chart = new Chart(app, 'c');
    const w = new HardenedWorkload(chart, 'web', base);
    ApiObject.of(w.workload).addJsonPatch(JsonPatch.add('/spec/template/spec/hostNetwork', true));
    ApiObject.of(w.workload).addJsonPatch(
      JsonPatch.add('/spec/template/spec/containers/0/env', [
        { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
      ]),
    );
    const errors = w.node.validate();
    expect(errors.join('\n')).toMatch(/HCB-WORKLOAD-HOST-NAMESPACES .*hostNetwork set to true/);
    expect(errors.join('\n')).toMatch(/V-242415/);
    expect(() => app.synthYaml()).toThrow(/Validation failed/);
  });

  describe('refuses', () => {
    test.each<[string, Partial<HardenedWorkloadProps>, string]>([
      [
        'env from a Secret (plus EnvValue)',
        {
          containers: [
            webContainer({
              env: {
                PW: kplus.EnvValue.fromSecretValue({
                  secret: kplus.Secret.fromSecretName(new Chart(new App(), 'x'), 's', 'db'),
                  key: 'pw',
                }),
              },
            }),
          ],
        },
        'containers[0].env.PW',
      ],
      [
        'env from a Secret (raw)',
        {
          containers: [
            webContainer({ env: { PW: { valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } } as any } }),
          ],
        },
        'containers[0].env.PW',
      ],
      [
        'host port below 1024',
        { containers: [webContainer({ ports: [{ number: 80, hostPort: 80 }] })] },
        'containers[0].ports[0].hostPort',
      ],
      [
        'missing liveness probe',
        { containers: [webContainer({ liveness: undefined as any })] },
        'containers[0].liveness',
      ],
      [
        'missing readiness probe',
        { containers: [webContainer({ readiness: undefined as any })] },
        'containers[0].readiness',
      ],
      ['no containers', { containers: [] }, 'containers'],
      ['root user', { runAsUser: 0 }, 'runAsUser'],
      ['default service account', { serviceAccount: 'default' }, 'serviceAccount'],
      ['reserved namespace', { namespace: 'default' }, 'namespace'],
      ['kube-system', { namespace: 'kube-system' }, 'namespace'],
      ['HA with one replica', { highAvailability: true, replicas: 1 }, 'replicas'],
      ['zone spread without HA', { zoneSpread: 'required' }, 'zoneSpread'],
      ['very-high without dedicated nodes', { protectionNeed: 'very-high' }, 'dedicatedNodes'],
      ['empty node selector', { dedicatedNodes: { nodeSelector: {} } }, 'dedicatedNodes.nodeSelector'],
      ['bad max pod age', { maxPodAge: '1d' }, 'maxPodAge'],
      [
        'request above limit',
        { containers: [webContainer({ resources: { cpuRequest: '2', cpuLimit: '1' } })] },
        'containers[0].resources.cpuRequest',
      ],
      [
        'bad quantity',
        { containers: [webContainer({ resources: { memoryLimit: '1GB' } })] },
        'containers[0].resources.memoryLimit',
      ],
      [
        'ephemeral-storage request above limit',
        { containers: [webContainer({ resources: { ephemeralStorageRequest: '2Gi', ephemeralStorageLimit: '1Gi' } })] },
        'containers[0].resources.ephemeralStorageRequest',
      ],
      [
        'bad ephemeral-storage quantity',
        { containers: [webContainer({ resources: { ephemeralStorageLimit: '1 GB' } })] },
        'containers[0].resources.ephemeralStorageLimit',
      ],
      [
        'zero ephemeral-storage limit',
        { containers: [webContainer({ resources: { ephemeralStorageRequest: '0', ephemeralStorageLimit: '0' } })] },
        'containers[0].resources.ephemeralStorageRequest',
      ],
      [
        'writable paths larger than the ephemeral-storage limit',
        { containers: [webContainer({ writablePaths: ['/tmp', '/cache'], writablePathSizeLimit: '1Gi' })] },
        'containers[0].resources.ephemeralStorageLimit',
      ],
      ['bad image', { containers: [webContainer({ image: 'Not An Image' })] }, 'containers[0].image'],
      [
        'duplicate container names',
        { containers: [webContainer(), webContainer({ ports: [] })] },
        'containers[1].name',
      ],
      [
        'relative mount path',
        { containers: [webContainer({ writablePaths: ['tmp'] })] },
        'containers[0].writablePaths[0]',
      ],
      ['StatefulSet without ports', { kind: 'StatefulSet', containers: [webContainer({ ports: [] })] }, 'containers'],
    ])('%s', (_label, props, prop) => {
      const e = propError(() => synth((chart) => new HardenedWorkload(chart, 'web', { ...base, ...props })));
      expect(e.prop).toBe(prop);
      expect(e.constructPath).toBe('test/web');
      expect(e.message).toContain('Fix:');
    });

    test('the Secret-in-env error says to mount the Secret', () => {
      const e = propError(() =>
        synth(
          (chart) =>
            new HardenedWorkload(chart, 'web', {
              ...base,
              containers: [webContainer({ env: { PW: { secretKeyRef: { name: 'db', key: 'pw' } } as any } })],
            }),
        ),
      );
      expect(e.message).toMatch(/V-242415/);
      expect(e.fix).toMatch(/secretMounts/);
    });
  });
});

describe('PodRestartSchedule (A21)', () => {
  test('a hardened CronJob restarts the workload at least twice per max age, with rights on that workload only', () => {
    const out = synth((chart) => {
      const w = new HardenedWorkload(chart, 'web', { ...base, maxPodAge: '24h' });
      new PodRestartSchedule(chart, 'restart', {
        workload: w,
        kubectlImage: `registry.k8s.io/kubectl${DIGEST}`,
        apiServerEndpoints: ['192.168.0.10/32'],
      });
    });
    const cj = one(out, 'CronJob');
    expect(cj.spec.schedule).toBe('0 */12 * * *');
    const spec = cj.spec.jobTemplate.spec.template.spec;
    expect(checkPodSpec(spec).filter((p) => !p.includes('probe'))).toEqual([]);
    expect([spec.hostNetwork, spec.hostPID, spec.hostIPC]).toEqual([false, false, false]);
    expect(spec.automountServiceAccountToken).toBe(true);
    expect(spec.containers[0].command).toEqual([
      'kubectl',
      'rollout',
      'restart',
      'deployment/web',
      '--namespace',
      'shop',
    ]);
    const role = one(out, 'Role', 'web-restart-app');
    expect(role.rules).toEqual([
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'], resourceNames: ['web'] },
    ]);
    const np = one(out, 'NetworkPolicy', 'web-restart-to-apiserver');
    expect(np.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '192.168.0.10/32' } }], ports: [{ protocol: 'TCP', port: 6443 }] },
    ]);
    expect(np.spec.podSelector).toEqual({ matchLabels: { 'hcb.dev/service-account': 'web-restart' } });
  });

  test('needs a max pod age', () => {
    expect(
      propError(() =>
        synth((chart) => {
          const w = new HardenedWorkload(chart, 'web', base);
          new PodRestartSchedule(chart, 'restart', {
            workload: w,
            kubectlImage: 'k',
            apiServerEndpoints: ['10.0.0.1/32'],
          });
        }),
      ).prop,
    ).toBe('workload');
  });

  test.each([
    [1440, '0 */12 * * *'],
    [720, '0 */6 * * *'],
    [120, '0 */1 * * *'],
    [90, '*/30 * * * *'],
    [10, '*/5 * * * *'],
    [5000, '0 0 * * *'],
  ])('cronEvery(%d/2)', (m, cron) => expect(cronEvery(Math.floor(m / 2))).toBe(cron));
});

describe('checkPodSpec', () => {
  test('reports each broken control', () => {
    const problems = checkPodSpec({
      hostPID: true,
      serviceAccountName: 'default',
      containers: [
        {
          name: 'x',
          securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } },
          ports: [{ containerPort: 80, hostPort: 80 }],
          envFrom: [{ secretRef: { name: 's' } }],
        },
      ],
      volumes: [{ name: 'h', hostPath: { path: '/' } }],
    });
    // The catalogue's own checks decide (pod-template-checks.ts): control id, what was found, the fix.
    for (const re of [
      /HCB-WORKLOAD-HOST-NAMESPACES .*hostPID set to true/,
      /HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT .*default service account/,
      /HCB-WORKLOAD-PRIVILEGED .*x: privileged: true/,
      /x: allowPrivilegeEscalation not set/,
      /x: runAsNonRoot not set/,
      /x: readOnlyRootFilesystem is not true/,
      /x: capabilities.drop does not include ALL, adds SYS_ADMIN/,
      /x: no seccomp profile/,
      /x: no cpu or memory limit/,
      /x: no ephemeral-storage request or limit/,
      /x: no livenessProbe or readinessProbe/,
      /x: envFrom Secret s/,
      /x: hostPort 80 \(below 1024\)/,
      /hostPath volume\(s\): h \(\/\)/,
      /Fix: HardenedWorkload/,
    ]) {
      expect(problems.join('\n')).toMatch(re);
    }
  });

  test('Probe re-export is cdk8s-plus Probe', () => {
    expect(Probe).toBe(kplus.Probe);
  });
});
