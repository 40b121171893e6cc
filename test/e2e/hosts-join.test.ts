/**
 * Issue 10, hosts over SSH, part A: workers join with the real `kubeadm join`, pods talk across
 * hosts, NetworkPolicy is enforced across nodes, a worker is removed, and nothing is left.
 *
 * Three lab hosts (test/e2e/support/hosts-lab.ts, subnet 198.18.3.0/24): cp1 is brought up by
 * ControlPlaneHost (bringup.ts), w1 and w2 join with joinWorker (stacks/hosts/join.ts), and
 * ensureClusterNetwork (stacks/hosts/network.ts) gives every host its routes to the other pod
 * ranges, kube-proxy and kube-router's firewall. Everything the test does to the cluster goes
 * through kubectl on cp1 over SSH (ClusterAdmin); its view of the pods is curl inside a worker's
 * network namespace against a probe pod's /fetch?url=... (the pod opens the connection under test).
 *
 * Pod ranges: 198.18.96.0/19 for the cluster, a /24 per host. Service range 198.19.208.0/20.
 * Port range: 47670-47689 (47670-47672 the lab hosts' sshd).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parseAllDocuments, stringify } from 'yaml';
import {
  HardenedWorkload,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PodSelection,
  Probe,
  Tenant,
} from '../../constructs';
import { PodSecurityExemption } from '../../constructs/admission/pod-security-exemption';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import {
  cachedImage,
  ControlPlaneHost,
  HOST_BIN_DIR,
  HOST_STATE_DIR,
  RESET_SCRIPT,
  HOST_CNI_BIN_DIR,
} from '../../stacks/hosts/bringup';
import { HostShell } from '../../stacks/hosts/host-shell';
import {
  approveKubeletServingCsrs,
  ClusterAdmin,
  HostAccess,
  joinWorker,
  nodeReady,
  removeWorker,
} from '../../stacks/hosts/join';
import {
  ensureClusterNetwork,
  POD_ROUTE_PROTO,
  resetHostNetworkOver,
  sweepKubeChains,
} from '../../stacks/hosts/network';
import { buildImagePrograms, BuiltImage, defaultCacheRoot } from '../../stacks/local/node/images';
import { sleep } from '../../stacks/local/node/sandbox';
import { tempDir, toolchainBin } from './support/env';
import { HostsLab } from './support/hosts-lab';

jest.setTimeout(1_800_000);

const PORTS = [47670, 47671, 47672];
const SUBNET = '198.18.3.0/24';
const CP = 'cp1';
const WORKERS = ['w1', 'w2'];
const POD_SUBNET = '198.18.96.0/19';
const POD_NETS: Record<string, { podCidr: string; podGateway: string }> = {
  cp1: { podCidr: '198.18.96.0/24', podGateway: '198.18.96.1' },
  w1: { podCidr: '198.18.97.0/24', podGateway: '198.18.97.1' },
  w2: { podCidr: '198.18.98.0/24', podGateway: '198.18.98.1' },
};
/** Each lab host's kubelet gets its own cgroup parent (the hosts share this machine's cgroup tree). */
const cgroupRoot = (name: string) => `/hcb-h3-${name}-47670`;
const NS = 'web-test';

let lab: HostsLab | undefined;
let cp: ControlPlaneHost | undefined;
let admin: ClusterAdmin | undefined;
let work: string;
/** Image archives (keyed by binary hash): kept between runs, packing the control-plane binaries takes minutes on a loaded machine. */
const imageCache = path.join(defaultCacheRoot(), 'hosts-images');
let probeImage: BuiltImage;
const joined = new Set<string>();
const logs: string[] = [];
const timings: string[] = [];
const t0 = Date.now();
const mark = (what: string) => timings.push(`${what} +${Math.round((Date.now() - t0) / 1000)}s`);
const log = (l: string) => logs.push(l);

function blueprint() {
  return synthesizeBlueprint({
    admissionPolicies: false,
    controlPlane: {
      nodeName: CP,
      clusterName: 'hcb-hosts-join-e2e',
      advertiseAddress: lab!.host(CP).address,
      podSubnet: POD_SUBNET,
      serviceSubnet: '198.19.208.0/20',
      kubelet: { cgroupDriver: 'cgroupfs', cgroupRoot: cgroupRoot(CP), failCgroupV1: false },
      // The lab hosts are network namespaces: nf_conntrack_max is the machine's, read-only there
      // (as the hosts program sets it for the hosts target).
      kubeProxy: { conntrackMaxPerCore: 0 },
      admission: {
        podSecurity: {
          exemptions: [
            PodSecurityExemption.namespace('kube-system', {
              justification:
                'kubeadm static control-plane pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) need the host network and run as root; their mirror pods live in kube-system',
              owner: 'hcb hosts target e2e',
              expires: '2027-11-29',
            }),
          ],
        },
      },
    },
  });
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

function join(name: string) {
  return joinWorker({
    controlPlane: admin!,
    worker: access(name),
    binDir: toolchainBin(),
    nodeFiles: blueprint().nodeFiles,
    podNetwork: POD_NETS[name],
    kubeletConfigPatch: { cgroupRoot: cgroupRoot(name) },
    images: [probeImage],
    workDir: imageCache,
    log,
  });
}

function network(names: string[]) {
  return ensureClusterNetwork({
    admin: admin!,
    hosts: names.map((n) => ({ ...access(n), podCidr: POD_NETS[n].podCidr })),
    binDir: toolchainBin(),
    nodeFiles: blueprint().nodeFiles,
    log,
  });
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
    await sleep(2_000);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s ${last}`);
}

const withLog = async <T>(p: Promise<T>): Promise<T> => {
  try {
    return await p;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- log\n${logs.slice(-40).join('\n')}`, { cause: e });
  }
};

// ---------------------------------------------------------------------------------------------
// workloads and policies

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

function synth(build: (chart: Chart) => void): Obj[] {
  const app = new App();
  build(new Chart(app, 'hosts-join'));
  return parseAllDocuments(app.synthYaml())
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}

const workloads: Record<string, HardenedWorkload> = {};

function probeOn(chart: Chart, name: string, node: string): HardenedWorkload {
  return new HardenedWorkload(chart, `workload-${name}`, {
    namespace: NS,
    name,
    app: name,
    dedicatedNodes: { nodeSelector: { 'kubernetes.io/hostname': node } },
    containers: [
      {
        name: 'probe',
        image: probeImage.ref,
        args: ['serve', ':8080'],
        ports: [{ number: 8080, name: 'http' }],
        liveness: Probe.fromHttpGet('/healthz', { port: 8080 }),
        readiness: Probe.fromHttpGet('/ready', { port: 8080 }),
        resources: { cpuRequest: '10m', cpuLimit: '200m', memoryRequest: '16Mi', memoryLimit: '64Mi' },
      },
    ],
  });
}

function allowPolicies(chart: Chart): void {
  new NetworkAllowPolicy(chart, 'web-from-client', {
    namespace: NS,
    appliesTo: PodSelection.labels(workloads.web.podLabels),
    ingress: [{ peers: [NetworkPeer.pods(workloads.client.podLabels)], ports: [NetworkPort.tcp(8080)] }],
  });
  new NetworkAllowPolicy(chart, 'client-to-web', {
    namespace: NS,
    appliesTo: PodSelection.labels(workloads.client.podLabels),
    egress: [{ peers: [NetworkPeer.pods(workloads.web.podLabels)], ports: [NetworkPort.tcp(8080)] }],
  });
}

async function apply(objs: Obj[]): Promise<void> {
  const order = [
    'Namespace',
    'ResourceQuota',
    'LimitRange',
    'ServiceAccount',
    'Role',
    'RoleBinding',
    'NetworkPolicy',
    'Service',
    'PodDisruptionBudget',
    'Deployment',
  ];
  const sorted = [...objs].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  await until('apply', 120_000, async () =>
    (await admin!.apply(sorted.map((o) => stringify(o)).join('---\n'))) ? true : undefined,
  );
}

async function runningPod(app: string): Promise<{ name: string; ip: string; node: string }> {
  return until(`a Running, Ready pod ${NS}/${app}`, 300_000, async () => {
    const list = await admin!.json<{ items: any[] }>(['get', 'pods', '-n', NS]);
    const pod = list.items.find(
      (p) =>
        p.metadata.name.startsWith(`${app}-`) &&
        !p.metadata.deletionTimestamp &&
        p.status?.phase === 'Running' &&
        p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
    );
    if (!pod)
      throw new Error(
        `pods: ${list.items.map((p) => `${p.metadata.name} ${p.status?.phase} ${JSON.stringify(p.status?.conditions?.filter((c: any) => c.status !== 'True') ?? [])}`).join('; ')}`,
      );
    return { name: pod.metadata.name, ip: pod.status.podIP, node: pod.spec.nodeName };
  });
}

/** From inside the pod at `fromIP` (on host `host`), one GET of `url` (the probe's 2 s timeout). */
function fetchFrom(host: string, fromIP: string, url: string): { ok: boolean; detail: string } {
  const out = lab!.exec(host, [
    'curl',
    '-sS',
    '--max-time',
    '8',
    `http://${fromIP}:8080/fetch?url=${encodeURIComponent(url)}`,
  ]);
  const r = JSON.parse(out) as { status: number; body: string; error?: string };
  return { ok: r.status === 200 && !r.error, detail: r.error ?? `HTTP ${r.status} ${r.body.trim()}` };
}

async function expectFlows(host: string, fromIP: string, url: string): Promise<void> {
  let last = '';
  await until(`${fromIP} -> ${url} to flow`, 90_000, async () => {
    const a = fetchFrom(host, fromIP, url);
    last = a.detail;
    return a.ok ? true : undefined;
  }).catch((e) => {
    throw new Error(`${(e as Error).message} (last: ${last})`);
  });
}

/** Blocked: waits (bounded) for the first failure, then every one of `attempts` more fails. */
async function expectBlocked(host: string, fromIP: string, url: string, attempts = 2): Promise<string[]> {
  await until(`${fromIP} -> ${url} to be blocked`, 90_000, async () =>
    fetchFrom(host, fromIP, url).ok ? undefined : true,
  );
  const details: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const a = fetchFrom(host, fromIP, url);
    if (a.ok) throw new Error(`${fromIP} -> ${url} was expected to be blocked but got ${a.detail}`);
    details.push(a.detail);
  }
  return details;
}

// ---------------------------------------------------------------------------------------------

async function resetEverything(): Promise<string[]> {
  const problems: string[] = [];
  for (const name of [...WORKERS, CP]) {
    await resetHostNetworkOver(access(name)).catch((e) =>
      problems.push(`${name} network reset: ${(e as Error).message}`),
    );
  }
  for (const name of WORKERS) {
    const shell = await HostShell.open(access(name)).catch(() => undefined);
    if (!shell) continue;
    const out = await shell
      .sh(RESET_SCRIPT, [HOST_BIN_DIR, HOST_STATE_DIR, HOST_CNI_BIN_DIR], {
        label: 'reset',
        timeoutMs: 300_000,
        check: false,
      })
      .catch((e: Error) => e.message);
    if (!/^hcb-reset done$/m.test(out)) problems.push(`${name} reset: ${out.slice(-500)}`);
    await shell.close().catch(() => undefined);
  }
  if (cp) {
    await cp.reset().catch((e) => problems.push(`cp reset: ${(e as Error).message}`));
    await cp.close().catch(() => undefined);
    cp = undefined;
  }
  // The kubelets' own chains (KUBE-FIREWALL, canaries) once every kubelet is gone.
  for (const name of [...WORKERS, CP]) {
    const shell = await HostShell.open(access(name)).catch(() => undefined);
    if (!shell) continue;
    await sweepKubeChains(shell).catch((e) => problems.push(`${name} chains: ${(e as Error).message}`));
    await shell.close().catch(() => undefined);
  }
  return problems;
}

/**
 * Mounts each lab host shows before anything runs: the host's mount namespace is a copy of this
 * machine's, so a machine mount such as /run/netns (from `ip netns`) is listed there too, hidden
 * under the host's own /run. Only mounts beyond these count as left behind.
 */
const baselineMounts = new Map<string, Set<string>>();

function leftovers(name: string): string[] {
  const base = baselineMounts.get(name) ?? new Set<string>();
  return rawLeftovers(name).filter((l) => !(l.startsWith('mount ') && base.has(l)));
}

function rawLeftovers(name: string): string[] {
  return lab!
    .exec(name, [
      'sh',
      '-c',
      `for p in /etc/kubernetes /var/lib/kubelet /var/lib/kube-proxy /var/lib/etcd /etc/containerd /etc/cni/net.d /opt/cni/bin ${HOST_BIN_DIR} ${HOST_STATE_DIR} /run/containerd /var/log/pods; do [ -e "$p" ] && echo "file $p"; done
     me=$(readlink /proc/self/ns/net)
     for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] || continue; e=$(readlink $p/exe 2>/dev/null); case "$e" in */sshd|*/sleep|*/sh|*/dash|*/bash|*/nsenter|*/readlink|*/cat) ;; *) echo "process \${p#/proc/} $e";; esac; done
     awk '{print $5}' /proc/self/mountinfo | grep -E '^(/var/lib/kubelet|/var/lib/containerd/.|/run/containerd|/run/netns)' | sed 's/^/mount /'
     ip -o link show | awk -F': ' '{print $2}' | grep -E '^(cni0|veth)' | sed 's/^/interface /'
     ip -o route show proto ${POD_ROUTE_PROTO} | sed 's/^/route /'
     { iptables-save; ip6tables-save; } 2>/dev/null | grep -E '^:KUBE-' | sed 's/^/chain /'
     nft list tables 2>/dev/null | grep -i kube | sed 's/^/nft /'
     ipset list -n 2>/dev/null | sed 's/^/ipset /'
     for d in /sys/fs/cgroup/*/hcb-h3-${name}-47670; do [ -d "$d" ] && echo "cgroup $d"; done
     true`,
    ])
    .split('\n')
    .filter(Boolean);
}

beforeAll(async () => {
  work = tempDir('hosts-join');
  lab = await HostsLab.start({ hosts: [CP, ...WORKERS], ports: PORTS, subnet: SUBNET, log });
  // containerd's overlayfs snapshotter cannot stack on the lab's overlay /var: a plain directory there.
  for (const name of [CP, ...WORKERS]) {
    fs.mkdirSync(path.join(lab.dir, 'hosts', name, 'containerd-disk'), { mode: 0o700 });
    baselineMounts.set(name, new Set(rawLeftovers(name).filter((l) => l.startsWith('mount '))));
    lab.exec(name, [
      'sh',
      '-c',
      'mkdir -p /var/lib/containerd && mount --bind /run/hcb-lab/containerd-disk /var/lib/containerd',
    ]);
  }
  const programs = buildImagePrograms(undefined, log);
  probeImage = cachedImage(
    {
      repository: 'hcb/probe',
      tag: 'e2e',
      binary: programs.probe,
      entrypoint: ['/probe'],
      user: '65532:65532',
      exposedPorts: ['8080/tcp'],
    },
    path.join(imageCache, 'images'),
  );
  mark('lab');
});

afterAll(async () => {
  if (admin) await admin.close().catch(() => undefined);
  if (lab) {
    const problems = await resetEverything();
    if (problems.length) process.stderr.write(`hosts-join afterAll: ${problems.join('\n')}\n`);
    await lab.destroy();
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
  process.stderr.write(`hosts-join timings: ${timings.join(', ')}\n`);
  if (process.env.HCB_E2E_LOG) process.stderr.write(`${logs.join('\n')}\n`);
});

test('a control plane and two workers that joined with kubeadm join are Ready', async () => {
  cp = await ControlPlaneHost.open({
    ...access(CP),
    binDir: toolchainBin(),
    nodeFiles: blueprint().nodeFiles,
    podNetwork: POD_NETS[CP],
    workDir: imageCache,
    log,
  });
  await withLog(cp.up());
  mark('control plane up');
  admin = await ClusterAdmin.open(access(CP), toolchainBin(), log);
  for (const w of WORKERS) {
    const res = await withLog(join(w));
    joined.add(w);
    // The join script starts the kubelet (with its fingerprint) while kubeadm waits for it.
    expect(res.changed).toEqual(expect.arrayContaining(['kubeadm join', 'containerd started']));
    mark(`${w} joined`);
  }
  // The bootstrap tokens are gone once the joins are done, and never reached the log.
  expect(
    (await admin.kubeadm(['token', 'list', '--kubeconfig=/etc/kubernetes/admin.conf'], { label: 'token list' })).stdout,
  ).not.toMatch(/hcb join of/);
  expect(logs.join('\n')).not.toMatch(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/);

  const net = await withLog(network([CP, ...WORKERS]));
  expect(net.changed).toEqual(
    expect.arrayContaining([
      'w1: kube-router started',
      'w2: kube-proxy started',
      `w1: route ${POD_NETS.w2.podCidr} via ${lab!.host('w2').address}`,
    ]),
  );
  mark('network');
  await until('cp1 serving certificate', 120_000, async () => {
    for (const l of await approveKubeletServingCsrs(admin!, [{ name: CP, address: lab!.host(CP).address }])) log(l);
    return (await nodeReady(admin!, CP)).ready ? true : undefined;
  });
  for (const n of [CP, ...WORKERS])
    expect(await nodeReady(admin, n)).toEqual({ ready: true, message: expect.stringMatching(/^Ready=True/) });
  // Workers run no static pods (the join's kubelet patch) and each kubelet has its own cgroup parent.
  for (const w of WORKERS) {
    const cfg = lab!.exec(w, ['cat', '/var/lib/kubelet/config.yaml']);
    expect(cfg).toMatch(/^staticPodPath: ""$/m);
    expect(cfg).toMatch(new RegExp(`^cgroupRoot: ${cgroupRoot(w)}$`, 'm'));
    expect(lab!.exec(w, ['stat', '-c', '%a %U', '/etc/kubernetes/kubelet.conf']).trim()).toBe('600 root');
  }
});

test('a second join and network run change nothing', async () => {
  expect(joined.size).toBe(2);
  const again = await withLog(join('w1'));
  expect(again.changed).toEqual([]);
  const net = await withLog(network([CP, ...WORKERS]));
  expect(net.changed).toEqual([]);
});

let pods: Record<string, { name: string; ip: string; node: string }> = {};

test('HardenedWorkloads placed on the workers run there', async () => {
  expect(joined.size).toBe(2);
  const objs = synth((chart) => {
    new Tenant(chart, 'web', {
      environments: [{ name: 'test', namespace: { size: 'small' } }],
      protectionNeed: 'normal',
    });
    workloads.web = probeOn(chart, 'web', 'w2');
    workloads.client = probeOn(chart, 'client', 'w1');
    workloads.other = probeOn(chart, 'other', 'w1');
  });
  expect(objs.filter((o) => o.kind === 'NetworkPolicy').length).toBeGreaterThan(0);
  await apply(objs);
  pods = { web: await runningPod('web'), client: await runningPod('client'), other: await runningPod('other') };
  expect(pods.web.node).toBe('w2');
  expect(pods.client.node).toBe('w1');
  mark('pods running');
});

test('NetworkPolicy is enforced across nodes: default deny blocks, a NetworkAllowPolicy allows, no policy flows', async () => {
  expect(pods.web).toBeDefined();
  const web = `http://${pods.web.ip}:8080/healthz`;
  // The namespace's default deny (from the Tenant): client (w1) -> web (w2) blocked.
  const blocked = await expectBlocked('w1', pods.client.ip, web);
  log(`blocked by default deny: ${blocked.join(' | ')}`);
  // Allow policies from the constructs: client -> web flows, other -> web stays blocked.
  await apply(synth(allowPolicies));
  await expectFlows('w1', pods.client.ip, web);
  await expectBlocked('w1', pods.other.ip, web);
  // Without any policy in the namespace the same paths flow (the network works; the policy blocked).
  const list = await admin!.json<{ items: Obj[] }>(['get', 'networkpolicies', '-n', NS]);
  expect(list.items.length).toBeGreaterThan(0);
  await admin!.kubectl(['delete', 'networkpolicies', '--all', '-n', NS, '--wait=true']);
  await expectFlows('w1', pods.other.ip, web);
  await expectFlows('w1', pods.client.ip, web);
  mark('netpol');
});

test('removing a worker drains it, deletes its Node and resets the host', async () => {
  expect(joined.size).toBe(2);
  const res = await withLog(
    removeWorker({
      controlPlane: admin!,
      worker: access('w2'),
      binDir: toolchainBin(),
      force: true,
      drainTimeoutMs: 180_000,
      log,
    }),
  );
  joined.delete('w2');
  expect(res.steps).toEqual(expect.arrayContaining(['drained w2', 'deleted node w2', 'reset w2']));
  expect((await admin!.kubectl(['get', 'node', 'w2', '--ignore-not-found', '-o', 'name'])).stdout.trim()).toBe('');
  // The web pod's Deployment moves nowhere (it is pinned to w2): it stays Pending, not on w1.
  const net = await withLog(network([CP, 'w1']));
  expect(net.changed).toEqual([
    `cp1: route ${POD_NETS.w2.podCidr} removed`,
    `w1: route ${POD_NETS.w2.podCidr} removed`,
  ]);
  expect(leftovers('w2')).toEqual([]);
  mark('w2 removed');
});

test('teardown leaves no process, namespace or mount behind', async () => {
  expect(lab).toBeDefined();
  await admin!.close();
  admin = undefined;
  const problems = await resetEverything();
  expect(problems).toEqual([]);
  for (const n of [CP, ...WORKERS]) expect(leftovers(n)).toEqual([]);
  const dir = lab!.dir;
  await lab!.destroy();
  lab = undefined;
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir));
  expect(mounts).toEqual([]);
  expect(fs.existsSync(dir)).toBe(false);
  const cgroups = fs.readdirSync('/sys/fs/cgroup').flatMap((h) => {
    try {
      return fs
        .readdirSync(path.join('/sys/fs/cgroup', h))
        .filter((d) => d.startsWith('hcb-h3-'))
        .map((d) => `${h}/${d}`);
    } catch {
      return [];
    }
  });
  expect(cgroups).toEqual([]);
  mark('teardown');
});
