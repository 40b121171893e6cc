/**
 * hcb:backup in the cluster component (issue 14), under Pulumi's mocks (no engine, no host): one
 * `hcb:HostBackupSchedule` per control-plane host (none for workers), a child of the component
 * with hcb:backup's interval and retention, the backup key and the SSH key as secrets; without
 * hcb:backup there is none.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { Cluster } from '../../../stacks/cluster';
import type { HostsTargetSpec } from '../../../stacks/hosts/config';
import { hostsBlueprintSpec } from '../../../stacks/hosts/program';

jest.setTimeout(120_000);

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (a: pulumi.runtime.MockResourceArgs) => {
        registered.push({ type: a.type, name: a.name, inputs: a.inputs as Record<string, unknown> });
        return {
          id: `${a.name}-id`,
          state: {
            ...a.inputs,
            adminKubeconfig: 'apiVersion: v1\nclusters:\n- cluster:\n    server: https://198.18.6.11:6443\n',
          },
        };
      },
      call: (a: pulumi.runtime.MockCallArgs) => a.inputs,
    },
    'hcb',
    'unit',
    false,
  );
});

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbGp5dTJf0264nGwUsMHwpYo4AXTWkv49Ea4R/aqWjq';
const host = (name: string, address: string, role: 'control-plane' | 'worker') => ({
  name,
  address,
  port: 22,
  user: 'root',
  role,
  hostKey: KEY,
  hostKeyFingerprint: 'SHA256:x',
});

let bin: string;
beforeAll(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-unit-bin-'));
  for (const b of ['kubeadm', 'kubelet', 'containerd', 'runc', 'kube-proxy', 'kube-router'])
    fs.writeFileSync(path.join(bin, b), '');
});
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

const hosts: HostsTargetSpec = {
  hosts: [
    host('cp1', '198.18.6.11', 'control-plane'),
    host('w1', '198.18.6.21', 'worker'),
    host('cp2', '198.18.6.12', 'control-plane'),
    host('cp3', '198.18.6.13', 'control-plane'),
  ],
  controlPlaneEndpoint: { host: '198.18.6.10', port: 6443, text: '198.18.6.10:6443' },
};

function cluster(name: string, backup?: { interval: string; retain: number; key: string; cluster: string }): Cluster {
  const blueprint = synthesizeBlueprint(hostsBlueprintSpec({}, hosts, { stack: 'prod' }));
  return new Cluster(name, {
    blueprint,
    target: {
      kind: 'hosts',
      hosts,
      sshPrivateKey: pulumi.secret('ssh key text'),
      binDir: bin,
      workDir: '/tmp/hcb-unit-work',
      ...(backup ? { backup } : {}),
    },
  });
}

function settle(r: pulumi.Resource[]): Promise<unknown> {
  return new Promise((resolve) => pulumi.all(r.map((x) => x.urn)).apply(resolve));
}

test('one schedule per control plane, a child of the component, with the setting and the key', async () => {
  registered.length = 0;
  const c = cluster('with-backup', { interval: '1h', retain: 2, key: 'a2V5', cluster: 'prod' });
  expect(c.backupSchedules).toHaveLength(3);
  await settle([...c.backupSchedules, c.controlPlaneHost!, ...c.controlPlaneJoins]);
  await new Promise((r) => setTimeout(r, 200));
  const schedules = registered.filter((r) => r.type.endsWith('hcb:HostBackupSchedule'));
  expect(schedules.map((r) => r.name)).toEqual(['backup-cp1', 'backup-cp2', 'backup-cp3']);
  for (const s of schedules) {
    expect(s.inputs.backup).toEqual({ interval: '1h', retain: 2 });
    expect(s.inputs.cluster).toBe('prod');
    expect((s.inputs.host as { name: string }).name).toBe(s.name.replace('backup-', ''));
  }
  // A child of the component.
  const urns = await new Promise<string[]>((resolve) =>
    pulumi.all(c.backupSchedules.map((s) => s.urn)).apply((u) => resolve(u)),
  );
  for (const u of urns) expect(u).toContain('hcb:index:Cluster$');
  // The key and the SSH key reach the resource as secrets (Pulumi's secret signature around the value).
  const secret = (value: string) => ({ '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', value });
  for (const s of schedules) {
    expect(s.inputs.backupKey).toEqual(secret('a2V5'));
    expect(s.inputs.sshPrivateKey).toEqual(secret('ssh key text'));
  }
});

test('without hcb:backup there is no schedule', async () => {
  registered.length = 0;
  const c = cluster('without-backup');
  await settle([c.controlPlaneHost!]);
  await new Promise((r) => setTimeout(r, 200));
  expect(c.backupSchedules).toEqual([]);
  expect(registered.filter((r) => r.type.endsWith('hcb:HostBackupSchedule'))).toEqual([]);
  expect(registered.filter((r) => r.type.endsWith('hcb:HostControlPlane'))).toHaveLength(3);
});
