/**
 * Issue 10, HA part: three control planes with stacked etcd on the hosts target, stood up by the
 * real Pulumi CLI (`pulumi up` of the project's program, stacks/index.ts), behind a TCP load
 * balancer that is the stack's hcb:controlPlaneEndpoint.
 *
 * Three lab hosts (test/e2e/support/hosts-lab.ts, subnet 198.18.7.0/24, loopback ports 47420-47422
 * for their sshd) are hcb:hosts[0..2], all role control-plane, with their pinned host keys; the
 * lab's client key is the secret hcb:sshPrivateKey. The balancer (test/e2e/support/tcp-balancer.ts)
 * runs in the lab's network namespace on the bridge address 198.18.7.1:6443 and forwards to port
 * 6443 of the three hosts; hcb:controlPlaneEndpoint = 198.18.7.1:6443. Pulumi (its Kubernetes
 * provider) and this test reach the balancer through 127.0.0.1:47423 (HCB_HOSTS_DIAL's api entry of
 * the first control plane; a forwarder in the lab netns), the API server certificate checked for
 * 198.18.7.1. Ports 47420-47440.
 *
 *   up         ha-cp1 kubeadm init, ha-cp2 and ha-cp3 control-plane joins (hcb:HostControlPlane
 *              with joinTo), the network, the baseline: three control-plane Nodes Ready, three
 *              started etcd members, admin.conf names the endpoint everywhere, every node file the
 *              program delivered is on each control plane as on the first (content, owner, mode,
 *              the encryption key and the shared CA keys too)
 *   stop       every process of ha-cp1 but sshd killed: the API through the endpoint answers reads
 *              and writes
 *   up again   what a user runs: ha-cp1 (unhealthy) is brought up again and rejoins; etcd has three
 *              healthy members
 *   remove     ha-cp3 taken out of hcb:hosts, `pulumi up`: quorum checked, its Node and etcd
 *              member gone, the host reset
 *   state      no plaintext private key, admin keys (of each control plane), encryption key, CA
 *              key or bootstrap token in the state
 *   destroy    every host clean, the stack empty
 */
import * as fs from 'fs';
import * as path from 'path';
import { HOST_BIN_DIR, HOST_CNI_BIN_DIR, HOST_STATE_DIR, RESET_SCRIPT } from '../../stacks/hosts/bringup';
import { etcdMembers, healthyEtcdMembers } from '../../stacks/hosts/control-plane-join';
import { HostShell } from '../../stacks/hosts/host-shell';
import { ClusterAdmin, HostAccess, nodeReady } from '../../stacks/hosts/join';
import { installProvider, pulumiEnv, tempDir, tempProject, toolchainBin } from './support/env';
import { HostsLab } from './support/hosts-lab';
import {
  bootstrapTokens,
  bringupLogs,
  forwardedApiClient,
  hostLeftovers,
  hostSecretValues,
  LoopbackForward,
  pemBodyLines,
  plaintextFound,
  PulumiCli,
  stackStateText,
  until,
} from './support/pulumi-cli';
import { startTcpBalancer, TcpBalancer } from './support/tcp-balancer';

// Per test; each pulumi run is bounded below that. Under load a first up can take many minutes.
jest.setTimeout(2_400_000);

const PORTS = [47420, 47421, 47422];
const API_PORT = 47423;
const SUBNET = '198.18.7.0/24';
const ENDPOINT_HOST = '198.18.7.1';
const ENDPOINT = `${ENDPOINT_HOST}:6443`;
const CPS = ['ha-cp1', 'ha-cp2', 'ha-cp3'];
const STACK = 'ha47420';
const NAMESPACE = 'hcb-e2e-ha';
/** The kubelet cgroup parents the program gives: the first control plane the stack's, the others their own. */
const cgroupOf = (name: string) => (name === CPS[0] ? `hcb-hosts-${STACK}` : `hcb-node-${STACK}-${name}`);

const bin = toolchainBin();
const home = tempDir('hosts-ha');
const project = tempProject();
const stateDir = path.join(home, 'cluster');
let lab: HostsLab | undefined;
let balancer: TcpBalancer | undefined;
let apiForward: LoopbackForward | undefined;
let cli: PulumiCli;
let destroyed = false;
const logs: string[] = [];
const timings: string[] = [];
const t0 = Date.now();
const mark = (what: string) => timings.push(`${what} +${Math.round((Date.now() - t0) / 1000)}s`);
const log = (l: string) => logs.push(`${new Date().toISOString()} ${l}`);
/** Set when the three control planes are Ready with three etcd members (the later tests need it). */
let ready = false;

const mustPulumi = (args: string[], timeoutMs = 1_800_000): Promise<string> =>
  cli.must(args, () => bringupLogs(stateDir, [...CPS, 'network']), timeoutMs);

function access(name: string): HostAccess {
  const h = lab!.host(name);
  return {
    host: { name: h.name, address: h.address, port: 22, user: 'root', hostKey: h.hostKey },
    ssh: {
      privateKey: lab!.clientPrivateKey,
      dial: { host: '127.0.0.1', port: h.loopbackPort },
      connectTimeoutMs: 20_000,
    },
  };
}

/** kubectl on a control-plane host with its admin.conf (whose server is the endpoint). */
async function onHost<T>(name: string, f: (admin: ClusterAdmin) => Promise<T>): Promise<T> {
  const admin = await ClusterAdmin.open(access(name), bin, log);
  try {
    return await f(admin);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** The node files the program delivered to a host: the HostControlPlane resource's inputs in the state. */
function deliveredNodeFiles(name: string): Array<{ path: string; createdBy: string }> {
  const exported = JSON.parse(cli.sync(['stack', 'export'])) as {
    deployment: {
      resources?: Array<{ urn: string; inputs?: { nodeFiles?: Array<{ path: string; createdBy: string }> } }>;
    };
  };
  const r = (exported.deployment.resources ?? []).find((x) => x.urn.endsWith(`::host-${name}`));
  if (!r?.inputs?.nodeFiles) throw new Error(`the state has no host-${name} resource with node files`);
  return r.inputs.nodeFiles;
}

/** Every blueprint-owned node file: "path sha256 mode owner:group" as the host has it. */
function nodeFileState(name: string, files: string[]): string[] {
  return lab!
    .exec(name, [
      'sh',
      '-c',
      'for f; do if [ -f "$f" ]; then echo "$f $(sha256sum < "$f" | cut -c1-64) $(stat -c "%a %U:%G" "$f")"; else echo "$f missing"; fi; done',
      'hcb',
      ...files,
    ])
    .split('\n')
    .filter(Boolean);
}

const SHARED_KEYS = ['ca.key', 'sa.key', 'front-proxy-ca.key', 'etcd/ca.key'].map((f) => `/etc/kubernetes/pki/${f}`);

/** The last resort of afterAll when `pulumi destroy` failed: bringup.ts's reset script on the host. */
async function resetHost(name: string): Promise<string | undefined> {
  const shell = await HostShell.open(access(name)).catch(() => undefined);
  if (!shell) return `${name}: no SSH`;
  try {
    const out = await shell
      .sh(RESET_SCRIPT, [HOST_BIN_DIR, HOST_STATE_DIR, HOST_CNI_BIN_DIR], {
        label: 'reset',
        timeoutMs: 300_000,
        check: false,
      })
      .catch((e: Error) => e.message);
    return /^hcb-reset done$/m.test(out) ? undefined : `${name} reset: ${out.slice(-500)}`;
  } finally {
    await shell.close().catch(() => undefined);
  }
}

beforeAll(async () => {
  lab = await HostsLab.start({ hosts: CPS, ports: PORTS, subnet: SUBNET, log });
  // As in pulumi-hosts: containerd's overlayfs snapshots cannot stack on the lab's /var overlay.
  for (const name of CPS) {
    fs.mkdirSync(path.join(lab.dir, 'hosts', name, 'containerd-disk'), { mode: 0o700 });
    lab.exec(name, [
      'sh',
      '-c',
      'mkdir -p /var/lib/containerd && mount --bind /run/hcb-lab/containerd-disk /var/lib/containerd',
    ]);
  }
  // The lab's network namespace (the bridge, 198.18.7.1) is where the balancer listens.
  balancer = await startTcpBalancer({
    netnsPid: lab.labNetnsPid,
    listen: { host: ENDPOINT_HOST, port: 6443 },
    backends: lab.hosts.map((h) => `${h.address}:6443`),
    logFile: path.join(home, 'balancer.log'),
  });
  apiForward = await LoopbackForward.start({
    netnsPid: lab.labNetnsPid,
    target: ENDPOINT,
    socket: path.join(home, 'api.sock'),
    port: API_PORT,
  });
  mark('lab');

  const env = {
    ...pulumiEnv(home, bin),
    HCB_HOSTS_DIAL: JSON.stringify(
      Object.fromEntries(
        lab.hosts.map((h, i) => [
          h.name,
          { ssh: `127.0.0.1:${h.loopbackPort}`, ...(i === 0 ? { api: `127.0.0.1:${API_PORT}` } : {}) },
        ]),
      ),
    ),
    // This machine may be cgroup v1 (the lab hosts share its kernel).
    ...(fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? {} : { HCB_HOSTS_CGROUP_V1: 'true' }),
  };
  cli = new PulumiCli(bin, project, env);
  installProvider(bin, project, env);
  cli.sync(['stack', 'init', STACK]);
  cli.sync([
    'config',
    'set-all',
    '--path',
    ...['target=hosts', `stateDir=${stateDir}`, `controlPlaneEndpoint=${ENDPOINT}`, `namespaces[0]=${NAMESPACE}`]
      .concat(
        lab.hosts.flatMap((h, i) => [
          `hosts[${i}].name=${h.name}`,
          `hosts[${i}].address=${h.address}`,
          `hosts[${i}].user=root`,
          `hosts[${i}].role=control-plane`,
          `hosts[${i}].hostKey=${h.hostKey}`,
        ]),
      )
      .flatMap((kv) => ['--plaintext', kv]),
  ]);
  cli.sync(['config', 'set', '--secret', 'sshPrivateKey', '--', lab.clientPrivateKey]);
  mark('stack');
});

afterAll(async () => {
  const problems: string[] = [];
  if (!destroyed && lab && cli) {
    const r = await cli.run(['destroy', '--yes', '--skip-preview'], 900_000);
    if (r.status !== 0) {
      problems.push(`pulumi destroy in afterAll failed:\n${r.out.slice(-3000)}`);
      for (const name of [...CPS].reverse()) {
        const p = await resetHost(name).catch((e: Error) => e.message);
        if (p) problems.push(p);
      }
    }
  }
  await apiForward?.stop().catch(() => undefined);
  if (balancer) await balancer.stop().catch(() => undefined);
  if (lab) await lab.destroy().catch((e: Error) => problems.push(`lab destroy: ${e.message}`));
  if (problems.length) process.stderr.write(`hosts-ha afterAll: ${problems.join('\n')}\n`);
  const balancerLog = path.join(home, 'balancer.log');
  if (fs.existsSync(balancerLog))
    process.stderr.write(`balancer: ${fs.readFileSync(balancerLog, 'utf8').slice(-1500)}\n`);
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(project, { recursive: true, force: true });
  process.stderr.write(`hosts-ha timings: ${[...timings, ...(cli?.timings ?? [])].join(', ')}\n`);
  if (process.env.HCB_E2E_LOG) process.stderr.write(`${logs.join('\n')}\n`);
});

test('pulumi up: three control planes Ready, three etcd members, admin.conf names the endpoint', async () => {
  const out = await mustPulumi(['up', '--yes', '--skip-preview']);
  expect(out).toMatch(/\+ \d+ created/);
  mark('pulumi up (3 control planes)');
  expect(cli.sync(['stack', 'output', 'apiEndpoint']).trim()).toBe(`https://${ENDPOINT}`);
  expect(JSON.parse(cli.sync(['stack', 'output', 'nodes', '--json']))).toEqual(
    lab!.hosts.map((h) => ({ name: h.name, address: h.address, role: 'control-plane' })),
  );
  // The stack's kubeconfig through the balancer, the certificate checked for the endpoint.
  const api = forwardedApiClient(
    cli.sync(['stack', 'output', 'kubeconfig', '--show-secrets']).trim(),
    API_PORT,
    ENDPOINT_HOST,
  );
  const ns = await api.json<{ metadata: { labels: Record<string, string> } }>(`/api/v1/namespaces/${NAMESPACE}`);
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  await onHost(CPS[0], async (admin) => {
    for (const name of CPS) expect((await nodeReady(admin, name)).ready).toBe(true);
    const nodes = await admin.json<{ items: Array<{ metadata: { name: string; labels: Record<string, string> } }> }>([
      'get',
      'nodes',
    ]);
    expect(
      nodes.items
        .filter((n) => 'node-role.kubernetes.io/control-plane' in n.metadata.labels)
        .map((n) => n.metadata.name)
        .sort(),
    ).toEqual([...CPS].sort());
    const members = await etcdMembers(admin);
    expect(members.map((m) => m.name).sort()).toEqual([...CPS].sort());
    expect(members.every((m) => m.clientURLs.length > 0 && !m.isLearner)).toBe(true);
    ready = true;
  });
  // admin.conf on every control plane names the endpoint, not one host.
  for (const name of CPS)
    expect(lab!.exec(name, ['grep', '-h', 'server:', '/etc/kubernetes/admin.conf']).trim()).toBe(
      `server: https://${ENDPOINT}`,
    );
});

test('every node file the program delivered is on each control plane as on the first (content, owner, mode; the keys too)', () => {
  expect(ready).toBe(true);
  const files = deliveredNodeFiles(CPS[0]);
  // Each further control plane got the same set from the program.
  for (const name of CPS.slice(1))
    expect(deliveredNodeFiles(name).map((f) => f.path)).toEqual(files.map((f) => f.path));
  const own = files.filter((f) => f.createdBy === 'blueprint').map((f) => f.path);
  expect(own.length).toBeGreaterThan(3);
  const first = nodeFileState(CPS[0], own);
  expect(first.filter((l) => l.endsWith(' missing'))).toEqual([]);
  for (const name of CPS.slice(1)) expect(nodeFileState(name, own)).toEqual(first);
  const sums = (name: string) => lab!.exec(name, ['sha256sum', ...SHARED_KEYS]);
  for (const name of CPS.slice(1)) expect(sums(name)).toEqual(sums(CPS[0]));
});

test('with ha-cp1 stopped, the API through the endpoint answers reads and writes', async () => {
  expect(ready).toBe(true);
  // Every process in ha-cp1's network namespace except sshd (and this shell): API server, etcd,
  // controller-manager, scheduler, kubelet, containerd and its shims, kube-proxy, the enforcer.
  // Killing is repeated until a pass finds nothing left: a kubelet or shim alive during one pass
  // can start a process the pass has already walked past (bounded: 40 passes, 0.25 s apart).
  const left = lab!.exec(CPS[0], [
    'sh',
    '-c',
    `me=$(readlink /proc/self/ns/net)
     pass=0
     while [ $pass -lt 40 ]; do
       n=0
       for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] || continue; [ "\${p#/proc/}" = "$$" ] && continue
         case "$(readlink $p/exe 2>/dev/null)" in ''|*/sshd|*/sh|*/dash|*/bash|*/nsenter|*/sleep|*/readlink) ;; *) kill -KILL "\${p#/proc/}" 2>/dev/null && n=$((n+1)) ;; esac; done
       [ $n -eq 0 ] && break
       pass=$((pass+1)); sleep 0.25
     done
     echo $pass`,
  ]);
  mark(`ha-cp1 stopped (${left.trim()} kill passes)`);
  // A killed process's listening socket goes when the process has exited; wait for that (bounded).
  await until(
    'no listener on 6443 in ha-cp1',
    30_000,
    async () =>
      lab!.exec(CPS[0], ['sh', '-c', 'ss -ltn | grep -c ":6443 " || true']).trim() === '0' ? true : undefined,
    1_000,
  );
  await onHost(CPS[1], async (admin) => {
    await until(
      'the API through the endpoint after ha-cp1 stopped',
      300_000,
      async () => {
        const r = await admin.kubectl(['get', '--raw', '/readyz'], { check: false, timeoutMs: 30_000 });
        return r.code === 0 && r.stdout.trim() === 'ok' ? true : undefined;
      },
      3_000,
    );
    mark('API ready without ha-cp1');
    const name = `ha-probe-${Date.now()}`;
    await until(
      'a write through the endpoint',
      180_000,
      async () => {
        const r = await admin.kubectl(['-n', 'default', 'create', 'configmap', name, '--from-literal=k=v'], {
          check: false,
          timeoutMs: 30_000,
        });
        return r.code === 0 || /already exists/.test(r.stderr) ? true : undefined;
      },
      3_000,
    );
    const cm = await admin.json<{ data: Record<string, string> }>(['-n', 'default', 'get', 'configmap', name]);
    expect(cm.data).toEqual({ k: 'v' });
    await admin.kubectl(['-n', 'default', 'delete', 'configmap', name, '--wait=true']);
    for (const n of CPS.slice(1)) expect((await nodeReady(admin, n)).ready).toBe(true);
  });
});

test('pulumi up again brings ha-cp1 back: it rejoins, etcd has three healthy members', async () => {
  expect(ready).toBe(true);
  const out = await mustPulumi(['up', '--yes', '--skip-preview']);
  mark('pulumi up (ha-cp1 back)');
  // The unhealthy host (and the network services killed with it) are updated; nothing is created or deleted.
  expect(out).toMatch(/~ \d+ updated/);
  expect(out).not.toMatch(/[+-] \d+ (created|deleted|replaced)/);
  await onHost(CPS[1], async (admin) => {
    await until(
      'ha-cp1 Ready again',
      600_000,
      async () => ((await nodeReady(admin, CPS[0])).ready ? true : undefined),
      3_000,
    );
  });
  await onHost(CPS[0], async (admin) => {
    const members = await until('etcd on ha-cp1 answering', 300_000, async () => etcdMembers(admin), 3_000);
    expect(members.map((m) => m.name).sort()).toEqual([...CPS].sort());
    const healthy = await until(
      'three healthy etcd members',
      300_000,
      async () => {
        const h = await healthyEtcdMembers(admin, members);
        return h.size === 3 ? h : undefined;
      },
      3_000,
    );
    expect([...healthy].sort()).toEqual([...CPS].sort());
  });
});

test('ha-cp3 taken out of hcb:hosts: pulumi up checks quorum, deletes its Node and etcd member, resets the host', async () => {
  expect(ready).toBe(true);
  cli.sync(['config', 'rm', '--path', 'hosts[2]']);
  const out = await mustPulumi(['up', '--yes', '--skip-preview']);
  mark('pulumi up (ha-cp3 removed)');
  expect(out).toMatch(/- 1 deleted/);
  const removalLog = fs.readFileSync(path.join(stateDir, 'hosts', 'logs', `${CPS[2]}.log`), 'utf8');
  expect(removalLog).toMatch(/etcd quorum check before the removal: ok \(2 members left, 2 healthy\)/);
  await onHost(CPS[0], async (admin) => {
    expect((await etcdMembers(admin)).map((m) => m.name).sort()).toEqual(CPS.slice(0, 2));
    const r = await admin.kubectl(['get', 'node', CPS[2], '--ignore-not-found', '-o', 'name']);
    expect(r.stdout.trim()).toBe('');
    expect((await admin.kubectl(['get', '--raw', '/readyz'])).stdout.trim()).toBe('ok');
  });
  expect(JSON.parse(cli.sync(['stack', 'output', 'nodes', '--json'])).map((n: { name: string }) => n.name)).toEqual(
    CPS.slice(0, 2),
  );
  expect(hostLeftovers(lab!, CPS[2], cgroupOf(CPS[2]))).toEqual([]);
});

test('the state holds no plaintext private key, admin key, encryption key, CA key or bootstrap token', () => {
  expect(ready).toBe(true);
  const { files, text: state } = stackStateText(cli, home, STACK);
  expect(files.length).toBeGreaterThan(0);
  // The stack really records further control planes (and so had the chance to leak their keys).
  expect(state).toContain('hcb:HostControlPlane');
  expect(state).toContain(`host-${CPS[1]}`);
  const secrets: Record<string, string> = {};
  const pem = (label: string, text: string) => {
    const lines = pemBodyLines(text);
    expect(lines.length).toBeGreaterThan(0);
    lines.forEach((l, i) => (secrets[`${label} line ${i + 1}`] = l));
  };
  pem('ssh private key', lab!.clientPrivateKey);
  secrets['ssh private key (joined)'] = pemBodyLines(lab!.clientPrivateKey).join('');
  for (const name of CPS.slice(0, 2)) {
    const key = /client-key-data: (\S+)/.exec(lab!.exec(name, ['cat', '/etc/kubernetes/admin.conf']))?.[1];
    expect(key).toBeDefined();
    secrets[`${name} admin.conf client key`] = key!;
  }
  for (const f of SHARED_KEYS) pem(f, lab!.exec(CPS[0], ['cat', f]));
  const hostKeys = hostSecretValues(lab!, CPS[0]);
  expect(hostKeys.length).toBeGreaterThan(0);
  hostKeys.forEach((k, i) => (secrets[`host secret ${i + 1}`] = k));
  for (const t of bootstrapTokens(lab!, CPS[0])) {
    secrets[`bootstrap token ${t.slice(0, 6)}`] = t;
    secrets[`bootstrap token ${t.slice(0, 6)} secret part`] = t.split('.')[1];
  }
  expect(state).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  expect(plaintextFound(state, secrets)).toEqual([]);
});

test('pulumi destroy leaves every host clean and the stack empty', async () => {
  expect(ready).toBe(true);
  await mustPulumi(['destroy', '--yes', '--skip-preview'], 1_200_000);
  destroyed = true;
  mark('pulumi destroy');
  for (const name of CPS) expect(hostLeftovers(lab!, name, cgroupOf(name))).toEqual([]);
  const exported = JSON.parse(cli.sync(['stack', 'export'])) as { deployment: { resources?: unknown[] } };
  expect(exported.deployment.resources ?? []).toEqual([]);
});
