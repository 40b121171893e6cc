// A kubelet's node role comes from explicit input only (policies/checks/node-role.ts), and
// HCB-KUBELET-STATIC-POD-PATH reads it: not applicable on control-plane nodes, fail on workers and
// on kubelets whose role nobody states.
import { CATALOGUE, evaluate } from '../../../policies';
import { nodeRoleOf } from '../../../policies/checks/node-role';
import type { Document, KubeObject } from '../../../policies/model';

const doc = (object: KubeObject, file = 'kubeadm.yaml'): Document => ({ object, source: { file } });
const kubelet = (extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  kind: 'KubeletConfiguration',
  ...extra,
});
const init: KubeObject = { apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration' };
const join = (extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'kubeadm.k8s.io/v1beta4',
  kind: 'JoinConfiguration',
  ...extra,
});
const control = CATALOGUE.find((c) => c.id === 'HCB-KUBELET-STATIC-POD-PATH')!;
const run = (docs: Document[]) => evaluate(docs, { controls: [control], now: new Date('2026-01-15T00:00:00Z') });

describe('node role', () => {
  test('kubeadm registrations: init and a control-plane join are control planes, a plain join a worker', () => {
    expect(nodeRoleOf(doc(init)).role).toBe('control-plane');
    expect(nodeRoleOf(doc(join({ controlPlane: {} }))).role).toBe('control-plane');
    expect(nodeRoleOf(doc(join({ controlPlane: { localAPIEndpoint: { advertiseAddress: '198.18.0.3' } } }))).role).toBe(
      'control-plane',
    );
    expect(nodeRoleOf(doc(join())).role).toBe('worker');
    // kubeadm's *JoinControlPlane: null is nil, a worker.
    expect(nodeRoleOf(doc(join({ controlPlane: null }))).role).toBe('worker');
    expect(nodeRoleOf(doc(join({ controlPlane: 'yes' }))).role).toBe('unknown');
  });

  test('observed kubelets: the hcb.dev/node-role annotation, nothing else', () => {
    const p = (annotations?: Record<string, string>): Document =>
      doc({
        apiVersion: 'hcb.dev/v1alpha1',
        kind: 'KubeletProcess',
        metadata: { name: 'n', ...(annotations ? { annotations } : {}) },
        command: ['kubelet'],
      } as KubeObject);
    expect(nodeRoleOf(p({ 'hcb.dev/node-role': 'control-plane' })).role).toBe('control-plane');
    expect(nodeRoleOf(p({ 'hcb.dev/node-role': 'worker' })).role).toBe('worker');
    expect(nodeRoleOf(p({ 'hcb.dev/node-role': 'master' }))).toEqual({
      role: 'unknown',
      because: expect.stringContaining('"master" is no role'),
    });
    expect(nodeRoleOf(p()).role).toBe('unknown');
  });

  test('no input that states a role: unknown, with the reason', () => {
    expect(nodeRoleOf(undefined)).toEqual({
      role: 'unknown',
      because: expect.stringContaining('no kubeadm InitConfiguration or JoinConfiguration'),
    });
    expect(nodeRoleOf(doc({ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'ClusterConfiguration' })).role).toBe(
      'unknown',
    );
  });
});

describe('HCB-KUBELET-STATIC-POD-PATH by node role', () => {
  test('a control-plane kubelet with staticPodPath is not applicable, with the reason, never a pass', () => {
    const f = run([doc(init), doc(kubelet({ staticPodPath: '/etc/kubernetes/manifests' }))]);
    expect(f.map((x) => x.status)).toEqual(['not-applicable']);
    expect(f[0].message).toMatch(/on a control-plane node: .*kubeadm InitConfiguration/);
  });

  test('kubeadm defaults staticPodPath on a worker join: fail', () => {
    const f = run([doc(join()), doc(kubelet())]);
    expect(f.map((x) => x.status)).toEqual(['fail']);
    expect(f[0].message).toContain('staticPodPath: /etc/kubernetes/manifests on a worker');
  });

  test('a worker whose join patch removes the path passes', () => {
    const f = run([
      doc(join({ nodeRegistration: { kubeletExtraArgs: [{ name: 'pod-manifest-path', value: '' }] } })),
      doc(kubelet()),
    ]);
    expect(f.map((x) => x.status)).toEqual(['pass']);
  });

  test('an unknown role with a path fails and says how to state the role', () => {
    const f = run([doc(kubelet({ staticPodPath: '/etc/kubernetes/manifests' }))]);
    expect(f.map((x) => x.status)).toEqual(['fail']);
    expect(f[0].message).toContain("the node's role is unknown, so it counts as a worker");
    expect(f[0].message).toContain('hcb.dev/node-role');
  });
});
