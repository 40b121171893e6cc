/**
 * The local node's pure parts: its address plan stays inside 198.18.0.0/15, the containerd and
 * CNI configuration say what the node promises, images are reproducible OCI archives, and the
 * local target's KubeletConfiguration carries the node settings visibly.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { HardenedControlPlane } from '../../../constructs/control-plane';
import { App } from 'cdk8s';
import {
  checkNodeNetwork,
  insideReservedRange,
  LOCAL_NODE_NETWORK,
  overlaps,
} from '../../../stacks/local/node/network';
import { ociArchive, tarArchive } from '../../../stacks/local/node/images';
import { lacksSysResource, renderCniConfig, renderContainerdConfig } from '../../../stacks/local/node/runtime-config';
import { cgroupDirs } from '../../../stacks/local/node/node';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('node network', () => {
  test('the local plan lies in 198.18.0.0/15 and its ranges do not overlap', () => {
    expect(() => checkNodeNetwork(LOCAL_NODE_NETWORK)).not.toThrow();
    expect(insideReservedRange(LOCAL_NODE_NETWORK.podCidr)).toBe(true);
    expect(insideReservedRange(LOCAL_NODE_NETWORK.serviceCidr)).toBe(true);
  });

  test.each([
    [{ podCidr: '10.244.0.0/16' }, /pod range 10.244.0.0\/16 is outside/],
    [{ serviceCidr: '10.96.0.0/12' }, /service range 10.96.0.0\/12 is outside/],
    [{ nodeAddress: '192.168.1.2' }, /node address 192.168.1.2 is outside/],
    [{ serviceCidr: '198.18.16.0/24' }, /overlaps/],
    [{ podGateway: '198.18.16.0' }, /not a host address/],
    [{ podCidr: '198.20.0.0/16' }, /outside/],
  ])('refuses %j', (change, error) => {
    expect(() => checkNodeNetwork({ ...LOCAL_NODE_NETWORK, ...change })).toThrow(error);
  });

  test('range arithmetic', () => {
    expect(insideReservedRange('198.19.255.255')).toBe(true);
    expect(insideReservedRange('198.20.0.0')).toBe(false);
    expect(insideReservedRange('198.18.0.0/15')).toBe(true);
    expect(insideReservedRange('198.16.0.0/14')).toBe(false);
    expect(overlaps('198.18.0.0/24', '198.18.0.128/25')).toBe(true);
    expect(overlaps('198.18.0.0/24', '198.18.1.0/24')).toBe(false);
    expect(() => insideReservedRange('198.18.0.1/24')).toThrow(/host bits/);
  });
});

describe('containerd configuration', () => {
  const toml = renderContainerdConfig({ runcPath: '/opt/bin/runc', sandboxImage: `hcb.local/hcb/pause@${DIGEST}` });

  test('cgroupfs, runc by absolute path, CNI dirs, sandbox image by digest, no TCP listeners', () => {
    expect(toml).toMatch(/^version = 3$/m);
    expect(toml).toMatch(/SystemdCgroup = false/);
    expect(toml).toMatch(/BinaryName = "\/opt\/bin\/runc"/);
    expect(toml).toMatch(/conf_dir = "\/etc\/cni\/net.d"/);
    expect(toml).toMatch(/bin_dirs = \["\/opt\/cni\/bin"\]/);
    expect(toml).toContain(`sandbox = "hcb.local/hcb/pause@${DIGEST}"`);
    expect(toml).toMatch(/\[metrics\]\n {2}address = ""/);
    expect(toml).toMatch(/\[debug\]\n {2}address = ""/);
    expect(toml).toMatch(/enable_unprivileged_ports = false/);
    expect(toml).toMatch(/stream_server_address = "127.0.0.1"/);
  });

  test('oom_score_adj is restricted only where the host withholds CAP_SYS_RESOURCE', () => {
    expect(toml).toMatch(/restrict_oom_score_adj = false/);
    expect(renderContainerdConfig({ runcPath: '/r', sandboxImage: `x@${DIGEST}`, restrictOomScoreAdj: true })).toMatch(
      /restrict_oom_score_adj = true/,
    );
    expect(lacksSysResource('000001fffeffffff')).toBe(true);
    expect(lacksSysResource('000001ffffffffff')).toBe(false);
  });

  test('refuses a sandbox image by tag and a relative runc', () => {
    expect(() => renderContainerdConfig({ runcPath: '/r', sandboxImage: 'registry.k8s.io/pause:3.10' })).toThrow(
      /by digest/,
    );
    expect(() => renderContainerdConfig({ runcPath: 'runc', sandboxImage: `x@${DIGEST}` })).toThrow(/absolute/);
  });

  test('CNI: a bridge in the pod range, no masquerading', () => {
    const conf = JSON.parse(renderCniConfig(LOCAL_NODE_NETWORK));
    const bridge = conf.plugins[0];
    expect(bridge).toMatchObject({ type: 'bridge', ipMasq: false, isGateway: true });
    expect(bridge.ipam.ranges).toEqual([[{ subnet: '198.18.16.0/20', gateway: '198.18.16.1' }]]);
    expect(conf.plugins.map((p: { type: string }) => p.type)).toEqual(['bridge', 'portmap']);
  });
});

describe('images', () => {
  const spec = { repository: 'hcb/test', tag: 'x', binary: '/bin/true', entrypoint: ['/true'], user: '65532:65532' };

  test('an OCI archive is reproducible and tar can read it', () => {
    const bin = Buffer.from('#!/bin/sh\necho hi\n');
    const a = ociArchive(spec, bin);
    const b = ociArchive(spec, bin);
    expect(a.digest).toBe(b.digest);
    expect(a.archive.equals(b.archive)).toBe(true);
    expect(ociArchive(spec, Buffer.from('other')).digest).not.toBe(a.digest);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-oci-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.tar'), a.archive);
      const list = spawnSync('tar', ['tf', path.join(dir, 'a.tar')], { encoding: 'utf8' });
      expect(list.status).toBe(0);
      expect(list.stdout).toMatch(/^oci-layout$/m);
      expect(list.stdout).toMatch(/^index.json$/m);
      expect(list.stdout).toContain(`blobs/sha256/${a.digest.slice(7)}`);
      spawnSync('tar', ['xf', path.join(dir, 'a.tar'), '-C', dir]);
      const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
      expect(index.manifests[0].digest).toBe(a.digest);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'blobs/sha256', a.digest.slice(7)), 'utf8'));
      const config = JSON.parse(
        fs.readFileSync(path.join(dir, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'),
      );
      expect(config.config.User).toBe('65532:65532');
      expect(config.config.Entrypoint).toEqual(['/true']);
      const layer = path.join(dir, 'blobs/sha256', manifest.layers[0].digest.slice(7));
      const files = spawnSync('tar', ['tvzf', layer], { encoding: 'utf8' });
      expect(files.stdout).toMatch(/^-rwxr-xr-x 0\/0 .* true$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tar names longer than ustar allows are refused', () => {
    expect(() => tarArchive([{ name: 'x'.repeat(101), mode: 0o644 }])).toThrow(/too long/);
  });
});

describe('KubeletConfiguration for the local node', () => {
  const ports = {
    apiServerPort: 47143,
    etcdClientPort: 47144,
    etcdPeerPort: 47145,
    etcdMetricsPort: 47146,
    controllerManagerPort: 47147,
    schedulerPort: 47148,
  };
  const kubelet = (spec: Parameters<typeof synthesizeBlueprint>[0]) =>
    synthesizeBlueprint(spec).configDocuments.find((d) => d.kind === 'KubeletConfiguration') as Record<string, unknown>;

  test('the local target: cgroupfs, its own cgroup parent, cgroup v1 allowed, services in 198.19.0.0/16', () => {
    const k = kubelet({ local: ports });
    expect(k).toMatchObject({ cgroupDriver: 'cgroupfs', cgroupRoot: '/hcb-local-47143', failCgroupV1: false });
    const cluster = synthesizeBlueprint({ local: ports }).configDocuments.find(
      (d) => d.kind === 'ClusterConfiguration',
    ) as any;
    expect(cluster.networking.serviceSubnet).toBe('198.19.0.0/16');
  });

  test("the local settings merge with the spec's kubelet props instead of being replaced", () => {
    const k = kubelet({ local: ports, controlPlane: { kubelet: { maxPods: 50 } } });
    expect(k).toMatchObject({ cgroupDriver: 'cgroupfs', cgroupRoot: '/hcb-local-47143', maxPods: 50 });
  });

  test('real nodes keep systemd and the kubelet default for cgroup v1', () => {
    const k = kubelet({});
    expect(k.cgroupDriver).toBe('systemd');
    expect(k).not.toHaveProperty('failCgroupV1');
    expect(k).not.toHaveProperty('cgroupRoot');
  });

  test('prop validation', () => {
    const make = (kubeletProps: object) => () =>
      new HardenedControlPlane(new App(), 'cp', { kubelet: kubeletProps as any });
    expect(make({ cgroupDriver: 'other' })).toThrow(/unknown cgroup driver/);
    expect(make({ cgroupDriver: 'cgroupfs', cgroupRoot: 'relative' })).toThrow(/absolute cgroup path/);
    expect(make({ cgroupRoot: '/hcb' })).toThrow(/slice/);
    expect(make({ cgroupRoot: '/hcb.slice' })).not.toThrow();
  });
});

describe('cgroup walk', () => {
  test('finds the directories of a parent in every hierarchy, and none when absent', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-cg-'));
    try {
      for (const h of ['cpu', 'memory']) fs.mkdirSync(path.join(base, h, 'hcb-x/kubepods/pod1'), { recursive: true });
      fs.mkdirSync(path.join(base, 'pids'));
      expect(
        cgroupDirs('/hcb-x', base)
          .map((d) => path.relative(base, d))
          .sort(),
      ).toEqual(
        [
          'cpu/hcb-x',
          'cpu/hcb-x/kubepods',
          'cpu/hcb-x/kubepods/pod1',
          'memory/hcb-x',
          'memory/hcb-x/kubepods',
          'memory/hcb-x/kubepods/pod1',
        ].sort(),
      );
      expect(cgroupDirs('/other', base)).toEqual([]);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
