/**
 * `hcb synth --stack-config FILE --stack NAME` on a hosts stack writes what `pulumi up` applies:
 * the Pulumi program (stacks/index.ts) runs under Pulumi's mocks with the same stack config, and
 * the cluster objects it hands to Pulumi and the kubeadm configuration it sends to the
 * control-plane host are compared with synth's cluster.yaml and control-plane.yaml.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parseAllDocuments } from 'yaml';
import { command as synth } from '../../../cli/commands/synth';
import type { NodeFile } from '../../../policies/model';

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];
const STACK = 'prod-eu';

function ed25519Line(): string {
  const { publicKey } = crypto.generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const s = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([s(Buffer.from('ssh-ed25519')), s(raw)]).toString('base64')}`;
}

const HOSTS = [
  { name: 'cp1', address: '198.18.4.11', user: 'root', role: 'control-plane', hostKey: ed25519Line() },
  { name: 'w1', address: '198.18.4.12', user: 'root', role: 'worker', hostKey: ed25519Line() },
];

let tmp: string;
const savedEnv = { ...process.env };

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-synth-hosts-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', path.join(tmp, 'id')]);
  // A stand-in toolchain: the program checks the binaries exist; the mocks run none of them.
  fs.mkdirSync(path.join(tmp, 'bin'));
  for (const b of ['kubeadm', 'kubelet', 'containerd', 'runc', 'kube-proxy', 'kube-router'])
    fs.writeFileSync(path.join(tmp, 'bin', b), '');
});
afterAll(() => {
  process.env = savedEnv;
  fs.rmSync(tmp, { recursive: true, force: true });
});

function docs(text: string): Array<Record<string, unknown>> {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, unknown>)
    .filter(Boolean);
}

const key = (o: Record<string, unknown>) => {
  const m = (o.metadata ?? {}) as { namespace?: string; name?: string };
  return `${String(o.apiVersion)} ${String(o.kind)} ${m.namespace ?? ''}/${m.name ?? ''}`;
};
const byKey = (list: Array<Record<string, unknown>>) => [...list].sort((a, b) => key(a).localeCompare(key(b)));

/** The program under Pulumi's mocks with this stack config; what it registered. */
async function runProgram(config: Record<string, string>, secretKeys: string[]): Promise<Registered[]> {
  await pulumi.runtime.setMocks(
    {
      newResource: (a: pulumi.runtime.MockResourceArgs) => {
        registered.push({ type: a.type, name: a.name, inputs: a.inputs as Record<string, unknown> });
        return { id: `${a.name}-id`, state: { ...a.inputs, adminKubeconfig: 'server: https://x:6443\n' } };
      },
      call: (a: pulumi.runtime.MockCallArgs) => a.inputs,
    },
    'hcb',
    STACK,
    false,
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require('@pulumi/pulumi/runtime/config') as {
    setAllConfig(c: Record<string, string>, secretKeys?: string[]): void;
  };
  runtimeConfig.setAllConfig(config, secretKeys);
  process.env.HCB_TOOLCHAIN_BIN = path.join(tmp, 'bin');
  delete process.env.HCB_HOSTS_DIAL;
  delete process.env.HCB_HOSTS_CGROUP_V1;
  let program: { resourceCount?: unknown } = {};
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    program = require('../../../stacks/index') as { resourceCount?: unknown };
  });
  expect(program.resourceCount).toBeDefined();
  // Let the resources and the config groups' children register (until their number settles).
  let seen = -1;
  for (let i = 0; i < 100 && (seen !== registered.length || seen < 5); i++) {
    seen = registered.length;
    await new Promise((r) => setTimeout(r, 300));
  }
  return registered;
}

test('synth --stack-config --stack on a hosts stack equals what the Pulumi program applies', async () => {
  const values = {
    target: 'hosts',
    profile: 'high',
    namespaces: JSON.stringify(['team-a']),
    hosts: JSON.stringify(HOSTS),
    serviceSubnet: '198.19.96.0/20',
    podSubnet: '198.19.0.0/18',
  };
  const privateKey = fs.readFileSync(path.join(tmp, 'id'), 'utf8');
  const reg = await runProgram(
    {
      ...Object.fromEntries(Object.entries(values).map(([k, v]) => [`hcb:${k}`, v])),
      'hcb:sshPrivateKey': privateKey,
    },
    ['hcb:sshPrivateKey'],
  );

  // The same stack config as `pulumi config --json` writes it (the key's value not shown).
  const json: Record<string, unknown> = { 'hcb:sshPrivateKey': { secret: true } };
  for (const [k, v] of Object.entries(values))
    json[`hcb:${k}`] = k === 'hosts' || k === 'namespaces' ? { value: v, objectValue: JSON.parse(v) } : { value: v };
  const file = path.join(tmp, 'stack.json');
  fs.writeFileSync(file, JSON.stringify(json));
  const out = path.join(tmp, 'out');
  expect(await synth.run(['--stack-config', file, '--stack', STACK, '--out', out])).toBe(0);

  // Cluster objects: the Kubernetes resources the program registers are exactly synth's cluster.yaml.
  const groups = reg.filter((r) => r.type === 'kubernetes:yaml:ConfigGroup' && r.name.startsWith('blueprint-'));
  expect(groups.map((g) => g.name).sort()).toEqual(['blueprint-namespaces', 'blueprint-objects']);
  const applied = reg
    .filter((r) => /^kubernetes:[^:]+:[A-Za-z]+$/.test(r.type) && !r.type.startsWith('kubernetes:yaml:'))
    .map((r) => r.inputs);
  const written = docs(fs.readFileSync(path.join(out, 'cluster.yaml'), 'utf8'));
  expect(applied.length).toBeGreaterThan(10);
  expect(byKey(written)).toEqual(byKey(applied));

  // The control plane: the kubeadm configuration sent to cp1 is synth's, document for document.
  const cp = reg.find((r) => r.name === 'host-cp1');
  expect(cp).toBeDefined();
  const nodeFiles = cp!.inputs.nodeFiles as NodeFile[];
  const kubeadm = docs(nodeFiles.find((f) => f.role === 'kubeadm-config')!.content!);
  const controlPlane = docs(fs.readFileSync(path.join(out, 'control-plane.yaml'), 'utf8'));
  expect(kubeadm.map((d) => d.kind)).toEqual(
    expect.arrayContaining(['InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration']),
  );
  for (const d of kubeadm) expect(controlPlane).toContainEqual(d);
  // What the hosts spec adds is really there (not two identical plain specs).
  const cluster = kubeadm.find((d) => d.kind === 'ClusterConfiguration') as {
    clusterName: string;
    networking: Record<string, string>;
  };
  expect(cluster.clusterName).toBe(STACK);
  expect(cluster.networking).toMatchObject({ serviceSubnet: '198.19.96.0/20', podSubnet: '198.19.0.0/18' });
  expect(kubeadm.find((d) => d.kind === 'KubeletConfiguration')).toMatchObject({
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/hcb-hosts-${STACK}`,
  });
  // The worker gets the same node files and the second /24.
  const w1 = reg.find((r) => r.name === 'worker-w1');
  expect(w1?.inputs.podNetwork).toEqual({ podCidr: '198.19.1.0/24', podGateway: '198.19.1.1' });
});

test('a hosts stack config without --stack is refused, naming the file and the option', async () => {
  const json = {
    'hcb:target': { value: 'hosts' },
    'hcb:hosts': { objectValue: HOSTS },
    'hcb:sshPrivateKey': { secret: true },
  };
  const file = path.join(tmp, 'nostack.json');
  fs.writeFileSync(file, JSON.stringify(json));
  const err: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    expect(await synth.run(['--stack-config', file, '--out', path.join(tmp, 'out2')])).toBe(2);
    expect(await synth.run(['--stack', STACK, '--out', path.join(tmp, 'out3')])).toBe(2);
  } finally {
    process.stderr.write = write;
  }
  expect(err.join('')).toMatch(
    /--stack-config .*nostack\.json: .*the stack name is missing \(hcb synth: --stack NAME\)/,
  );
  expect(err.join('')).toMatch(/--stack names the stack of --stack-config FILE/);
  expect(fs.existsSync(path.join(tmp, 'out2'))).toBe(false);
});
