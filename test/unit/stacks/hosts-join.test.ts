/**
 * The pure parts of the hosts target's worker join and pod network (stacks/hosts/join.ts,
 * network.ts): the JoinConfiguration a worker gets, what is read from the blueprint's kubeadm
 * configuration, and the routes between the hosts' pod ranges. The SSH side runs in
 * test/e2e/hosts-join.test.ts.
 */
import { parse } from 'yaml';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { joinNodeFiles, readClusterConfig } from '../../../stacks/hosts/join';
import { podRoutes } from '../../../stacks/hosts/network';

const spec = (cgroupDriver: 'cgroupfs' | 'systemd' = 'cgroupfs') => ({
  admissionPolicies: false,
  controlPlane: {
    nodeName: 'cp1',
    clusterName: 'unit',
    advertiseAddress: '198.18.3.11',
    podSubnet: '198.18.96.0/19',
    serviceSubnet: '198.19.208.0/20',
    kubelet: { cgroupDriver, cgroupRoot: cgroupDriver === 'systemd' ? '/hcb.slice' : '/hcb-unit', failCgroupV1: false },
  },
});

test('a worker gets the blueprint-rendered JoinConfiguration with its own node name, file discovery and the no-static-pods patch', () => {
  const files = joinNodeFiles('w1');
  const join = files.find((f) => f.role === 'kubeadm-join-config')!;
  expect(join.mode).toBe(0o600);
  const doc = parse(join.content!) as Record<string, any>;
  expect(doc.kind).toBe('JoinConfiguration');
  expect(doc.nodeRegistration.name).toBe('w1');
  expect(doc.discovery).toEqual({ file: { kubeConfigPath: '/etc/kubernetes/discovery/cluster-info.conf' } });
  expect(doc.discovery.tlsBootstrapToken).toBeUndefined();
  expect(doc.controlPlane).toBeUndefined();
  const patch = files.find((f) => f.role === 'kubeadm-patch')!;
  expect(patch.path).toMatch(new RegExp(`^${doc.patches.directory}/kubeletconfiguration`));
  expect(patch.content).toMatch(/^staticPodPath: ""$/m);
  // Another worker's configuration differs only in its name.
  expect(joinNodeFiles('w2').find((f) => f.role === 'kubeadm-join-config')!.content).toBe(
    join.content!.replace('name: w1', 'name: w2'),
  );
});

test('the cluster settings a worker needs come from the blueprint, and a systemd cgroup driver is refused (no init system is assumed)', () => {
  const c = readClusterConfig(synthesizeBlueprint(spec() as any).nodeFiles);
  expect(c.kubernetesVersion).toMatch(/^v1\.36\./);
  expect(c.serviceSubnet).toBe('198.19.208.0/20');
  expect(c.podSubnet).toBe('198.18.96.0/19');
  expect(c.kubeletConfig.cgroupRoot).toBe('/hcb-unit');
  expect((c.kubeProxyConfig.clientConnection as { kubeconfig: string }).kubeconfig).toBe(
    '/var/lib/kube-proxy/kubeconfig.conf',
  );
  expect(() => readClusterConfig(synthesizeBlueprint(spec('systemd') as any).nodeFiles)).toThrow(
    /cgroupDriver must be cgroupfs/,
  );
  expect(() => readClusterConfig([])).toThrow(/exactly one kubeadm configuration/);
});

test("every host routes the other hosts' pod ranges via their addresses, and nothing of its own", () => {
  const hosts = [
    { host: { name: 'cp1', address: '198.18.3.11' }, podCidr: '198.18.96.0/24' },
    { host: { name: 'w1', address: '198.18.3.12' }, podCidr: '198.18.97.0/24' },
    { host: { name: 'w2', address: '198.18.3.13' }, podCidr: '198.18.98.0/24' },
  ];
  const r = podRoutes(hosts);
  expect(r.get('w1')).toEqual([
    { dst: '198.18.96.0/24', via: '198.18.3.11' },
    { dst: '198.18.98.0/24', via: '198.18.3.13' },
  ]);
  expect(r.get('cp1')).toEqual([
    { dst: '198.18.97.0/24', via: '198.18.3.12' },
    { dst: '198.18.98.0/24', via: '198.18.3.13' },
  ]);
  // w2 removed: the others no longer route its range.
  const after = podRoutes(hosts.slice(0, 2));
  expect([...after.values()].flat().map((x) => x.dst)).not.toContain('198.18.98.0/24');
});
