/**
 * Stack configuration → BlueprintSpec, shared by the Pulumi program and `hcb synth
 * --stack-config`: defaults, `pulumi config --json` input, and clear errors for bad values.
 */
import { readerFromPulumiConfigJson, stackSpec } from '../../../stacks/spec';
import { prepareObjects } from '../../../stacks/apply';
import type { KubeObject } from '../../../policies/model';
import { ADMISSION_POLICY_CONTROLS } from '../../../constructs/admission/catalogue-admission-policies';

test('defaults: local target, standard profile, one demo namespace, kubeadm ports', () => {
  const s = stackSpec(() => undefined);
  expect(s.target).toBe('local');
  expect(s.spec.profile).toBe('standard');
  expect(s.spec.namespaces).toEqual([{ name: 'hcb-demo' }]);
  expect(s.spec.local).toEqual({
    apiServerPort: 6443,
    etcdClientPort: 2379,
    etcdPeerPort: 2380,
    etcdMetricsPort: 2381,
    controllerManagerPort: 10257,
    schedulerPort: 10259,
  });
  expect(s.manifests).toEqual([]);
});

test('reads `pulumi config --json` output', () => {
  const json = {
    'hcb:target': { value: 'existing' },
    'hcb:profile': { value: 'high' },
    'hcb:namespaces': { value: '["a","b"]', objectValue: ['a', 'b'] },
    'other:key': { value: 'ignored' },
  };
  const s = stackSpec(readerFromPulumiConfigJson(json));
  expect(s.target).toBe('existing');
  expect(s.spec.profile).toBe('high');
  expect(s.spec.namespaces).toEqual([{ name: 'a' }, { name: 'b' }]);
  expect(s.spec.local).toBeUndefined();
});

test.each([
  ['target', 'cloud', /hcb:target.*local\|existing/],
  ['profile', 'extreme', /hcb:profile.*basic\|standard\|high/],
  ['apiServerPort', '70000', /hcb:apiServerPort.*not a port/],
  ['namespaces', '"x"', /hcb:namespaces.*list of strings/],
])('bad %s = %s is refused with the fix', (key, value, message) => {
  expect(() => stackSpec((k) => (k === key ? (value.startsWith('"') ? JSON.parse(value) : value) : undefined))).toThrow(
    message,
  );
});

test('local target without a node: workloads are not awaited, other objects untouched', () => {
  const objs = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', annotations: { a: 'b' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
  ];
  const local = prepareObjects(objs, true, false);
  expect(local[0].metadata?.annotations).toEqual({ a: 'b', 'pulumi.com/skipAwait': 'true' });
  expect(local[1]).toBe(objs[1]);
  expect(prepareObjects(objs, false)[0]).toBe(objs[0]);
});

test('local target with a node: workloads are awaited; claims, Ingresses and LoadBalancer Services never become ready there', () => {
  const objs = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'ClusterIP' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb' }, spec: { type: 'LoadBalancer' } },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i' } },
  ];
  const skipped = (list: KubeObject[]) =>
    list.filter((o) => o.metadata?.annotations?.['pulumi.com/skipAwait'] === 'true').map((o) => o.metadata?.name);
  expect(skipped(prepareObjects(objs, true, true))).toEqual(['lb', 'c', 'i']);
  expect(skipped(prepareObjects(objs, true, false))).toEqual(['d', 's', 'lb', 'c', 'i']);
  expect(skipped(prepareObjects(objs, false, true))).toEqual([]);
});

test('hcb:node: true by default on the local target, never on the existing target; only true or false', () => {
  expect(stackSpec(() => undefined).node).toBe(true);
  expect(stackSpec((k) => (k === 'node' ? 'false' : undefined)).node).toBe(false);
  expect(stackSpec((k) => (k === 'node' ? true : undefined)).node).toBe(true);
  expect(stackSpec(readerFromPulumiConfigJson({ 'hcb:node': { value: 'false' } })).node).toBe(false);
  expect(stackSpec((k) => (({ target: 'existing', node: 'true' }) as Record<string, string>)[k]).node).toBe(false);
  for (const bad of ['yes', '1', 'True', ' true', 1]) {
    expect(() => stackSpec((k) => (k === 'node' ? bad : undefined))).toThrow(
      /hcb:node.*not true or false.*pulumi config set hcb:node true\|false/,
    );
  }
});

test('hcb:admissionModes: per control or default, enforce or dry-run; anything else refused', () => {
  expect(stackSpec(() => undefined).spec.admissionModes).toBeUndefined();
  const s = stackSpec(
    readerFromPulumiConfigJson({
      'hcb:admissionModes': {
        value: '{"default":"dry-run","HCB-WORKLOAD-PRIVILEGED":"enforce"}',
        objectValue: { default: 'dry-run', 'HCB-WORKLOAD-PRIVILEGED': 'enforce' },
      },
    }),
  );
  expect(s.spec.admissionModes).toEqual({ mode: 'dry-run', modes: { 'HCB-WORKLOAD-PRIVILEGED': 'enforce' } });
  // As text (pulumi config set hcb:admissionModes '{...}').
  expect(
    stackSpec((k) => (k === 'admissionModes' ? '{"HCB-WORKLOAD-IMAGE-DIGEST":"enforce"}' : undefined)).spec
      .admissionModes,
  ).toEqual({ modes: { 'HCB-WORKLOAD-IMAGE-DIGEST': 'enforce' } });
  for (const [bad, message] of [
    ['dry-run', /must be an object/],
    [['x'], /must be an object/],
    [{ 'HCB-WORKLOAD-PRIVILEGED': 'Deny' }, /HCB-WORKLOAD-PRIVILEGED.*not enforce or dry-run/],
    [{ 'HCB-WORKLOAD-PRIVILEGED': true }, /not enforce or dry-run/],
    [{ 'HCB-KUBELET-READ-ONLY-PORT': 'enforce' }, /not a control with an admission policy/],
    [{ 'hcb-workload-privileged': 'enforce' }, /not a control with an admission policy/],
  ] as const) {
    expect(() => stackSpec((k) => (k === 'admissionModes' ? bad : undefined))).toThrow(message);
  }
});

test('hcb:admissionModes reaches the rendered bindings', () => {
  const { synthesizeBlueprint } = jest.requireActual(
    '../../../constructs/blueprint',
  ) as typeof import('../../../constructs/blueprint');
  const s = stackSpec((k) =>
    k === 'admissionModes'
      ? { default: 'dry-run', 'HCB-WORKLOAD-PRIVILEGED': 'enforce' }
      : k === 'target'
        ? 'existing'
        : undefined,
  );
  const bindings = synthesizeBlueprint(s.spec).clusterObjects.filter(
    (o) => o.kind === 'ValidatingAdmissionPolicyBinding',
  );
  // Each binding's controls: its own (hcb.dev/control) or its group's (hcb.dev/controls).
  const actions = new Map(
    bindings.flatMap((b) =>
      (b.metadata?.annotations?.['hcb.dev/controls'] ?? b.metadata?.labels?.['hcb.dev/control'] ?? '')
        .split(' ')
        .map((id) => [id, (b as { spec: { validationActions: string[] } }).spec.validationActions] as const),
    ),
  );
  expect(actions.get('HCB-WORKLOAD-PRIVILEGED')).toEqual(['Deny', 'Audit']);
  expect(actions.get('HCB-WORKLOAD-HOST-PATH')).toEqual(['Warn', 'Audit']);
  expect(actions.size).toBe(ADMISSION_POLICY_CONTROLS.length);
});
