/**
 * Stack configuration → BlueprintSpec, shared by the Pulumi program and `hcb synth
 * --stack-config`: defaults, `pulumi config --json` input, and clear errors for bad values.
 */
import { readerFromPulumiConfigJson, stackSpec } from '../../../stacks/spec';
import { prepareObjects } from '../../../stacks/apply';

test('defaults: local target, standard profile, one demo namespace, kubeadm ports', () => {
  const s = stackSpec(() => undefined);
  expect(s.target).toBe('local');
  expect(s.spec.profile).toBe('standard');
  expect(s.spec.namespaces).toEqual([{ name: 'hcb-demo' }]);
  expect(s.spec.local).toEqual({ apiServerPort: 6443, etcdClientPort: 2379, etcdPeerPort: 2380, etcdMetricsPort: 2381, controllerManagerPort: 10257, schedulerPort: 10259 });
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
  expect(() => stackSpec((k) => (k === key ? (value.startsWith('"') ? JSON.parse(value) : value) : undefined))).toThrow(message);
});

test('local target: workloads are not awaited, other objects untouched', () => {
  const objs = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', annotations: { a: 'b' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
  ];
  const local = prepareObjects(objs, true);
  expect(local[0].metadata?.annotations).toEqual({ a: 'b', 'pulumi.com/skipAwait': 'true' });
  expect(local[1]).toBe(objs[1]);
  expect(prepareObjects(objs, false)[0]).toBe(objs[0]);
});
