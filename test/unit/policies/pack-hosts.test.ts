/**
 * The policy pack on a hosts stack: the control-plane host, every worker and the cluster network
 * carry the same blueprint node files (each needs them: kubeadm init, the join configuration,
 * kube-proxy's configuration). The catalogue must read those files once, so each finding is
 * reported once, on the resource that writes the control plane's files.
 */
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import type { NodeFile } from '../../../policies/model';
import { packViolations, stackDocuments, StackResource } from '../../../policies/pack/violations';
import type { HostsTargetSpec } from '../../../stacks/hosts/config';
import { hostsBlueprintSpec } from '../../../stacks/hosts/program';

const NOW = new Date('2026-06-01T00:00:00Z');
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
const hosts: HostsTargetSpec = {
  hosts: [
    host('cp1', '198.18.4.11', 'control-plane'),
    host('w1', '198.18.4.12', 'worker'),
    host('w2', '198.18.4.13', 'worker'),
  ],
};
const blueprint = synthesizeBlueprint(hostsBlueprintSpec({ namespaces: [{ name: 'a' }] }, hosts, { stack: 'prod' }));
const urn = (type: string, name: string) => `urn:pulumi:prod::hcb::hcb:index:Cluster$${type}::${name}`;
const CP_URN = urn('pulumi-nodejs:dynamic:Resource', 'host-cp1');

/** The dynamic resources of a hosts stack, as the pack sees them (a copy of the node files each). */
function hostsResources(nodeFiles: NodeFile[]): StackResource[] {
  const copy = () => JSON.parse(JSON.stringify(nodeFiles)) as NodeFile[];
  return [
    { type: 'pulumi-nodejs:dynamic:Resource', urn: CP_URN, props: { host: hosts.hosts[0], nodeFiles: copy() } },
    ...['w1', 'w2'].map((w) => ({
      type: 'pulumi-nodejs:dynamic:Resource',
      urn: urn('pulumi-nodejs:dynamic:Resource', `worker-${w}`),
      props: { worker: { name: w }, nodeFiles: copy() },
    })),
    {
      type: 'pulumi-nodejs:dynamic:Resource',
      urn: urn('pulumi-nodejs:dynamic:Resource', 'network'),
      props: { hosts: [], nodeFiles: copy() },
    },
  ];
}

/** The blueprint's node files with the admin kubeconfig made world-readable (a finding to count). */
function withLooseAdminConf(): NodeFile[] {
  const files = blueprint.nodeFiles.map((f) => ({ ...f }));
  const admin = files.find((f) => f.path === '/etc/kubernetes/admin.conf');
  if (!admin) throw new Error('the hosts blueprint has no /etc/kubernetes/admin.conf node file');
  admin.mode = 0o644;
  return files;
}

test('the node files of a hosts stack are read once, although four resources carry them', () => {
  const docs = stackDocuments(hostsResources(blueprint.nodeFiles));
  const manifests = docs.filter((d) => d.doc.object.kind === 'NodeFileManifest');
  expect(manifests.map((d) => d.urn)).toEqual([CP_URN]);
  const kubeadm = docs.filter((d) => d.doc.object.kind === 'ClusterConfiguration');
  expect(kubeadm.map((d) => d.urn)).toEqual([CP_URN]);
});

test('a node-file finding on a hosts stack is reported once, on the control-plane host', () => {
  const files = withLooseAdminConf();
  const alone = packViolations(hostsResources(files).slice(0, 1), { exceptions: blueprint.exceptions, now: NOW });
  expect(alone.length).toBeGreaterThan(0);
  const all = packViolations(hostsResources(files), { exceptions: blueprint.exceptions, now: NOW });
  expect(all.map((v) => v.message).sort()).toEqual(alone.map((v) => v.message).sort());
  const messages = all.map((v) => v.message);
  expect(new Set(messages).size).toBe(messages.length);
  for (const v of all) expect(v.urn).toBe(CP_URN);
});

test('different node files on two resources are both read (only identical sets are one input)', () => {
  const [cp, w1] = hostsResources(blueprint.nodeFiles);
  const loose = { ...w1, props: { ...w1.props, nodeFiles: withLooseAdminConf() } };
  const v = packViolations([cp, loose], { exceptions: blueprint.exceptions, now: NOW });
  expect(v.length).toBeGreaterThan(0);
  for (const x of v) expect(x.urn).toBe(loose.urn);
});
