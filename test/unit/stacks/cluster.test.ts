/**
 * The Cluster component's pure parts (stacks/cluster.ts) and the hosts target's helpers
 * (stacks/hosts/program.ts, stacks/hosts/target.ts): argument checks before anything is created,
 * the compliance summary, the dial overrides and the hosts blueprint spec.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { complianceSummary, validateClusterArgs } from '../../../stacks/cluster';
import type { HostsTargetSpec } from '../../../stacks/hosts/config';
import { hostPodNetwork, hostsBlueprintSpec } from '../../../stacks/hosts/program';
import { kubeconfigForDial, kubeconfigServer, parseHostsDial } from '../../../stacks/hosts/target';

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

/** A directory standing in for the toolchain (the checks look for the files by name). */
function fakeToolchain(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-unit-bin-'));
  for (const b of ['kubeadm', 'kubelet', 'containerd', 'runc', 'kube-proxy', 'kube-router', 'kube-apiserver', 'etcd'])
    fs.writeFileSync(path.join(dir, b), '');
  return dir;
}

describe('validateClusterArgs', () => {
  const bin = fakeToolchain();
  afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));
  const hosts: HostsTargetSpec = { hosts: [host('cp1', '198.18.4.11', 'control-plane')] };
  const blueprint = synthesizeBlueprint(hostsBlueprintSpec({}, hosts, { stack: 'prod' }));
  const hostsArgs = (h: HostsTargetSpec, extra: Record<string, unknown> = {}) => ({
    blueprint,
    target: { kind: 'hosts' as const, hosts: h, sshPrivateKey: 'k', binDir: bin, workDir: '/tmp/w', ...extra },
  });

  test('a valid hosts cluster passes', () => {
    expect(() => validateClusterArgs(hostsArgs(hosts))).not.toThrow();
  });

  test('errors name the setting, the value and the fix', () => {
    expect(() =>
      validateClusterArgs({ blueprint, target: { kind: 'local', stateDir: 'rel/dir', binDir: bin, node: false } }),
    ).toThrow(/hcb:stateDir" = "rel\/dir" is not an absolute path\. Fix: pulumi config set hcb:stateDir/);
    expect(() =>
      validateClusterArgs({ blueprint, target: { kind: 'local', stateDir: '/s', binDir: '', node: false } }),
    ).toThrow(/HCB_TOOLCHAIN_BIN is not set/);
    expect(() =>
      validateClusterArgs({
        blueprint,
        target: { kind: 'local', stateDir: '/s', binDir: '/nonexistent-bin', node: false },
      }),
    ).toThrow(/lacks kubeadm, kube-apiserver, etcd\. Fix: npm run toolchain/);
    const two: HostsTargetSpec = {
      hosts: [host('cp1', '198.18.4.11', 'control-plane'), host('cp2', '198.18.4.12', 'control-plane')],
    };
    expect(() => validateClusterArgs(hostsArgs(two))).toThrow(
      /hcb:hosts\[1\]" \(host "cp2"\) is a further control plane, but "hcb:controlPlaneEndpoint" is not set.*Fix: pulumi config set hcb:controlPlaneEndpoint/,
    );
    expect(() =>
      validateClusterArgs(
        hostsArgs({ ...two, controlPlaneEndpoint: { host: '198.18.4.2', port: 6443, text: '198.18.4.2:6443' } }),
      ),
    ).not.toThrow();
    const worker: HostsTargetSpec = {
      hosts: [host('cp1', '198.18.4.11', 'control-plane'), host('w1', '198.18.4.12', 'worker')],
    };
    expect(() => validateClusterArgs(hostsArgs(worker))).not.toThrow();
    expect(() => validateClusterArgs(hostsArgs(worker), { workersSupported: false })).toThrow(
      /hcb:hosts\[1\]" \(host "w1"\) has role worker; worker joins are not built.*Nothing was changed/,
    );
    expect(() => validateClusterArgs(hostsArgs(hosts, { dial: { cp9: {} } }))).not.toThrow();
    // A blueprint not made for these hosts (kubeadm would name another node).
    expect(() => validateClusterArgs({ ...hostsArgs(hosts), blueprint: synthesizeBlueprint({}) })).toThrow(
      /does not name the node "cp1"/,
    );
  });
});

test('hostsBlueprintSpec: the first control plane, the ranges, cgroupfs under a per-stack parent, kube-system exempt', () => {
  const hosts: HostsTargetSpec = { hosts: [host('cp1', '198.18.4.11', 'control-plane')] };
  const s = hostsBlueprintSpec({ namespaces: [{ name: 'a' }] }, hosts, { stack: 'prod' });
  expect(s.controlPlane).toMatchObject({
    nodeName: 'cp1',
    advertiseAddress: '198.18.4.11',
    clusterName: 'prod',
    serviceSubnet: '198.19.128.0/17',
    podSubnet: '198.18.128.0/17',
  });
  expect(s.controlPlane?.kubelet).toEqual({ cgroupDriver: 'cgroupfs', cgroupRoot: '/hcb-hosts-prod' });
  expect(s.controlPlane?.kubeProxy).toEqual({ conntrackMaxPerCore: 0 });
  expect(hostsBlueprintSpec({}, hosts, { stack: 'prod', cgroupV1: true }).controlPlane?.kubelet).toMatchObject({
    failCgroupV1: false,
  });
  expect(s.controlPlane?.admission?.podSecurity?.exemptions).toHaveLength(1);
  expect(() => hostsBlueprintSpec({}, hosts, { stack: 'a b' })).toThrow(/cannot name a cgroup/);
  expect(hostPodNetwork(0)).toEqual({ podCidr: '198.18.128.0/24', podGateway: '198.18.128.1' });
  expect(() => hostPodNetwork(128)).toThrow(/out of range/);
});

test('complianceSummary counts the catalogue on the rendered artefacts', () => {
  const b = synthesizeBlueprint({ namespaces: [{ name: 'x' }] });
  const s = complianceSummary(b);
  expect(s.total).toBe(s.pass + s.fail + s.accepted + s.notApplicable + s.notEvaluated + s.error);
  expect(s.pass).toBeGreaterThan(50);
  // A privileged pod among the stack's manifests is counted as failing.
  const bad = complianceSummary(b, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'x' },
      spec: { containers: [{ name: 'c', image: 'i', securityContext: { privileged: true } }] },
    },
  ]);
  expect(bad.fail).toBeGreaterThan(s.fail);
});

test('HCB_HOSTS_DIAL and the kubeconfig pointed at a forwarded API endpoint', () => {
  expect(parseHostsDial(undefined)).toEqual({});
  expect(parseHostsDial('{"cp1": {"ssh": "127.0.0.1:2201", "api": "[::1]:6443"}}')).toEqual({
    cp1: { ssh: { host: '127.0.0.1', port: 2201 }, api: { host: '::1', port: 6443 } },
  });
  expect(() => parseHostsDial('x')).toThrow(/HCB_HOSTS_DIAL is not JSON/);
  expect(() => parseHostsDial('{"cp1": {"ssh": "127.0.0.1"}}')).toThrow(
    /HCB_HOSTS_DIAL\["cp1"\]\.ssh = "127\.0\.0\.1" is not "host:port"/,
  );
  expect(() => parseHostsDial('{"cp1": {"web": "a:1"}}')).toThrow(/unknown field "web"/);
  const conf =
    'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QQ==\n    server: https://198.18.4.11:6443\n  name: k\n';
  expect(kubeconfigForDial(conf, '198.18.4.11', undefined)).toBe(conf);
  const d = kubeconfigForDial(conf, '198.18.4.11', { api: { host: '127.0.0.1', port: 47691 } });
  expect(d).toContain('    server: https://127.0.0.1:47691\n    tls-server-name: 198.18.4.11\n');
  expect(kubeconfigServer(conf)).toBe('https://198.18.4.11:6443');
});
