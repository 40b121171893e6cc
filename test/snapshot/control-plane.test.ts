/**
 * Snapshots of every file the hardened control plane renders, per protection profile, plus the
 * local (loopback) target. Key material never appears: keys are `{{hcb-secret:NAME}}` tokens.
 */
import { App } from 'cdk8s';
import {
  HardenedControlPlane,
  HardenedControlPlaneProps,
  KubeadmJoinConfiguration,
  ProtectionProfile,
} from '../../constructs/control-plane';
import { PodSecurityExemption } from '../../constructs/admission';

function build(props: HardenedControlPlaneProps): HardenedControlPlane {
  const app = new App({ outdir: '/nonexistent-hcb-test' });
  return new HardenedControlPlane(app, 'cp', props);
}

/** Base64 runs of 32+ bytes look like key material and must never be rendered. */
const KEY_MATERIAL = /[A-Za-z0-9+/]{43}=/;

function snapshotAll(cp: HardenedControlPlane): void {
  for (const f of cp.nodeFiles.filter((x) => x.content !== undefined)) {
    expect(f.content).not.toMatch(KEY_MATERIAL);
    expect(f.content).toMatchSnapshot(
      `${f.path} (mode ${f.mode.toString(8)}, ${f.role}${f.sensitive ? ', sensitive' : ''})`,
    );
  }
  expect(cp.manifest.render()).toMatchSnapshot('node file manifest');
}

describe.each(['basic', 'standard', 'high'] as ProtectionProfile[])('profile %s', (profile) => {
  test('every rendered file', () => {
    snapshotAll(build({ profile, admission: { podSecurity: { evaluationDate: '2026-01-15' } } }));
  });
});

test('local target (loopback, non-default ports) with key rotation and a reviewed exemption', () => {
  const cp = build({
    loopbackOnly: true,
    nodeName: 'hcb-local',
    clusterName: 'hcb-local',
    apiServerPort: 16443,
    etcdClientPort: 12379,
    etcdPeerPort: 12380,
    etcdMetricsPort: 12381,
    controllerManagerPort: 11257,
    schedulerPort: 11259,
    encryption: { keys: ['encryption-key-2', 'encryption-key-1'], extraResources: ['configmaps'] },
    admission: {
      podSecurity: {
        evaluationDate: '2026-01-15',
        exemptions: [
          PodSecurityExemption.namespace('kube-system', {
            justification: 'kube-proxy needs host networking and privileges',
            owner: 'platform-team',
            expires: '2026-12-31',
          }),
        ],
      },
    },
  });
  const enc = cp.nodeFiles.find((f) => f.role === 'encryption-config')!;
  expect(enc.sensitive).toBe(true);
  expect(enc.content).toContain('secret: "{{hcb-secret:encryption-key-2}}"');
  snapshotAll(cp);
});

test('join configurations', () => {
  const app = new App({ outdir: '/nonexistent-hcb-test' });
  for (const f of new KubeadmJoinConfiguration(app, 'worker').nodeFiles)
    expect(f.content).toMatchSnapshot(`worker ${f.path}`);
  for (const f of new KubeadmJoinConfiguration(app, 'cp2', { controlPlane: true, advertiseAddress: '192.0.2.11' })
    .nodeFiles) {
    expect(f.content).toMatchSnapshot(`control plane ${f.path}`);
  }
});
