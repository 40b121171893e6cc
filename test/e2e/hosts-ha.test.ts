/**
 * Issue 10, HA part: three control planes with stacked etcd on the hosts target, behind a TCP load
 * balancer that is the cluster's controlPlaneEndpoint.
 *
 * Three lab hosts (test/e2e/support/hosts-lab.ts, subnet 198.18.7.0/24, loopback ports
 * 47420-47422 for their sshd): ha-cp1 is brought up by ControlPlaneHost (kubeadm init), ha-cp2 and
 * ha-cp3 join with joinControlPlane (stacks/hosts/control-plane-join.ts), the code the Pulumi
 * program's HostControlPlane resources run. The blueprint is the program's: hostsBlueprintSpec over
 * the stack config parsed by parseHostsConfig with hcb:controlPlaneEndpoint = 198.18.7.1:6443.
 * The balancer (test/e2e/support/tcp-balancer.ts) runs in the lab's network namespace on the
 * bridge address 198.18.7.1 and forwards to port 6443 of the three hosts.
 *
 * Proved: the three nodes Ready, etcd has three started members, every blueprint node file is on
 * each control plane with the same content, owner and mode as on the first (the encryption key
 * included); with every process of ha-cp1 except sshd killed (its API server, etcd, kubelet,
 * containerd), the API through the endpoint (kubectl with ha-cp2's admin.conf) answers reads and
 * writes; ha-cp1 brought back by a second bring-up rejoins (etcd healthy again); ha-cp3 removed
 * with removeControlPlane (Node gone, etcd member gone, host reset); teardown resets every host.
 */
import * as fs from 'fs';
import * as path from 'path';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import {
  ControlPlaneHost,
  HOST_BIN_DIR,
  HOST_CNI_BIN_DIR,
  HOST_STATE_DIR,
  RESET_SCRIPT,
} from '../../stacks/hosts/bringup';
import { HostsTargetSpec, parseHostsConfig } from '../../stacks/hosts/config';
import { etcdMembers, joinControlPlane, removeControlPlane } from '../../stacks/hosts/control-plane-join';
import { HostShell } from '../../stacks/hosts/host-shell';
import { approveKubeletServingCsrs, ClusterAdmin, HostAccess, nodeReady } from '../../stacks/hosts/join';
import { hostPodNetwork, hostsBlueprintSpec } from '../../stacks/hosts/program';
import { defaultCacheRoot } from '../../stacks/local/node/images';
import { sleep } from '../../stacks/local/node/sandbox';
import { tempDir, toolchainBin } from './support/env';
import { HostsLab } from './support/hosts-lab';
import { startTcpBalancer, TcpBalancer } from './support/tcp-balancer';

jest.setTimeout(2_400_000);

const PORTS = [47420, 47421, 47422];
const SUBNET = '198.18.7.0/24';
const ENDPOINT = '198.18.7.1:6443';
const CPS = ['ha-cp1', 'ha-cp2', 'ha-cp3'];
const STACK = 'ha47420';
/** What stacks/index.ts gives further control planes (and workers): a cgroup parent of their own. */
const kubeletPatch = (name: string) => ({ cgroupRoot: `/hcb-node-${STACK}-${name}` });

let lab: HostsLab | undefined;
let balancer: TcpBalancer | undefined;
let hostsSpec: HostsTargetSpec;
let work: string;
const imageCache = path.join(defaultCacheRoot(), 'hosts-images');
const logs: string[] = [];
const timings: string[] = [];
const t0 = Date.now();
const mark = (what: string) => timings.push(`${what} +${Math.round((Date.now() - t0) / 1000)}s`);
const log = (l: string) => logs.push(`${new Date().toISOString()} ${l}`);
const up = new Set<string>();
/** Set when the three control planes are Ready with three etcd members (the later tests need it). */
let ready = false;

function blueprint() {
  return synthesizeBlueprint(
    hostsBlueprintSpec({}, hostsSpec, {
      stack: STACK,
      cgroupV1: fs.readdirSync('/sys/fs/cgroup').includes('cpu') || fs.existsSync('/sys/fs/cgroup/memory'),
    }),
  );
}

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

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(3_000);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s ${last.slice(0, 2000)}`);
}

const withLog = async <T>(p: Promise<T>): Promise<T> => {
  try {
    return await p;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- log\n${logs.slice(-50).join('\n')}`, { cause: e });
  }
};

async function bringUpFirst(): Promise<void> {
  const cp = await ControlPlaneHost.open({
    ...access(CPS[0]),
    binDir: toolchainBin(),
    nodeFiles: blueprint().nodeFiles,
    podNetwork: hostPodNetwork(0),
    workDir: imageCache,
    log,
    initTimeoutMs: 900_000,
  });
  try {
    await cp.up();
  } finally {
    await cp.close().catch(() => undefined);
  }
}

/** kubectl on a control-plane host with its admin.conf (whose server is the endpoint). */
async function onHost<T>(name: string, f: (admin: ClusterAdmin) => Promise<T>): Promise<T> {
  const admin = await ClusterAdmin.open(access(name), toolchainBin(), log);
  try {
    return await f(admin);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** Every blueprint-owned node file: "path sha256 mode owner:group" as the host has it. */
function nodeFileState(name: string): string[] {
  const files = blueprint()
    .nodeFiles.filter((f) => f.createdBy === 'blueprint')
    .map((f) => f.path);
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

function leftovers(name: string): string[] {
  return lab!
    .exec(name, [
      'sh',
      '-c',
      `for p in /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/containerd /etc/cni/net.d /opt/cni/bin ${HOST_BIN_DIR} ${HOST_STATE_DIR} /run/containerd; do [ -e "$p" ] && echo "file $p"; done
     me=$(readlink /proc/self/ns/net)
     for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] || continue; e=$(readlink $p/exe 2>/dev/null); case "$e" in */sshd|*/sleep|*/sh|*/dash|*/bash|*/nsenter|*/readlink|*/cat) ;; *) echo "process \${p#/proc/} $e";; esac; done
     ip -o link show | awk -F': ' '{print $2}' | grep -E '^(cni0|veth)' | sed 's/^/interface /'
     true`,
    ])
    .split('\n')
    .filter(Boolean);
}

beforeAll(async () => {
  work = tempDir('hosts-ha');
  lab = await HostsLab.start({ hosts: CPS, ports: PORTS, subnet: SUBNET, log });
  for (const name of CPS) {
    fs.mkdirSync(path.join(lab.dir, 'hosts', name, 'containerd-disk'), { mode: 0o700 });
    lab.exec(name, [
      'sh',
      '-c',
      'mkdir -p /var/lib/containerd && mount --bind /run/hcb-lab/containerd-disk /var/lib/containerd',
    ]);
  }
  hostsSpec = parseHostsConfig(
    lab.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      user: 'root',
      role: 'control-plane',
      hostKey: h.hostKey,
    })),
    ENDPOINT,
  );
  // The lab's network namespace (the bridge, 198.18.7.1) is where the balancer listens.
  const labPid = (lab as unknown as { lab?: { pid: number } }).lab?.pid;
  if (!labPid) throw new Error('hosts lab: no lab namespace holder');
  balancer = await startTcpBalancer({
    netnsPid: labPid,
    listen: { host: '198.18.7.1', port: 6443 },
    backends: lab.hosts.map((h) => `${h.address}:6443`),
    logFile: path.join(work, 'balancer.log'),
  });
  mark('lab');
});

afterAll(async () => {
  const problems: string[] = [];
  if (lab) {
    for (const name of [...CPS].reverse()) {
      const p = await resetHost(name).catch((e: Error) => e.message);
      if (p) problems.push(p);
    }
  }
  if (balancer) await balancer.stop().catch(() => undefined);
  if (lab) await lab.destroy().catch((e: Error) => problems.push(`lab destroy: ${e.message}`));
  if (problems.length) process.stderr.write(`hosts-ha afterAll: ${problems.join('\n')}\n`);
  if (work) {
    if (fs.existsSync(path.join(work, 'balancer.log')))
      process.stderr.write(`balancer: ${fs.readFileSync(path.join(work, 'balancer.log'), 'utf8').slice(-1500)}\n`);
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.stderr.write(`hosts-ha timings: ${timings.join(', ')}\n`);
  if (process.env.HCB_E2E_LOG) process.stderr.write(`${logs.join('\n')}\n`);
});

test('three control planes (kubeadm init, then two control-plane joins) are Ready, etcd has three members', async () => {
  up.add(CPS[0]);
  await withLog(bringUpFirst());
  mark('ha-cp1 init');
  for (const [i, name] of CPS.entries()) {
    if (i === 0) continue;
    up.add(name); // reset in teardown even when the join fails half-way
    await withLog(
      joinControlPlane({
        first: access(CPS[0]),
        host: access(name),
        binDir: toolchainBin(),
        nodeFiles: blueprint().nodeFiles,
        podNetwork: hostPodNetwork(i),
        workDir: imageCache,
        kubeletConfigPatch: kubeletPatch(name),
        joinTimeoutMs: 900_000,
        readyTimeoutMs: 600_000,
        log,
      }),
    );
    mark(`${name} joined`);
  }
  await onHost(CPS[0], async (admin) => {
    await approveKubeletServingCsrs(
      admin,
      lab!.hosts.map((h) => ({ name: h.name, address: h.address })),
    );
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
      'server: https://198.18.7.1:6443',
    );
});

test('every blueprint node file is on each control plane as on the first (content, owner, mode; the encryption key too)', () => {
  expect(ready).toBe(true);
  const first = nodeFileState(CPS[0]);
  expect(first.length).toBeGreaterThan(3);
  expect(first.filter((l) => l.endsWith(' missing'))).toEqual([]);
  for (const name of CPS.slice(1)) expect(nodeFileState(name)).toEqual(first);
  const shared = ['ca.key', 'sa.key', 'front-proxy-ca.key', 'etcd/ca.key'].map((f) => `/etc/kubernetes/pki/${f}`);
  const sums = (name: string) => lab!.exec(name, ['sha256sum', ...shared]);
  for (const name of CPS.slice(1)) expect(sums(name)).toEqual(sums(CPS[0]));
});

test('with ha-cp1 stopped, the API through the endpoint answers reads and writes', async () => {
  expect(ready).toBe(true);
  // Every process in ha-cp1's network namespace except sshd (and this shell): API server, etcd,
  // controller-manager, scheduler, kubelet, containerd and its shims. Killing is repeated until a
  // pass finds nothing left: a kubelet or shim alive during one pass can start a process the pass
  // has already walked past (bounded: 40 passes, 0.25 s apart).
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
  await until('no listener on 6443 in ha-cp1', 30_000, async () =>
    lab!.exec(CPS[0], ['sh', '-c', 'ss -ltn | grep -c ":6443 " || true']).trim() === '0' ? true : undefined,
  );
  await onHost(CPS[1], async (admin) => {
    await until('the API through the endpoint after ha-cp1 stopped', 300_000, async () => {
      const r = await admin.kubectl(['get', '--raw', '/readyz'], { check: false, timeoutMs: 30_000 });
      return r.code === 0 && r.stdout.trim() === 'ok' ? true : undefined;
    });
    mark('API ready without ha-cp1');
    const name = `ha-probe-${Date.now()}`;
    await until('a write through the endpoint', 180_000, async () => {
      const r = await admin.kubectl(['-n', 'default', 'create', 'configmap', name, '--from-literal=k=v'], {
        check: false,
        timeoutMs: 30_000,
      });
      return r.code === 0 || /already exists/.test(r.stderr) ? true : undefined;
    });
    const cm = await admin.json<{ data: Record<string, string> }>(['-n', 'default', 'get', 'configmap', name]);
    expect(cm.data).toEqual({ k: 'v' });
    await admin.kubectl(['-n', 'default', 'delete', 'configmap', name, '--wait=true']);
    for (const n of CPS.slice(1)) expect((await nodeReady(admin, n)).ready).toBe(true);
  });
});

test('ha-cp1 brought back by a second bring-up rejoins; etcd is healthy with three members', async () => {
  expect(ready).toBe(true);
  await withLog(bringUpFirst());
  mark('ha-cp1 back');
  await onHost(CPS[1], async (admin) => {
    await until('ha-cp1 Ready again', 600_000, async () => ((await nodeReady(admin, CPS[0])).ready ? true : undefined));
  });
  await onHost(CPS[0], async (admin) => {
    const members = await until('etcd on ha-cp1 answering', 300_000, async () => etcdMembers(admin));
    expect(members.map((m) => m.name).sort()).toEqual([...CPS].sort());
  });
});

test('removing ha-cp3 deletes its Node and etcd member and resets the host', async () => {
  expect(ready).toBe(true);
  const res = await withLog(
    removeControlPlane({ first: access(CPS[0]), host: access(CPS[2]), binDir: toolchainBin(), log }),
  );
  up.delete(CPS[2]);
  expect(res.steps).toEqual(
    expect.arrayContaining([`deleted node ${CPS[2]}`, `removed etcd member ${CPS[2]} (2 left)`, `reset ${CPS[2]}`]),
  );
  await onHost(CPS[0], async (admin) => {
    expect((await etcdMembers(admin)).map((m) => m.name).sort()).toEqual(CPS.slice(0, 2));
    const r = await admin.kubectl(['get', 'node', CPS[2], '--ignore-not-found', '-o', 'name']);
    expect(r.stdout.trim()).toBe('');
    expect((await admin.kubectl(['get', '--raw', '/readyz'])).stdout.trim()).toBe('ok');
  });
  expect(leftovers(CPS[2])).toEqual([]);
  mark('ha-cp3 removed');
});

test('teardown resets every host', async () => {
  expect(lab).toBeDefined();
  // Every host still brought up (ha-cp3 too when its removal did not run), further ones first.
  for (const name of [...CPS].reverse()) if (up.has(name)) expect(await resetHost(name)).toBeUndefined();
  for (const name of CPS) expect(leftovers(name)).toEqual([]);
  await balancer!.stop();
  balancer = undefined;
  const dir = lab!.dir;
  await lab!.destroy();
  lab = undefined;
  expect(fs.existsSync(dir)).toBe(false);
  mark('teardown');
});
