/**
 * Every kubeadm configuration the blueprint renders is checked by the real kubeadm binary
 * (`kubeadm config validate`) from the project's pinned toolchain. Without the binary this
 * test FAILS: run `npm run toolchain` (or point HCB_TOOLCHAIN_BIN at the bin directory).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdk8s';
import {
  HardenedControlPlane,
  HardenedControlPlaneProps,
  KubeadmJoinConfiguration,
  ProtectionProfile,
} from '../../../../constructs/control-plane';
import { build } from './support';

function findKubeadm(): { kubeadm?: string; why: string } {
  const fromEnv = process.env.HCB_TOOLCHAIN_BIN;
  if (fromEnv) {
    const k = path.join(fromEnv, 'kubeadm');
    return fs.existsSync(k) ? { kubeadm: k, why: '' } : { why: `HCB_TOOLCHAIN_BIN=${fromEnv} has no kubeadm` };
  }
  const root = path.resolve(__dirname, '../../../..');
  const res = spawnSync('bash', [path.join(root, 'tools/build-toolchain.sh'), '--bin-dir'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const dir = (res.stdout ?? '').trim().split('\n').pop() ?? '';
  if (res.status === 0 && dir && fs.existsSync(path.join(dir, 'kubeadm')))
    return { kubeadm: path.join(dir, 'kubeadm'), why: '' };
  return {
    why: `tools/build-toolchain.sh --bin-dir exited ${res.status}: ${(res.stderr || res.stdout || '').trim().slice(0, 300)}`,
  };
}

const found = findKubeadm();
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-kubeadm-validate-'));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function kubeadm(): string {
  if (!found.kubeadm) {
    throw new Error(
      `kubeadm from the pinned toolchain is required for this test and was not found (${found.why}). Run \`npm run toolchain\`, or set HCB_TOOLCHAIN_BIN to its bin directory.`,
    );
  }
  return found.kubeadm;
}

function validate(name: string, content: string, extraArgs: string[] = []): { status: number | null; out: string } {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, content, { mode: 0o600 });
  const res = spawnSync(kubeadm(), ['config', 'validate', '--config', file, ...extraArgs], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, KUBECONFIG: '' },
  });
  return { status: res.status, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
}

function kubeadmConfig(cp: HardenedControlPlane): string {
  const f = cp.nodeFiles.find((x) => x.role === 'kubeadm-config');
  expect(f?.content).toBeDefined();
  return f!.content!;
}

function expectValid(name: string, content: string, extraArgs: string[] = []): void {
  const r = validate(name, content, extraArgs);
  if (r.status !== 0) throw new Error(`kubeadm config validate rejected ${name} (exit ${r.status}):\n${r.out}`);
  expect(r.out).toMatch(/\bok\b/);
}

// TEST-NET-1 (RFC 5737): a routable-looking address that needs no interface on this host.
const ADDRESS = '192.0.2.10';

describe('kubeadm config validate accepts every rendered configuration', () => {
  test('the kubeadm binary is the pinned v1.36 release', () => {
    const res = spawnSync(kubeadm(), ['version', '-o', 'short'], { encoding: 'utf8' });
    expect(res.stdout.trim()).toMatch(/^v1\.36\.\d+$/);
  });

  for (const profile of ['basic', 'standard', 'high'] as ProtectionProfile[]) {
    test(`profile ${profile}`, () => {
      expectValid(`profile-${profile}`, kubeadmConfig(build({ profile, advertiseAddress: ADDRESS })));
    });
    test(`profile ${profile}, kubeadm detecting the address`, () => {
      expectValid(`profile-${profile}-detect`, kubeadmConfig(build({ profile })));
    });
  }

  test('non-default ports with a routable address', () => {
    const cp = build({
      advertiseAddress: ADDRESS,
      nodeName: 'cp-1',
      apiServerPort: 16443,
      etcdClientPort: 12379,
      etcdPeerPort: 12380,
      etcdMetricsPort: 12381,
      controllerManagerPort: 11257,
      schedulerPort: 11259,
    });
    expectValid('ports', kubeadmConfig(cp));
  });

  test('the local target: loopback only, non-default ports, node name hcb-local', () => {
    const props: HardenedControlPlaneProps = {
      loopbackOnly: true,
      advertiseAddress: '127.0.0.1',
      nodeName: 'hcb-local',
      clusterName: 'hcb-local',
      apiServerPort: 16443,
      etcdClientPort: 12379,
      etcdPeerPort: 12380,
      etcdMetricsPort: 12381,
      controllerManagerPort: 11257,
      schedulerPort: 11259,
    };
    for (const profile of ['basic', 'standard', 'high'] as ProtectionProfile[]) {
      expectValid(`local-${profile}`, kubeadmConfig(build({ ...props, profile })));
    }
  });

  test('anonymous authentication disabled, extra SANs, pod subnet, custom CA lifetimes', () => {
    const cp = build({
      advertiseAddress: ADDRESS,
      apiServer: { anonymousAuth: 'disabled' },
      certSANs: ['api.example.org', '192.0.2.20'],
      podSubnet: '10.244.0.0/16',
      controlPlaneEndpoint: 'api.example.org:6443',
      pki: { keyAlgorithm: 'ECDSA-P256', certificateValidityPeriod: '2160h' },
    });
    expectValid('variants', kubeadmConfig(cp));
  });

  test('JoinConfiguration for a worker and for a control-plane node', () => {
    // kubeadm checks that the discovery kubeconfig exists: validate inside a private root.
    const rootfs = path.join(tmp, 'rootfs');
    const app = new App({ outdir: '/nonexistent-hcb-test' });
    for (const [id, props] of [
      ['worker', {}],
      ['control-plane', { controlPlane: true, advertiseAddress: ADDRESS, apiServerPort: 6443 }],
    ] as const) {
      const join = new KubeadmJoinConfiguration(app, id, props);
      for (const f of join.nodeFiles) {
        fs.mkdirSync(path.join(rootfs, path.dirname(f.path)), { recursive: true });
        fs.writeFileSync(path.join(rootfs, f.path), f.content!);
      }
      const discovery = path.join(rootfs, '/etc/kubernetes/discovery/cluster-info.conf');
      fs.mkdirSync(path.dirname(discovery), { recursive: true });
      fs.writeFileSync(discovery, 'apiVersion: v1\nkind: Config\nclusters: []\n');
      const cfg = join.nodeFiles.find((f) => f.role === 'kubeadm-join-config')!;
      const res = spawnSync(kubeadm(), ['config', 'validate', '--config', cfg.path, '--rootfs', rootfs], {
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: '' },
      });
      if (res.status !== 0)
        throw new Error(`kubeadm rejected the ${id} join configuration:\n${res.stdout}${res.stderr}`);
    }
  });

  test('the check can fail: kubeadm rejects a broken configuration', () => {
    const broken = kubeadmConfig(build({ advertiseAddress: ADDRESS })).replace(
      'encryptionAlgorithm: RSA-3072',
      'encryptionAlgorithm: DSA-512',
    );
    expect(broken).toContain('DSA-512');
    const r = validate('broken', broken);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/encryptionAlgorithm/);
  });
});
