/**
 * Services and cluster DNS on the local node (issue 9): kube-proxy (iptables mode) runs in the
 * node's namespaces with the blueprint's KubeProxyConfiguration and the least-privileged
 * identity system:kube-proxy; pods reach the API server through the `kubernetes` Service
 * (198.19.0.1 → the node address, where a forwarder serves the API); CoreDNS runs as the
 * blueprint's hardened add-on (image built from the toolchain, by digest) and pods resolve
 * cluster names through it; teardown leaves nothing behind.
 *
 * DNS under the default deny (issue 9: "DNS resolves through CoreDNS and nothing else leaves
 * the namespace"): kube-router enforces the tenant namespace's default deny and its hcb-allow-dns
 * rule, as on every local node. A pod with no allow rule of its own resolves the kubernetes
 * Service and a Service of its own namespace through CoreDNS, while TCP to a pod of another
 * namespace (which admits it), to the API server's Service IP, to a server in a network
 * namespace this test creates, and TCP/UDP port 53 of a DNS server there (used directly, by a
 * pod whose resolver is that server) are blocked; with the policies deleted, the same traffic
 * flows (the network works; the policy blocks). The external namespace (198.18.66.2/30, a veth
 * to the node namespace, 198.18.66.1/30) runs the probe server (TCP 8080) and the toolchain's
 * CoreDNS (UDP/TCP 53, answering exfil.hcb.test); afterAll removes it.
 *
 * Port range: 47743-47748 (see docs/ARCHITECTURE.md).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import {
  HardenedWorkload,
  NetworkAllowPolicy,
  NetworkPeer,
  NetworkPort,
  PodSelection,
  Probe,
  Tenant,
} from '../../constructs';
import { buildImagePrograms } from '../../stacks/local/node/images';
import { LOCAL_NODE_NETWORK } from '../../stacks/local/node/network';
import { LocalNode } from '../../stacks/local/node/node';
import { coreDnsImage, KUBE_PROXY_USER } from '../../stacks/local/node/services';
import { nodeSummary } from '../../stacks/local/node/summary';
import { verifyLocalCluster } from '../../stacks/local/verify';
import { eventually, startCluster, TestCluster } from './support/cluster';
import { ApiClient, tempDir, toolchainBin } from './support/env';

jest.setTimeout(600_000);

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: any };
  [k: string]: any;
};

const BASE_PORT = 47743;
const NS = 'gamma-test';
/** Another tenant's namespace: its pod admits gamma's pods, so only gamma's egress rules decide. */
const OTHER_NS = 'delta-test';
/** The world outside the cluster: a network namespace of this test's own, linked to the node by a veth. */
const EXT = { server: '198.18.66.2', node: '198.18.66.1', prefix: 30, port: 8080, name: 'exfil.hcb.test' };

let cluster: TestCluster;
let admin: ApiClient;
let node: LocalNode;
let images: Record<string, string>;
let dnsImage: string;
let imageDir: string;
let extNetns = '';
const extProcs: ChildProcess[] = [];
let extDir = '';
/** How blocked attempts failed (printed after the run). */
const blockedSeen = new Set<string>();
const pods: Record<string, { name: string; ip: string }> = {};
const timings: Array<[string, number]> = [];
const t0 = Date.now();
const mark = (what: string) => timings.push([what, Math.round((Date.now() - t0) / 1000)]);

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  ResourceQuota: 'resourcequotas',
  LimitRange: 'limitranges',
  ServiceAccount: 'serviceaccounts',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ConfigMap: 'configmaps',
  NetworkPolicy: 'networkpolicies',
  Service: 'services',
  PodDisruptionBudget: 'poddisruptionbudgets',
  Deployment: 'deployments',
};

function objectPath(o: Obj): string {
  const plural = PLURALS[o.kind];
  if (!plural) throw new Error(`this test does not know how to apply ${o.kind}`);
  const prefix = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  return `${prefix}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${plural}/${o.metadata.name}`;
}

async function apply(objs: Obj[]): Promise<void> {
  const order = Object.keys(PLURALS);
  for (const o of [...objs].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind))) {
    if (o.kind === 'ServiceAccount' && o.metadata.name === 'default') {
      await eventually(`ServiceAccount ${o.metadata.namespace}/default`, async () =>
        (await admin.get(objectPath(o))).status === 200 ? true : undefined,
      );
    }
    if (
      o.metadata.namespace &&
      o.kind !== 'ResourceQuota' &&
      objs.some((q) => q.kind === 'ResourceQuota' && q.metadata.namespace === o.metadata.namespace)
    ) {
      await eventually(`quota status in ${o.metadata.namespace}`, async () => {
        const list = await admin.json<{ items: Array<{ status?: { hard?: object } }> }>(
          `/api/v1/namespaces/${o.metadata.namespace}/resourcequotas`,
        );
        return list.items.every((q) => q.status?.hard) ? true : undefined;
      });
    }
    // A loaded machine can drop a connection: a few bounded retries of the (idempotent) apply.
    let res: { status: number; body: string } | undefined;
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await admin.request(
          'PATCH',
          `${objectPath(o)}?fieldManager=hcb&fieldValidation=Strict`,
          o,
          'application/apply-patch+yaml',
        );
      } catch (e) {
        if (attempt >= 5 || !/socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT|^timeout: /.test((e as Error).message))
          throw e;
        await new Promise((r) => setTimeout(r, 2000 * attempt));
      }
    }
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`apply ${o.kind} ${o.metadata.name}: HTTP ${res.status} ${res.body}`);
  }
}

function inNodeNetwork(args: string[], timeoutMs = 20_000): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync('nsenter', [`--net=/run/netns/${node.sandbox.netnsName}`, '--', ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** From inside the pod at `fromIP` (a probe server), one GET of `url` (the probe's 2 s timeout). */
function fetchFrom(fromIP: string, url: string): { ok: boolean; detail: string } {
  const res = inNodeNetwork(
    ['curl', '-sS', '--max-time', '8', `http://${fromIP}:8080/fetch?url=${encodeURIComponent(url)}`],
    15_000,
  );
  if (res.status !== 0)
    throw new Error(`the test could not reach the probe pod ${fromIP}: curl exit ${res.status}: ${res.stderr}`);
  const r = JSON.parse(res.stdout) as { status: number; body: string; error?: string };
  return { ok: r.status === 200 && !r.error, detail: r.error ?? `HTTP ${r.status} ${r.body.trim()}` };
}

/** Retries (bounded) until `accept` holds for the fetch result; returns the last detail. */
async function fetchUntil(
  fromIP: string,
  url: string,
  accept: (r: { ok: boolean; detail: string }) => boolean,
  timeoutMs = 60_000,
): Promise<string> {
  let last = '';
  return eventually(
    `${url} from ${fromIP}`,
    async () => {
      const r = fetchFrom(fromIP, url);
      last = r.detail;
      return accept(r) ? r.detail : undefined;
    },
    timeoutMs,
  ).catch((e) => {
    throw new Error(`${(e as Error).message} (last: ${last})`);
  });
}

async function runningPod(namespace: string, prefix: string): Promise<{ name: string; ip: string }> {
  return eventually(
    `a Running, Ready pod ${namespace}/${prefix}`,
    async () => {
      const list = await admin.json<{ items: any[] }>(`/api/v1/namespaces/${namespace}/pods`);
      const pod = list.items.find(
        (p) =>
          p.metadata.name.startsWith(`${prefix}-`) &&
          !p.metadata.deletionTimestamp &&
          p.status?.phase === 'Running' &&
          p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
      );
      return pod ? { name: pod.metadata.name, ip: pod.status.podIP } : undefined;
    },
    180_000,
  );
}

function probeWorkload(chart: Chart, name: string, exposeTo?: HardenedWorkload, namespace = NS): HardenedWorkload {
  return new HardenedWorkload(chart, namespace === NS ? name : `${namespace}-${name}`, {
    namespace,
    // A Service named like the workload, reachable from the given workload's pods only.
    ...(exposeTo ? { expose: [{ port: 8080, from: [NetworkPeer.pods(exposeTo.podLabels)] }] } : {}),
    name,
    app: name,
    containers: [
      {
        name: 'probe',
        image: images.probe,
        args: ['serve', ':8080'],
        ports: [{ number: 8080, name: 'http' }],
        liveness: Probe.fromHttpGet('/healthz', { port: 8080 }),
        readiness: Probe.fromHttpGet('/ready', { port: 8080 }),
        resources: { cpuRequest: '10m', cpuLimit: '200m', memoryRequest: '16Mi', memoryLimit: '64Mi' },
      },
    ],
  });
}

/** Pids on this machine running the binary `name` inside the cluster's cgroup parent (its containers). */
function containerPids(name: string): number[] {
  const root = fs.readFileSync(path.join(cluster.stateDir, 'node/cgroup-root'), 'utf8').trim();
  return fs
    .readdirSync('/proc')
    .filter((e) => /^[0-9]+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return (
          path.basename(fs.readlinkSync(`/proc/${pid}/exe`)) === name &&
          fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`${root}/`)
        );
      } catch {
        return false;
      }
    });
}

/** The enforcer's rules in the node mention every pod address (it has synced the pods). */
async function enforcerKnows(ips: string[]): Promise<void> {
  await eventually(
    `kube-router rules for ${ips.join(', ')}`,
    async () => {
      const rules = inNodeNetwork(['iptables-save', '-t', 'filter']).stdout;
      return ips.every((ip) => rules.includes(`${ip}/32`) || rules.includes(` ${ip} `)) ? true : undefined;
    },
    90_000,
  );
}

/** A connection that never got through: refused, reset, timed out or unreachable (never an answer). */
const NOT_CONNECTED =
  /connection refused|connection reset|i\/o timeout|Client\.Timeout|deadline exceeded|no route to host|network is unreachable|host is unreachable/;

/** Blocked: each of `attempts` fails (called only once the enforcer has the pods' rules). */
function expectBlocked(fromIP: string, url: string, attempts = 2): string[] {
  const details: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const a = fetchFrom(fromIP, url);
    if (a.ok) throw new Error(`${fromIP} -> ${url} was expected to be blocked but got ${a.detail}`);
    details.push(a.detail);
    blockedSeen.add(a.detail.replace(/[0-9.]+:[0-9]+/g, '<addr>'));
  }
  return details;
}

/** Node.js in the node netns: one A query of argv[2] to the server argv[1] (UDP), prints the addresses. */
const RESOLVE_SCRIPT = `const { Resolver } = require('dns').promises;
const r = new Resolver({ timeout: 1000, tries: 1 });
r.setServers([process.argv[1]]);
r.resolve4(process.argv[2]).then((a) => console.log(a.join(',')), (e) => { console.error(e.code || e.message); process.exit(1); });`;

const hostIp = (args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/**
 * A network namespace of the test's own, linked and routed to the node: the probe server on
 * TCP 8080 and a DNS server (the toolchain's CoreDNS, not the cluster's) on UDP/TCP 53 that
 * answers EXT.name with its own address.
 */
async function startExternal(): Promise<void> {
  extNetns = `hcb-${crypto.createHash('sha256').update(cluster.stateDir).digest('hex').slice(0, 10)}-dnsx`;
  extDir = tempDir('dns-ext');
  const nodeNs = node.sandbox.netnsName;
  hostIp(['netns', 'add', extNetns]);
  hostIp(['-n', extNetns, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'hcbdnsx0', 'netns', nodeNs]);
  hostIp(['-n', extNetns, 'addr', 'add', `${EXT.server}/${EXT.prefix}`, 'dev', 'ext0']);
  hostIp(['-n', extNetns, 'link', 'set', 'lo', 'up']);
  hostIp(['-n', extNetns, 'link', 'set', 'ext0', 'up']);
  hostIp(['-n', nodeNs, 'addr', 'add', `${EXT.node}/${EXT.prefix}`, 'dev', 'hcbdnsx0']);
  hostIp(['-n', nodeNs, 'link', 'set', 'hcbdnsx0', 'up']);
  // Back to the pods through the node (no masquerading: pods keep their addresses).
  hostIp(['-n', extNetns, 'route', 'add', node.network.podCidr, 'via', EXT.node]);
  const corefile = path.join(extDir, 'Corefile');
  fs.writeFileSync(corefile, `.:53 {\n  bind ${EXT.server}\n  hosts {\n    ${EXT.server} ${EXT.name}\n  }\n}\n`);
  const log = fs.openSync(path.join(extDir, 'coredns.log'), 'a');
  extProcs.push(
    spawn('ip', ['netns', 'exec', extNetns, path.join(toolchainBin(), 'coredns'), '-conf', corefile], {
      stdio: ['ignore', log, log],
      cwd: extDir,
    }),
  );
  extProcs.push(
    spawn('ip', ['netns', 'exec', extNetns, buildImagePrograms().probe, 'serve', `${EXT.server}:${EXT.port}`], {
      stdio: 'ignore',
    }),
  );
  fs.closeSync(log);
  // Both answer from the node (the path exists; what blocks a pod is the policy).
  await eventually(
    'the external server to answer from the node',
    async () =>
      inNodeNetwork(['curl', '-sS', '--max-time', '2', `http://${EXT.server}:${EXT.port}/healthz`]).stdout.trim() ===
      'ok'
        ? true
        : undefined,
    30_000,
  );
  await eventually(
    'the external resolver to answer from the node',
    async () => {
      const r = inNodeNetwork([process.execPath, '-e', RESOLVE_SCRIPT, EXT.server, EXT.name], 10_000);
      return r.stdout.trim() === EXT.server ? true : undefined;
    },
    30_000,
  ).catch((e) => {
    throw new Error(
      `${(e as Error).message}; coredns log: ${fs.readFileSync(path.join(extDir, 'coredns.log'), 'utf8').slice(-1000)}`,
    );
  });
}

function stopExternal(): void {
  for (const p of extProcs) {
    try {
      if (p.pid) process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (extNetns && fs.existsSync(`/run/netns/${extNetns}`)) {
    // Kill whatever still runs in it (only the two servers), then delete it; the veth goes with it.
    const pids = spawnSync('ip', ['netns', 'pids', extNetns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'delete', extNetns]);
  }
  if (extDir) fs.rmSync(extDir, { recursive: true, force: true });
}

const statusField = (pid: number, field: string) =>
  new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();

beforeAll(async () => {
  imageDir = tempDir('dns-images');
  dnsImage = coreDnsImage(toolchainBin(), imageDir).ref;
  cluster = await startCluster(
    'dns',
    BASE_PORT,
    { clusterDns: { image: dnsImage, probeSources: [`${LOCAL_NODE_NETWORK.podGateway}/32`] } },
    { node: true },
  );
  mark('cluster with node, kube-proxy and the Service forwarder up');
  admin = cluster.api;
  node = cluster.cp.localNode();
  images = (await cluster.cp.up()).node!.images;
  // The blueprint's DNS add-on, exactly as synthesized.
  const dns = cluster.blueprint.clusterObjects.filter((o) =>
    String((o.metadata as any)?.annotations?.['hcb.dev/construct-path'] ?? '').includes('/cluster-dns/'),
  ) as Obj[];
  expect(dns.map((o) => o.kind).sort()).toEqual([
    'ClusterRole',
    'ClusterRoleBinding',
    'ConfigMap',
    'Deployment',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'Service',
    'ServiceAccount',
  ]);
  await apply(dns);
  await eventually(
    'CoreDNS Deployment available (2 replicas)',
    async () => {
      const d = await admin.json<any>('/apis/apps/v1/namespaces/kube-system/deployments/coredns');
      return d.status?.availableReplicas === 2 ? true : undefined;
    },
    180_000,
  );
  mark('CoreDNS available');
  const app = new App();
  const chart = new Chart(app, 'dns-live');
  new Tenant(chart, 'gamma', {
    environments: [{ name: 'test', namespace: { size: 'small' } }],
    protectionNeed: 'normal',
  });
  const client = probeWorkload(chart, 'client');
  const web = probeWorkload(chart, 'web', client);
  expect(web.exposedServiceName).toBe('web');
  new NetworkAllowPolicy(chart, 'client-out', {
    namespace: NS,
    appliesTo: PodSelection.labels(client.podLabels),
    egress: [
      { peers: [NetworkPeer.pods(web.podLabels)], ports: [NetworkPort.tcp(8080)] },
      { peers: [NetworkPeer.apiServer([`${LOCAL_NODE_NETWORK.nodeAddress}/32`])], ports: [NetworkPort.tcp(BASE_PORT)] },
    ],
  });
  // DNS under the default deny: `isolated` has no allow rule of its own (only the namespace's
  // hcb-allow-dns); `rogue` has none either and a resolver outside the cluster; delta's `target`
  // admits gamma's pods on 8080, so what blocks gamma -> target is gamma's egress.
  new Tenant(chart, 'delta', {
    environments: [{ name: 'test', namespace: { size: 'small' } }],
    protectionNeed: 'normal',
  });
  probeWorkload(chart, 'isolated');
  probeWorkload(chart, 'rogue');
  const target = probeWorkload(chart, 'target', undefined, OTHER_NS);
  new NetworkAllowPolicy(chart, 'target-from-gamma', {
    namespace: OTHER_NS,
    appliesTo: PodSelection.labels(target.podLabels),
    ingress: [{ peers: [NetworkPeer.namespace(NS)], ports: [NetworkPort.tcp(8080)] }],
  });
  const objs = parseAllDocuments(app.synthYaml())
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
  // rogue resolves through the external server directly (a pod may set its own resolver).
  const rogue = objs.find(
    (o) => o.kind === 'Deployment' && o.metadata.namespace === NS && o.metadata.name === 'rogue',
  )!;
  rogue.spec.template.spec.dnsPolicy = 'None';
  rogue.spec.template.spec.dnsConfig = {
    nameservers: [EXT.server],
    options: [
      { name: 'ndots', value: '1' },
      { name: 'timeout', value: '1' },
      { name: 'attempts', value: '1' },
    ],
  };
  await apply(objs);
  pods.web = await runningPod(NS, 'web');
  pods.client = await runningPod(NS, 'client');
  pods.isolated = await runningPod(NS, 'isolated');
  pods.rogue = await runningPod(NS, 'rogue');
  pods.target = await runningPod(OTHER_NS, 'target');
  mark('tenants, policies and five probe pods running');
  await startExternal();
  await enforcerKnows(Object.values(pods).map((p) => p.ip));
  mark('external server and resolver up, enforcer has rules for every pod');
  // A loaded machine (other sessions' clusters and builds) can take minutes per step: bounded at 20 minutes.
}, 1_200_000);

afterAll(async () => {
  stopExternal();
  await cluster?.stop();
  if (imageDir) fs.rmSync(imageDir, { recursive: true, force: true });
  mark('torn down');
  process.stderr.write(
    `[node-dns-live] timings (s since start): ${timings.map(([w, s]) => `${w} ${s}`).join('; ')}; blocked attempts failed with: ${[...blockedSeen].join(' | ')}\n`,
  );
});

describe('kube-proxy', () => {
  test('runs in the node namespace with the blueprint KubeProxyConfiguration, as system:kube-proxy, listeners on loopback only', async () => {
    const rec = node.services.status().find((p) => p.name === 'kube-proxy')!;
    expect(rec.running).toBe(true);
    const cmdline = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline.slice(1)).toEqual(['--config=/var/lib/kube-proxy/config.conf']);
    expect(fs.readlinkSync(`/proc/${rec.pid}/ns/net`)).toBe(
      fs.readlinkSync(`/proc/${node.sandbox.holderPid()}/ns/net`),
    );
    // The file it reads (through its own mounts) is the blueprint's document.
    const onDisk = parseYaml(fs.readFileSync(`/proc/${rec.pid}/root/var/lib/kube-proxy/config.conf`, 'utf8'));
    const rendered = cluster.blueprint.configDocuments.find((d) => d.kind === 'KubeProxyConfiguration');
    expect(onDisk).toEqual(rendered);
    expect(onDisk).toMatchObject({
      mode: 'iptables',
      conntrack: { maxPerCore: 0 },
      iptables: { localhostNodePorts: false },
      enableProfiling: false,
    });
    expect(fs.statSync(path.join(cluster.rootfs, 'var/lib/kube-proxy/kubeconfig.conf')).mode & 0o777).toBe(0o600);
    // Its identity: a client certificate for system:kube-proxy (no groups), never admin.conf.
    const kubeconfig = parseYaml(
      fs.readFileSync(path.join(cluster.rootfs, 'var/lib/kube-proxy/kubeconfig.conf'), 'utf8'),
    );
    const cert = Buffer.from(kubeconfig.users[0].user['client-certificate-data'], 'base64');
    const subject = spawnSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], {
      input: cert,
      encoding: 'utf8',
    }).stdout.trim();
    expect(subject).toBe(`subject=CN=${KUBE_PROXY_USER}`);
    const can = async (verb: string, resource: string, group = '') => {
      const res = await admin.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: KUBE_PROXY_USER, resourceAttributes: { verb, resource, group } },
      });
      return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
    };
    expect(await can('watch', 'endpointslices', 'discovery.k8s.io')).toBe(true);
    expect(await can('list', 'services')).toBe(true);
    expect(await can('get', 'secrets')).toBe(false);
    expect(await can('create', 'pods')).toBe(false);
    expect(await can('update', 'services')).toBe(false);
    // Metrics and health on loopback only; NodePorts never on localhost (route_localnet stays 0).
    const listeners = inNodeNetwork(['ss', '-Hltnp'])
      .stdout.split('\n')
      .filter((l) => l.includes('"kube-proxy"'));
    expect(listeners.length).toBeGreaterThan(0);
    for (const l of listeners) expect(l).toMatch(/\s127\.0\.0\.1:(10249|10256)\s/);
    expect(inNodeNetwork(['cat', '/proc/sys/net/ipv4/conf/all/route_localnet']).stdout.trim()).toBe('0');
  });
});

describe('hcb verify on kube-proxy', () => {
  const METRICS = 'HCB-KUBE-PROXY-METRICS-LOOPBACK';
  const FILES = 'HCB-NODEFILE-KUBE-PROXY-KUBECONFIG';
  const verify = () =>
    verifyLocalCluster({
      stateDir: cluster.stateDir,
      nodeFiles: cluster.blueprint.nodeFiles,
      namespaces: [],
      exceptions: cluster.blueprint.exceptions,
      node: true,
    });

  test('evaluates the running kube-proxy (its command line, the --config file, the kubeconfig it uses), and a loosened kubeconfig fails live', async () => {
    const { findings, missing } = await verify();
    expect(missing).toEqual([]);
    const pid = node.services.status().find((p) => p.name === 'kube-proxy')!.pid;
    const metrics = findings.filter((f) => f.control === METRICS && f.object?.kind !== 'Probe');
    expect(metrics.map((f) => [f.status, f.object?.kind, f.object?.file])).toEqual([
      ['pass', 'KubeProxyProcess', `live:/proc/${pid}/cmdline`],
    ]);
    // And by behaviour: the metrics port refuses connections on the node address (where pods reach the node).
    const probe = findings.filter((f) => f.control === METRICS && f.object?.kind === 'Probe');
    expect(probe.map((f) => [f.status, f.object?.name, f.message])).toEqual([
      [
        'pass',
        'kube-proxy-metrics-port',
        `A connection to kube-proxy's metrics port on the node address ${LOCAL_NODE_NETWORK.nodeAddress}:10249 was refused: it is not served there.`,
      ],
    ]);
    expect(metrics[0].message).toMatch(
      /^kube-proxy serves metrics on 127\.0\.0\.1:10249, loopback only; from \/var\/lib\/kube-proxy\/config\.conf, the file the running kube-proxy's --config names\.$/,
    );
    const files = () => findings.filter((f) => f.control === FILES).map((f) => [f.status, f.message]);
    expect(files()).toEqual([
      ['pass', '/var/lib/kube-proxy/config.conf: root:root 0600.'],
      ['pass', '/var/lib/kube-proxy/kubeconfig.conf: root:root 0600.'],
    ]);
    // The same control on the running node sees a change on disk (CIS 4.1.3): mode 0666, then back.
    const kubeconfig = path.join(cluster.rootfs, 'var/lib/kube-proxy/kubeconfig.conf');
    fs.chmodSync(kubeconfig, 0o666);
    try {
      const loosened = (await verify()).findings.filter((f) => f.control === FILES && f.status !== 'pass');
      expect(loosened.map((f) => [f.status, f.message])).toEqual([
        ['fail', '/var/lib/kube-proxy/kubeconfig.conf: mode 0666 allows more than 0644.'],
      ]);
    } finally {
      fs.chmodSync(kubeconfig, 0o600);
    }
    // The probe fails when something answers on the metrics port of the node address (as kube-proxy
    // would with metricsBindAddress 0.0.0.0:10249): a listener of the test's own there, then gone.
    const listener = spawn(
      'nsenter',
      [
        `--net=/run/netns/${node.sandbox.netnsName}`,
        '--',
        process.execPath,
        '-e',
        `require('net').createServer((c) => c.destroy()).listen(10249, '${LOCAL_NODE_NETWORK.nodeAddress}', () => console.log('listening'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('the test listener did not start within 20 s')), 20_000);
        listener.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && (clearTimeout(t), resolve()));
        listener.on('exit', (code) => (clearTimeout(t), reject(new Error(`the test listener exited (${code})`))));
      });
      const open = (await verify()).findings.filter((f) => f.control === METRICS && f.object?.kind === 'Probe');
      expect(open.map((f) => [f.status, f.message])).toEqual([
        [
          'fail',
          `kube-proxy's metrics port accepts connections on the node address ${LOCAL_NODE_NETWORK.nodeAddress}:10249, where pods reach the node.`,
        ],
      ]);
    } finally {
      listener.kill('SIGKILL');
    }
  });
});

describe('the kubernetes Service', () => {
  test('its endpoint is the node address (a forwarder serves the API there), its ClusterIP 198.19.0.1', async () => {
    const svc = await admin.json<any>('/api/v1/namespaces/default/services/kubernetes');
    expect(svc.spec.clusterIP).toBe('198.19.0.1');
    const slices = await admin.json<any>(
      '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes',
    );
    const addrs = slices.items.flatMap((s: any) => s.endpoints.flatMap((e: any) => e.addresses));
    const ports = slices.items.flatMap((s: any) => s.ports.map((p: any) => p.port));
    expect(addrs).toEqual([LOCAL_NODE_NETWORK.nodeAddress]);
    expect(ports).toEqual([BASE_PORT]);
  });

  test('from the node: https://kubernetes.default.svc.cluster.local through 198.19.0.1 verifies against the cluster CA and answers', () => {
    const ca = path.join(cluster.rootfs, 'etc/kubernetes/pki/ca.crt');
    const res = inNodeNetwork([
      'curl',
      '-sS',
      '--max-time',
      '5',
      '--cacert',
      ca,
      '--resolve',
      'kubernetes.default.svc.cluster.local:443:198.19.0.1',
      'https://kubernetes.default.svc.cluster.local/livez',
    ]);
    if (res.stderr) {
      const nat = inNodeNetwork(['iptables-save', '-t', 'nat'])
        .stdout.split('\n')
        .filter((l) => /198\.19\.0\.1\b|198\.18\.0\.2|KUBE-SVC|KUBE-SEP/.test(l))
        .join('\n');
      const filter = inNodeNetwork(['iptables-save', '-t', 'filter'])
        .stdout.split('\n')
        .filter((l) => /198\.19\.0\.1\b|REJECT/.test(l))
        .join('\n');
      throw new Error(
        `${res.stderr}\nnat:\n${nat}\nfilter:\n${filter}\nlisteners:\n${inNodeNetwork(['ss', '-Hltn']).stdout}`,
      );
    }
    expect(res.stdout.trim()).toBe('ok');
  });

  test('from a pod: the API server answers TLS through the Service name (resolved by CoreDNS) and through 198.19.0.1', async () => {
    // The probe has no cluster CA: reaching the API server's TLS shows as an x509 error, while
    // a name that does not resolve or a blocked connection fails differently.
    for (const url of ['https://kubernetes.default.svc.cluster.local/livez', 'https://198.19.0.1/livez']) {
      const detail = await fetchUntil(pods.client.ip, url, (r) => /x509|certificate/.test(r.detail));
      expect(detail).toMatch(/certificate signed by unknown authority/);
    }
  });
});

describe('CoreDNS', () => {
  test('a pod resolves a Service name through CoreDNS and reaches the Service', async () => {
    const detail = await fetchUntil(pods.client.ip, `http://web.${NS}.svc.cluster.local:8080/healthz`, (r) => r.ok);
    expect(detail).toBe('HTTP 200 ok');
    // The short name through the pod's search path too.
    expect(await fetchUntil(pods.client.ip, 'http://web:8080/healthz', (r) => r.ok)).toBe('HTTP 200 ok');
    // A name CoreDNS does not know is answered (NXDOMAIN), not timed out.
    const missing = fetchFrom(pods.client.ip, `http://no-such-service.${NS}.svc.cluster.local:8080/`);
    expect(missing.ok).toBe(false);
    expect(missing.detail).toMatch(/no such host/);
  });

  test('the Service sits at the kubelet clusterDNS address and the pods get it as their resolver', async () => {
    const svc = await admin.json<any>('/api/v1/namespaces/kube-system/services/kube-dns');
    const kubelet = parseYaml(fs.readFileSync(path.join(cluster.rootfs, 'var/lib/kubelet/config.yaml'), 'utf8'));
    expect(kubelet.clusterDNS).toEqual([svc.spec.clusterIP]);
    expect(svc.spec.clusterIP).toBe('198.19.0.10');
    const pod = await admin.json<any>(`/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns`);
    expect(pod.items.map((p: any) => p.spec.containers[0].image)).toEqual([dnsImage, dnsImage]);
    expect(images.coredns).toBe(dnsImage);
    // npm run up's node report says so.
    const summary = await nodeSummary(cluster.stateDir);
    expect(summary.ready).toBe(true);
    expect(summary.lines).toContainEqual(
      expect.stringMatching(/^Services: kube-proxy \(iptables\) runs \(pid \d+\); DNS: CoreDNS 2\/2 ready$/),
    );
  });

  test('its container processes run with UID != 0, no capabilities, seccomp filter, no_new_privs, read-only root (seen from the node)', () => {
    const pids = containerPids('coredns');
    expect(pids.length).toBe(2);
    for (const pid of pids) {
      for (const id of statusField(pid, 'Uid')!.split(/\s+/)) expect(id).not.toBe('0');
      for (const id of statusField(pid, 'Gid')!.split(/\s+/)) expect(id).not.toBe('0');
      expect(statusField(pid, 'CapEff')).toBe('0000000000000000');
      expect(statusField(pid, 'CapPrm')).toBe('0000000000000000');
      expect(statusField(pid, 'CapAmb')).toBe('0000000000000000');
      expect(statusField(pid, 'Seccomp')).toBe('2');
      expect(statusField(pid, 'NoNewPrivs')).toBe('1');
      const rootMount = fs
        .readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
        .split('\n')
        .find((l) => l.split(' ')[4] === '/');
      expect(rootMount?.split(' ')[5]).toMatch(/(^|,)ro(,|$)/);
      // Port 53 without a capability: the pod's own network namespace lowers the unprivileged port start.
      const podNet = spawnSync(
        'nsenter',
        [`--net=/proc/${pid}/ns/net`, '--', 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'],
        { encoding: 'utf8' },
      ).stdout.trim();
      expect(podNet).toBe('53');
    }
    expect(inNodeNetwork(['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']).stdout.trim()).toBe('1024');
  });
});

describe('DNS under the default deny', () => {
  const svcIP = async (ns: string, name: string) =>
    (await admin.json<any>(`/api/v1/namespaces/${ns}/services/${name}`)).spec.clusterIP as string;
  /** A blocked attempt: the pod never connected to `dest` (the error names the dial). */
  const neverConnected = (detail: string, dest: string) => {
    expect(detail).toContain(`dial tcp ${dest}`);
    expect(detail).toMatch(NOT_CONNECTED);
  };
  const targetUrl = () => `http://${pods.target.ip}:8080/healthz`;
  const extUrl = `http://${EXT.server}:${EXT.port}/healthz`;
  /** TCP port 53 of the outside resolver (an HTTP request there: reaching it never answers HTTP). */
  const extDnsTcpUrl = `http://${EXT.server}:53/`;

  test("the namespace's DNS rule allows UDP/TCP 53 to the CoreDNS pods in kube-system only, beside a default deny of both directions", async () => {
    const list = await admin.json<{ items: any[] }>(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`);
    const byName = Object.fromEntries(list.items.map((p) => [p.metadata.name, p.spec]));
    expect(byName['hcb-default-deny']).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(byName['hcb-allow-dns']).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });
    // No other policy of the namespace selects `isolated` for egress.
    const isolatedLabels = (await admin.json<any>(`/api/v1/namespaces/${NS}/pods/${pods.isolated.name}`)).metadata
      .labels as Record<string, string>;
    const selecting = list.items.filter(
      (p) =>
        (p.spec.policyTypes ?? []).includes('Egress') &&
        Object.entries((p.spec.podSelector?.matchLabels ?? {}) as Record<string, string>).every(
          ([k, v]) => isolatedLabels[k] === v,
        ) &&
        !p.spec.podSelector?.matchExpressions?.length,
    );
    expect(selecting.map((p) => p.metadata.name).sort()).toEqual(['hcb-allow-dns', 'hcb-default-deny']);
  });

  test('a pod with no allow rule resolves the kubernetes Service and a Service of its own namespace through CoreDNS, and cannot connect to either', async () => {
    const webIP = await svcIP(NS, 'web');
    // The name resolves (the error names the Service address) and the connection is refused by the policy.
    let detail = await fetchUntil(pods.isolated.ip, `http://web.${NS}.svc.cluster.local:8080/healthz`, (r) =>
      r.detail.includes('dial tcp'),
    );
    neverConnected(detail, `${webIP}:8080`);
    detail = await fetchUntil(pods.isolated.ip, 'https://kubernetes.default.svc.cluster.local/livez', (r) =>
      r.detail.includes('dial tcp'),
    );
    neverConnected(detail, '198.19.0.1:443');
    for (const d of expectBlocked(pods.isolated.ip, `http://web.${NS}.svc.cluster.local:8080/healthz`))
      neverConnected(d, `${webIP}:8080`);
    // The short name through the search path, and a name CoreDNS does not know: answered (NXDOMAIN), not timed out.
    neverConnected(expectBlocked(pods.isolated.ip, 'http://web:8080/healthz')[0], `${webIP}:8080`);
    expect(fetchFrom(pods.isolated.ip, `http://no-such-service.${NS}.svc.cluster.local:8080/`).detail).toMatch(
      /no such host/,
    );
  });

  test("nothing else leaves the namespace: another namespace's pod, the API server's Service IP, a server outside the cluster and TCP 53 of an outside resolver are blocked", () => {
    for (const d of expectBlocked(pods.isolated.ip, targetUrl())) neverConnected(d, `${pods.target.ip}:8080`);
    for (const d of expectBlocked(pods.isolated.ip, 'https://198.19.0.1/livez')) neverConnected(d, '198.19.0.1:443');
    for (const d of expectBlocked(pods.isolated.ip, extUrl)) neverConnected(d, `${EXT.server}:${EXT.port}`);
    for (const d of expectBlocked(pods.isolated.ip, extDnsTcpUrl)) neverConnected(d, `${EXT.server}:53`);
    // The allowed pod of the namespace still reaches the API server through its Service IP (its own rule).
    expect(fetchFrom(pods.client.ip, 'https://198.19.0.1/livez').detail).toMatch(
      /certificate signed by unknown authority/,
    );
  });

  test('a pod that sends its queries to an outside DNS server directly (UDP 53, not CoreDNS) gets no answer', () => {
    for (const d of expectBlocked(pods.rogue.ip, `http://${EXT.name}:${EXT.port}/healthz`)) {
      // Not resolved: the error is the lookup's (its UDP query to the outside server got no answer),
      // so no connection to an address was tried ("dial tcp: lookup ...", no address after "dial tcp").
      expect(d).toMatch(
        new RegExp(`lookup ${EXT.name.replace(/\./g, '\\.')} on ${EXT.server.replace(/\./g, '\\.')}:53`),
      );
      expect(d).not.toMatch(/dial tcp [0-9[]/);
    }
  });

  test('with the policies deleted, the same traffic flows (the network works; the policy blocks)', async () => {
    for (const ns of [NS, OTHER_NS]) {
      const list = await admin.json<{ items: Obj[] }>(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`);
      expect(list.items.length).toBeGreaterThan(0);
      for (const p of list.items)
        expect(
          (await admin.delete(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${p.metadata.name}`)).status,
        ).toBe(200);
    }
    expect(await fetchUntil(pods.isolated.ip, `http://web.${NS}.svc.cluster.local:8080/healthz`, (r) => r.ok)).toBe(
      'HTTP 200 ok',
    );
    expect(await fetchUntil(pods.isolated.ip, targetUrl(), (r) => r.ok)).toBe('HTTP 200 ok');
    expect(
      await fetchUntil(pods.isolated.ip, 'https://198.19.0.1/livez', (r) => /x509|certificate/.test(r.detail)),
    ).toMatch(/certificate signed by unknown authority/);
    expect(await fetchUntil(pods.isolated.ip, extUrl, (r) => r.ok)).toBe('HTTP 200 ok');
    // TCP 53 outside: connected (the DNS server does not speak HTTP, so the request times out after connecting).
    expect(await fetchUntil(pods.isolated.ip, extDnsTcpUrl, (r) => !r.detail.includes('dial tcp'))).not.toMatch(
      /^HTTP 200/,
    );
    // UDP 53 to the outside resolver: the name resolves there and its answer is reachable.
    expect(await fetchUntil(pods.rogue.ip, `http://${EXT.name}:${EXT.port}/healthz`, (r) => r.ok)).toBe('HTTP 200 ok');
    mark('DNS under default deny proven');
  });
});

describe('teardown', () => {
  test('down stops kube-proxy and the Service forwarder with the rest; nothing is left', async () => {
    stopExternal();
    expect(fs.existsSync(`/run/netns/${extNetns}`)).toBe(false);
    const procs = node.services
      .status()
      .map((p) => p.pid)
      .filter((p): p is number => p !== undefined);
    expect(procs.length).toBe(2);
    const netns = node.sandbox.netnsName;
    const dnsPids = containerPids('coredns');
    await cluster.cp.down({ purge: true });
    await cluster.cp.down({ purge: true });
    const alive = (p: number) =>
      fs.existsSync(`/proc/${p}`) && !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
    expect([...procs, ...dnsPids].filter(alive)).toEqual([]);
    expect(node.services.status().every((p) => !p.running)).toBe(true);
    expect(fs.existsSync(`/run/netns/${netns}`)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cluster.stateDir);
  });
});
