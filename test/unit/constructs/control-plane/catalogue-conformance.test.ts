/**
 * The project's control catalogue, run over everything HardenedControlPlane renders, finds no
 * failure and no error. kubeadm's control plane runs as static pods, so the control-plane
 * KubeletConfiguration keeps staticPodPath: HCB-KUBELET-STATIC-POD-PATH is not applicable there
 * (the InitConfiguration makes it a control-plane node), without any exception.
 */
import type { HardenedControlPlaneProps, ProtectionProfile } from '../../../../constructs/control-plane';
import { evaluate } from '../../../../policies';
import type { Document } from '../../../../policies/model';
import { build } from './support';

const STATIC_POD_PATH = 'HCB-KUBELET-STATIC-POD-PATH';

function findings(props: HardenedControlPlaneProps) {
  const cp = build(props);
  const docs: Document[] = [...cp.documents, cp.nodeFileManifest()].map((object) => ({
    object,
    source: { constructPath: cp.node.path },
  }));
  return evaluate(docs, { now: new Date('2026-01-15T00:00:00Z') });
}

describe('catalogue over the rendered control plane', () => {
  test.each(['basic', 'standard', 'high'] as ProtectionProfile[])('profile %s: no failures, no errors', (profile) => {
    const f = findings({ profile });
    const bad = f.filter((x) => x.status === 'fail' || x.status === 'error').map((x) => `${x.control}: ${x.message}`);
    expect(bad).toEqual([]);
    const staticPods = f.find((x) => x.control === STATIC_POD_PATH);
    expect(staticPods?.status).toBe('not-applicable');
    expect(staticPods?.message).toContain('kubeadm InitConfiguration');
    expect(f.filter((x) => x.status === 'pass').length).toBeGreaterThan(50);
  });

  test('local target: no failures, no errors', () => {
    const f = findings({
      loopbackOnly: true,
      nodeName: 'hcb-local',
      etcdClientPort: 12379,
      etcdPeerPort: 12380,
      etcdMetricsPort: 12381,
      apiServerPort: 16443,
    });
    expect(f.filter((x) => x.status === 'fail' || x.status === 'error').map((x) => x.control)).toEqual([]);
  });

  test('the catalogue notices a weakened configuration', () => {
    const f = findings({
      apiServer: { anonymousAuth: 'health-endpoints', requestTimeout: '60s' },
      kubelet: { protectKernelDefaults: false, seccompDefault: false },
    });
    const failed = new Set(f.filter((x) => x.status === 'fail').map((x) => x.control));
    expect(failed.size).toBeGreaterThan(0);
  });
});
