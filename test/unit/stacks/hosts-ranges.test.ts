/**
 * hcb:serviceSubnet and hcb:podSubnet on the hosts target (stacks/hosts/ranges.ts, stacks/spec.ts):
 * validated with errors naming the setting, the value and the fix; carried into the kubeadm
 * ClusterConfiguration, the KubeProxyConfiguration, each host's pod range, the ranges network.ts
 * reads, and (checked with the toolchain's real kubeadm) the API server certificate's SAN for the
 * `kubernetes` Service. Unset, the ranges stay the defaults the e2e labs rely on.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments, stringify } from 'yaml';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { validateClusterArgs } from '../../../stacks/cluster';
import { readClusterConfig } from '../../../stacks/hosts/join';
import { hostsBlueprintSpec } from '../../../stacks/hosts/program';
import {
  blueprintRanges,
  checkHostsRanges,
  hostPodNetwork,
  HOSTS_NETWORK,
  hostsInPodSubnet,
  kubernetesServiceIp,
  parseCidr4,
} from '../../../stacks/hosts/ranges';
import { readerFromPulumiConfigJson, stackSpec } from '../../../stacks/spec';

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

/** A stack config as `pulumi config --json` writes it (the private key a secret not shown). */
function config(extra: Record<string, string> = {}, hosts: unknown[] = HOSTS, target = 'hosts') {
  const json: Record<string, unknown> = {
    'hcb:target': { value: target },
    ...(target === 'hosts'
      ? { 'hcb:hosts': { value: JSON.stringify(hosts), objectValue: hosts }, 'hcb:sshPrivateKey': { secret: true } }
      : {}),
  };
  for (const [k, v] of Object.entries(extra)) json[`hcb:${k}`] = { value: v };
  return stackSpec(readerFromPulumiConfigJson(json));
}

function docs(content: string): Array<Record<string, unknown>> {
  return parseAllDocuments(content).map((d) => d.toJS() as Record<string, unknown>);
}

describe('the settings flow into what the hosts cluster runs', () => {
  const s = config({ serviceSubnet: '198.19.96.0/20', podSubnet: '198.19.0.0/18' });
  const blueprint = synthesizeBlueprint(hostsBlueprintSpec(s.spec, s.hosts!, { stack: 'prod' }));
  const kubeadm = blueprint.nodeFiles.find((f) => f.role === 'kubeadm-config')!.content!;

  test('kubeadm ClusterConfiguration networking and kube-proxy clusterCIDR', () => {
    const d = docs(kubeadm);
    const cluster = d.find((x) => x.kind === 'ClusterConfiguration') as { networking: Record<string, string> };
    expect(cluster.networking).toMatchObject({ serviceSubnet: '198.19.96.0/20', podSubnet: '198.19.0.0/18' });
    expect(d.find((x) => x.kind === 'KubeProxyConfiguration')).toMatchObject({ clusterCIDR: '198.19.0.0/18' });
  });

  test('each host a /24 of the pod range; network.ts and the Cluster read the same ranges', () => {
    expect(blueprintRanges(blueprint.nodeFiles)).toEqual({
      serviceSubnet: '198.19.96.0/20',
      podSubnet: '198.19.0.0/18',
    });
    const c = readClusterConfig(blueprint.nodeFiles);
    expect([c.serviceSubnet, c.podSubnet]).toEqual(['198.19.96.0/20', '198.19.0.0/18']);
    expect(hostPodNetwork(0, '198.19.0.0/18')).toEqual({ podCidr: '198.19.0.0/24', podGateway: '198.19.0.1' });
    expect(hostPodNetwork(63, '198.19.0.0/18')).toEqual({ podCidr: '198.19.63.0/24', podGateway: '198.19.63.1' });
    expect(() => hostPodNetwork(64, '198.19.0.0/18')).toThrow(/host index 64 is out of range \(at most 64 hosts\)/);
    expect(kubernetesServiceIp('198.19.96.0/20')).toBe('198.19.96.1');
  });

  test("kubeadm signs the API server's certificate for the kubernetes Service's ClusterIP in the range", () => {
    const kubeadmBin = findKubeadm();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-ranges-'));
    try {
      const d = docs(kubeadm).map((x) =>
        x.kind === 'ClusterConfiguration' ? { ...x, certificatesDir: path.join(tmp, 'pki') } : x,
      );
      const file = path.join(tmp, 'kubeadm.yaml');
      fs.writeFileSync(file, d.map((x) => stringify(x)).join('---\n'));
      for (const phase of ['ca', 'apiserver']) {
        const r = spawnSync(kubeadmBin, ['init', 'phase', 'certs', phase, `--config=${file}`], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect(`${phase}: exit ${r.status} ${r.stderr}`).toMatch(new RegExp(`^${phase}: exit 0 `));
      }
      const cert = new crypto.X509Certificate(fs.readFileSync(path.join(tmp, 'pki', 'apiserver.crt')));
      expect(cert.subjectAltName).toContain('IP Address:198.19.96.1');
      expect(cert.subjectAltName).toContain('IP Address:198.18.4.11');
      expect(cert.subjectAltName).not.toContain('198.19.128.1');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

test('unset (or empty, as a declared default): the ranges of today', () => {
  for (const s of [config(), config({ serviceSubnet: '', podSubnet: '' })]) {
    expect(s.spec.controlPlane).toEqual({ serviceSubnet: '198.19.128.0/17', podSubnet: '198.18.128.0/17' });
    const b = synthesizeBlueprint(hostsBlueprintSpec(s.spec, s.hosts!, { stack: 'prod' }));
    expect(blueprintRanges(b.nodeFiles)).toEqual(HOSTS_NETWORK);
  }
  expect(hostPodNetwork(0)).toEqual({ podCidr: '198.18.128.0/24', podGateway: '198.18.128.1' });
  expect(hostPodNetwork(127)).toEqual({ podCidr: '198.18.255.0/24', podGateway: '198.18.255.1' });
  expect(() => hostPodNetwork(128)).toThrow(/out of range/);
});

test("ranges outside 198.18.0.0/15 are the user's choice", () => {
  const s = config({ serviceSubnet: '100.64.0.0/12', podSubnet: '100.96.0.0/16' });
  expect(s.spec.controlPlane).toEqual({ serviceSubnet: '100.64.0.0/12', podSubnet: '100.96.0.0/16' });
});

test('errors name the setting, the value and the fix', () => {
  expect(() => config({ podSubnet: '198.19.0.0' })).toThrow(
    /config "hcb:podSubnet" = "198\.19\.0\.0" not an IPv4 CIDR block.*Fix: pulumi config set hcb:podSubnet/,
  );
  expect(() => config({ serviceSubnet: 'fd00::/108' })).toThrow(/"hcb:serviceSubnet" = "fd00::\/108" not an IPv4 CIDR/);
  expect(() => config({ podSubnet: '198.19.1.0/18' })).toThrow(
    /"hcb:podSubnet" = "198\.19\.1\.0\/18" has host bits set; the block is 198\.19\.0\.0\/18/,
  );
  expect(() => config({ serviceSubnet: '198.0.0.0/11' })).toThrow(
    /"hcb:serviceSubnet" = "198\.0\.0\.0\/11" is \/11; kubeadm takes/,
  );
  expect(() => config({ serviceSubnet: '198.19.0.0/29' })).toThrow(/is \/29; kubeadm takes/);
  expect(() => config({ podSubnet: '198.19.0.0/25' })).toThrow(
    /"hcb:podSubnet" = "198\.19\.0\.0\/25" is \/25; every host gets a \/24/,
  );
  expect(() => config({ podSubnet: '198.19.0.0/16' })).toThrow(
    /"hcb:podSubnet" = "198\.19\.0\.0\/16" overlaps config "hcb:serviceSubnet" = "198\.19\.128\.0\/17".*Fix: pulumi config set hcb:podSubnet/,
  );
  expect(() => config({ serviceSubnet: '198.18.0.0/16' })).toThrow(
    /"hcb:podSubnet" = "198\.18\.128\.0\/17" overlaps config "hcb:serviceSubnet" = "198\.18\.0\.0\/16"/,
  );
  expect(() => config({ serviceSubnet: '198.18.4.0/24' })).toThrow(
    /"hcb:serviceSubnet" = "198\.18\.4\.0\/24" contains the address 198\.18\.4\.11 of hcb:hosts\[0\] \("cp1"\).*Fix: pulumi config set hcb:serviceSubnet/,
  );
  expect(() => config({ podSubnet: '198.18.4.0/22' })).toThrow(
    /"hcb:podSubnet" = "198\.18\.4\.0\/22" contains the address 198\.18\.4\.11 of hcb:hosts\[0\]/,
  );
  expect(() => config({ podSubnet: '198.19.0.0/24' })).toThrow(
    /"hcb:podSubnet" = "198\.19\.0\.0\/24" has room for 1 host\(s\) \(a \/24 each\), hcb:hosts lists 2\. Fix: pulumi config set hcb:podSubnet <a range of at least \/23>/,
  );
  expect(() => config({ podSubnet: '198.19.0.0/18' }, [], 'local')).toThrow(
    /config "hcb:podSubnet" is set but hcb:target is local, which does not read it.*Fix: pulumi config rm hcb:podSubnet/,
  );
  expect(() =>
    stackSpec(
      readerFromPulumiConfigJson({
        'hcb:target': { value: 'hosts' },
        'hcb:hosts': { objectValue: HOSTS },
        'hcb:sshPrivateKey': { secret: true },
        'hcb:podSubnet': { objectValue: ['198.19.0.0/18'] },
      }),
    ),
  ).toThrow(/"hcb:podSubnet" must be a CIDR block as text, got a list/);
});

test('a spec given in code is checked too, naming its props', () => {
  const s = config();
  expect(() =>
    hostsBlueprintSpec({ controlPlane: { serviceSubnet: '198.18.4.0/24' } }, s.hosts!, { stack: 'prod' }),
  ).toThrow(
    /controlPlane\.serviceSubnet = "198\.18\.4\.0\/24" contains the address 198\.18\.4\.11.*Fix: set controlPlane\.serviceSubnet/,
  );
});

test('the Cluster refuses more hosts than the pod range has /24s for', () => {
  const hosts = Array.from({ length: 3 }, (_, i) => ({
    ...HOSTS[1],
    name: `h${i}`,
    address: `198.18.4.${20 + i}`,
    role: i === 0 ? 'control-plane' : 'worker',
    port: 22,
    hostKey: ed25519Line(),
    hostKeyFingerprint: 'SHA256:x',
  })) as Parameters<typeof checkHostsRanges>[1] & Array<{ role: 'control-plane' | 'worker' }>;
  const spec = { hosts } as unknown as Parameters<typeof hostsBlueprintSpec>[1];
  // 2 hosts fit a /23; the spec check and the Cluster's both refuse 3.
  expect(() => checkHostsRanges({ serviceSubnet: '198.19.128.0/17', podSubnet: '198.19.0.0/23' }, hosts)).toThrow(
    /has room for 2 host\(s\)/,
  );
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-ranges-bin-'));
  try {
    for (const b of ['kubeadm', 'kubelet', 'containerd', 'runc', 'kube-proxy', 'kube-router'])
      fs.writeFileSync(path.join(bin, b), '');
    const blueprint = synthesizeBlueprint(
      hostsBlueprintSpec({ controlPlane: { podSubnet: '198.19.0.0/22' } }, spec, { stack: 'prod' }),
    );
    // Mimic a blueprint made for fewer hosts: its pod range has room for 2.
    const small = {
      ...blueprint,
      nodeFiles: blueprint.nodeFiles.map((f) =>
        f.role === 'kubeadm-config' ? { ...f, content: f.content!.replace(/198\.19\.0\.0\/22/g, '198.19.0.0/23') } : f,
      ),
    };
    const args = (b: typeof blueprint) => ({
      blueprint: b,
      target: { kind: 'hosts' as const, hosts: spec, sshPrivateKey: 'k', binDir: bin, workDir: '/tmp/w' },
    });
    expect(() => validateClusterArgs(args(blueprint))).not.toThrow();
    expect(() => validateClusterArgs(args(small))).toThrow(
      /lists 3 hosts; the pod range 198\.19\.0\.0\/23 \(hcb:podSubnet\) gives each a \/24 and has room for 2/,
    );
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
  expect(hostsInPodSubnet('198.19.0.0/22')).toBe(4);
  expect(parseCidr4('198.19.0.0/33')).toMatch(/not an IPv4 CIDR/);
});

function findKubeadm(): string {
  const fromEnv = process.env.HCB_TOOLCHAIN_BIN;
  const dir =
    fromEnv ??
    spawnSync('bash', [path.resolve(__dirname, '../../../tools/build-toolchain.sh'), '--bin-dir'], {
      encoding: 'utf8',
      timeout: 60_000,
    })
      .stdout.trim()
      .split('\n')
      .pop() ??
    '';
  const k = path.join(dir, 'kubeadm');
  // Without the toolchain this test fails (npm run toolchain), as kubeadm-validate.test.ts does.
  if (!fs.existsSync(k)) throw new Error(`no kubeadm at ${k}: run npm run toolchain or set HCB_TOOLCHAIN_BIN`);
  return k;
}
