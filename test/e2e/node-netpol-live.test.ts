/**
 * Issue 9, "NetworkPolicies bite": on the local node, with kube-router's firewall enforcing
 * NetworkPolicy (stacks/local/node/netpol.ts), traffic between real pods and to a server in
 * another network namespace follows the blueprint's policies: two tenants (each namespace with
 * the blueprint's default deny), NetworkAllowPolicy rules synthesized from the constructs and
 * applied, pods from the probe image. Every "blocked" is paired with an "allowed" on the same
 * path, and removing the policies makes the blocked traffic flow (the network works; the
 * policy blocks).
 *
 * The test's view of the pods: it runs curl in the node's network namespace against a probe
 * pod's /fetch?url=... (the node may reach its own pods, as the kubelet's probes do), and the
 * pod then opens the connection under test (2 s timeout in the probe).
 *
 * Port range: 47443-47448 (see docs/ARCHITECTURE.md). The external server lives in a network
 * namespace this test creates (198.18.64.2/30, a veth to the node namespace, 198.18.64.1/30)
 * and removes in afterAll.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import { App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
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
import { enforcerState, NETPOL_ENFORCER_USER } from '../../stacks/local/node/netpol';
import { nodeSummary } from '../../stacks/local/node/summary';
import { LocalNode } from '../../stacks/local/node/node';
import { eventually, startCluster, TestCluster } from './support/cluster';
import { ApiClient } from './support/env';

jest.setTimeout(600_000);

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: any };
  [k: string]: any;
};

const BASE_PORT = 47443;
const ALPHA = 'alpha-test';
const BETA = 'beta-test';
/** The server outside the cluster: its own network namespace, linked to the node by a veth. */
const EXT = { server: '198.18.64.2', node: '198.18.64.1', prefix: 30, port: 8080 };

let cluster: TestCluster;
let admin: ApiClient;
let node: LocalNode;
let images: Record<string, string>;
let extNetns = '';
let extServer: ChildProcess | undefined;
const timings: Array<[string, number]> = [];
const t0 = Date.now();
const mark = (what: string) => timings.push([what, Math.round((Date.now() - t0) / 1000)]);
/** How blocked connections failed (printed after the run: kube-router rejects, so they fail fast). */
const blockedSeen = new Set<string>();

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  ResourceQuota: 'resourcequotas',
  LimitRange: 'limitranges',
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
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
    const res = await admin.request(
      'PATCH',
      `${objectPath(o)}?fieldManager=hcb&fieldValidation=Strict`,
      o,
      'application/apply-patch+yaml',
    );
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`apply ${o.kind} ${o.metadata.name}: HTTP ${res.status} ${res.body}`);
  }
}

function synth(build: (chart: Chart) => void): Obj[] {
  const app = new App();
  build(new Chart(app, 'netpol-live'));
  return parseAllDocuments(app.synthYaml())
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}

function probeWorkload(chart: Chart, namespace: string, name: string): HardenedWorkload {
  return new HardenedWorkload(chart, `${namespace}-${name}`, {
    namespace,
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

/** Policies of the scenario, from the blueprint's constructs. */
function allowPolicies(chart: Chart, w: Record<string, HardenedWorkload>, opts: { external: boolean }): void {
  // alpha: client -> web on TCP 8080, both ends named (the namespace denies both directions by default).
  new NetworkAllowPolicy(chart, 'web-from-client', {
    namespace: ALPHA,
    appliesTo: PodSelection.labels(w.web.podLabels),
    ingress: [{ peers: [NetworkPeer.pods(w.client.podLabels)], ports: [NetworkPort.tcp(8080)] }],
  });
  new NetworkAllowPolicy(chart, 'client-to-web', {
    namespace: ALPHA,
    appliesTo: PodSelection.labels(w.client.podLabels),
    egress: [{ peers: [NetworkPeer.pods(w.web.podLabels)], ports: [NetworkPort.tcp(8080)] }],
  });
  // beta lets its own pod out towards alpha, so what blocks it is alpha's side (default deny on ingress).
  new NetworkAllowPolicy(chart, 'intruder-to-alpha', {
    namespace: BETA,
    appliesTo: PodSelection.labels(w.intruder.podLabels),
    egress: [{ peers: [NetworkPeer.namespace(ALPHA)], ports: [NetworkPort.tcp(8080)] }],
  });
  if (opts.external) {
    new NetworkAllowPolicy(chart, 'client-to-external', {
      namespace: ALPHA,
      appliesTo: PodSelection.labels(w.client.podLabels),
      egress: [{ peers: [NetworkPeer.cidr(`${EXT.server}/32`)], ports: [NetworkPort.tcp(EXT.port)] }],
    });
  }
}

function inNodeNetwork(args: string[], timeoutMs = 20_000): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync('nsenter', [`--net=/run/netns/${node.sandbox.netnsName}`, '--', ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

interface Attempt {
  ok: boolean;
  detail: string;
}

/** From inside pod `fromIP`, one HTTP GET of `url` (the probe's own 2 s timeout). */
function fetchFrom(fromIP: string, url: string): Attempt {
  const res = inNodeNetwork(
    ['curl', '-sS', '--max-time', '8', `http://${fromIP}:8080/fetch?url=${encodeURIComponent(url)}`],
    15_000,
  );
  if (res.status !== 0)
    throw new Error(`the test could not reach the probe pod ${fromIP}: curl exit ${res.status}: ${res.stderr}`);
  const r = JSON.parse(res.stdout) as { status: number; body: string; error?: string };
  return { ok: r.status === 200 && !r.error, detail: r.error ?? `HTTP ${r.status} ${r.body.trim()}` };
}

/** Allowed traffic: flows within the bound (policy updates are asynchronous). */
async function expectFlows(fromIP: string, url: string, timeoutMs = 60_000): Promise<void> {
  let last = '';
  await eventually(
    `${fromIP} -> ${url} to flow`,
    async () => {
      const a = fetchFrom(fromIP, url);
      last = a.detail;
      return a.ok ? true : undefined;
    },
    timeoutMs,
  ).catch((e) => {
    throw new Error(`${(e as Error).message} (last: ${last})`);
  });
}

/** Blocked traffic: every one of `attempts` fails (called only once the enforcer has the state in place). */
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

async function runningPod(namespace: string, app: string): Promise<{ name: string; ip: string }> {
  return eventually(
    `a Running, Ready pod ${namespace}/${app}`,
    async () => {
      const list = await admin.json<{ items: any[] }>(`/api/v1/namespaces/${namespace}/pods`);
      const pod = list.items.find(
        (p) =>
          p.metadata.name.startsWith(`${app}-`) &&
          !p.metadata.deletionTimestamp &&
          p.status?.phase === 'Running' &&
          p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
      );
      return pod ? { name: pod.metadata.name, ip: pod.status.podIP } : undefined;
    },
    180_000,
  );
}

/** The enforcer's rules in the node mention every pod address (it has synced the pods). */
async function enforcerKnows(ips: string[]): Promise<void> {
  await eventually(
    `kube-router rules for ${ips.join(', ')}`,
    async () => {
      const rules = inNodeNetwork(['iptables-save', '-t', 'filter']).stdout;
      return ips.every((ip) => rules.includes(`${ip}/32`) || rules.includes(` ${ip} `)) ? true : undefined;
    },
    60_000,
  );
}

const hostIp = (args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** A network namespace of the test's own with an HTTP server, linked and routed to the node. */
async function startExternalServer(): Promise<void> {
  extNetns = `hcb-${crypto.createHash('sha256').update(cluster.stateDir).digest('hex').slice(0, 10)}-ext`;
  const nodeNs = node.sandbox.netnsName;
  hostIp(['netns', 'add', extNetns]);
  hostIp(['-n', extNetns, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'hcbext0', 'netns', nodeNs]);
  hostIp(['-n', extNetns, 'addr', 'add', `${EXT.server}/${EXT.prefix}`, 'dev', 'ext0']);
  hostIp(['-n', extNetns, 'link', 'set', 'lo', 'up']);
  hostIp(['-n', extNetns, 'link', 'set', 'ext0', 'up']);
  hostIp(['-n', nodeNs, 'addr', 'add', `${EXT.node}/${EXT.prefix}`, 'dev', 'hcbext0']);
  hostIp(['-n', nodeNs, 'link', 'set', 'hcbext0', 'up']);
  // Back to the pods through the node (no masquerading on the node: pods keep their addresses).
  hostIp(['-n', extNetns, 'route', 'add', node.network.podCidr, 'via', EXT.node]);
  const probe = buildImagePrograms().probe;
  extServer = spawn('ip', ['netns', 'exec', extNetns, probe, 'serve', `${EXT.server}:${EXT.port}`], {
    stdio: 'ignore',
  });
  await eventually(
    'the external server to answer from the node',
    async () =>
      inNodeNetwork(['curl', '-sS', '--max-time', '2', `http://${EXT.server}:${EXT.port}/healthz`]).stdout.trim() ===
      'ok'
        ? true
        : undefined,
    20_000,
  );
}

function stopExternalServer(): void {
  if (extServer?.pid) {
    try {
      process.kill(extServer.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (extNetns && fs.existsSync(`/run/netns/${extNetns}`)) {
    // Kill whatever still runs in it (only the server), then delete it; the veth goes with it.
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
}

const workloads: Record<string, HardenedWorkload> = {};
const pods: Record<string, { name: string; ip: string }> = {};
const webUrl = () => `http://${pods.web.ip}:8080/healthz`;
const extUrl = `http://${EXT.server}:${EXT.port}/healthz`;

beforeAll(async () => {
  cluster = await startCluster('netpol', BASE_PORT, {}, { node: true });
  mark('cluster with node and enforcer up');
  admin = cluster.api;
  node = cluster.cp.localNode();
  images = (await cluster.cp.up()).node!.images;
  const objs = synth((chart) => {
    new Tenant(chart, 'alpha', {
      environments: [{ name: 'test', namespace: { size: 'small' } }],
      protectionNeed: 'normal',
    });
    new Tenant(chart, 'beta', {
      environments: [{ name: 'test', namespace: { size: 'small' } }],
      protectionNeed: 'normal',
    });
    workloads.web = probeWorkload(chart, ALPHA, 'web');
    workloads.client = probeWorkload(chart, ALPHA, 'client');
    workloads.other = probeWorkload(chart, ALPHA, 'other');
    workloads.intruder = probeWorkload(chart, BETA, 'intruder');
    allowPolicies(chart, workloads, { external: false });
  });
  await apply(objs);
  for (const [ns, app] of [
    [ALPHA, 'web'],
    [ALPHA, 'client'],
    [ALPHA, 'other'],
    [BETA, 'intruder'],
  ])
    pods[app] = await runningPod(ns, app);
  mark('tenants, policies and four probe pods running');
  await startExternalServer();
  await enforcerKnows(Object.values(pods).map((p) => p.ip));
  mark('external server up, enforcer has rules for every pod');
});

afterAll(async () => {
  stopExternalServer();
  await cluster?.stop();
  mark('torn down');
  process.stderr.write(
    `[node-netpol-live] timings (s since start): ${timings.map(([w, s]) => `${w} ${s}`).join('; ')}; blocked connections failed with: ${[...blockedSeen].join(' | ')}\n`,
  );
});

describe('the enforcer', () => {
  test('kube-router runs in the node namespace with firewall only, as its own read-only user, without listeners', async () => {
    const pid = node.netpol.pid();
    expect(pid).toBeDefined();
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline).toEqual(
      expect.arrayContaining([
        '--run-firewall=true',
        '--run-router=false',
        '--run-service-proxy=false',
        '--health-port=0',
        '--metrics-port=0',
      ]),
    );
    expect(cmdline.join(' ')).not.toMatch(/admin\.conf|super-admin/);
    expect(fs.readlinkSync(`/proc/${pid}/ns/net`)).toBe(fs.readlinkSync(`/proc/${node.sandbox.holderPid()}/ns/net`));
    // Its user may read policies but not change anything (SubjectAccessReview as the admin).
    const can = async (verb: string, resource: string, group = '') => {
      const res = await admin.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: NETPOL_ENFORCER_USER, resourceAttributes: { verb, resource, group } },
      });
      return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
    };
    expect(await can('watch', 'networkpolicies', 'networking.k8s.io')).toBe(true);
    expect(await can('list', 'pods')).toBe(true);
    expect(await can('delete', 'networkpolicies', 'networking.k8s.io')).toBe(false);
    expect(await can('create', 'pods')).toBe(false);
    expect(await can('get', 'secrets')).toBe(false);
    expect(await can('patch', 'nodes')).toBe(false);
    // No TCP listener of its own in the node namespace (health, metrics and pprof off).
    const listeners = inNodeNetwork(['ss', '-Hltnp']).stdout;
    expect(listeners).not.toMatch(/"kube-router"/);
    // npm run up's report says so.
    const summary = await nodeSummary(cluster.stateDir);
    expect(summary.ready).toBe(true);
    expect(summary.lines).toContainEqual(
      expect.stringMatching(/^NetworkPolicy: kube-router \(firewall only\) enforces NetworkPolicies/),
    );
  });
});

describe('NetworkPolicies bite', () => {
  test('within a namespace only what an allow rule names works: client -> web flows, other -> web and client -> other are blocked', async () => {
    await expectFlows(pods.client.ip, webUrl());
    expect(expectBlocked(pods.other.ip, webUrl()).length).toBe(2);
    expect(expectBlocked(pods.client.ip, `http://${pods.other.ip}:8080/healthz`).length).toBe(2);
  });

  test("pod -> pod in another tenant's namespace is blocked (both directions), even where the sender's namespace lets it out", () => {
    expectBlocked(pods.intruder.ip, webUrl());
    expectBlocked(pods.client.ip, `http://${pods.intruder.ip}:8080/healthz`);
  });

  test('a server in another network namespace is unreachable until a NetworkAllowPolicy allows it', async () => {
    // The path exists (the node reaches the server), the policy blocks it.
    expect(inNodeNetwork(['curl', '-sS', '--max-time', '2', extUrl]).stdout.trim()).toBe('ok');
    expectBlocked(pods.client.ip, extUrl);
    await apply(
      synth((chart) => allowPolicies(chart, workloads, { external: true })).filter((o) => o.kind === 'NetworkPolicy'),
    );
    await expectFlows(pods.client.ip, extUrl);
    // Only the pods the rule names: `other` in the same namespace stays blocked.
    expectBlocked(pods.other.ip, extUrl);
  });

  test('with the policies deleted, the same traffic flows (positive control: the network works, the policy blocked)', async () => {
    for (const ns of [ALPHA, BETA]) {
      const list = await admin.json<{ items: Obj[] }>(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`);
      expect(list.items.length).toBeGreaterThan(0);
      for (const p of list.items)
        expect(
          (await admin.delete(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${p.metadata.name}`)).status,
        ).toBe(200);
    }
    await expectFlows(pods.other.ip, webUrl());
    await expectFlows(pods.intruder.ip, webUrl());
    await expectFlows(pods.client.ip, `http://${pods.other.ip}:8080/healthz`);
    await expectFlows(pods.client.ip, `http://${pods.intruder.ip}:8080/healthz`);
    await expectFlows(pods.other.ip, extUrl);
    mark('policy proofs done');
  });

  // DNS ("resolves through CoreDNS while other egress is blocked") is proven in node-dns-live,
  // which runs CoreDNS on its node under the same enforcer.
});

describe('a stopped enforcer', () => {
  test('is reported (not enforced, node not ready) and the next up starts it again', async () => {
    const pid = node.netpol.pid()!;
    process.kill(pid, 'SIGKILL');
    await eventually(
      'kube-router to be gone',
      async () => (node.netpol.pid() === undefined ? true : undefined),
      10_000,
    );
    expect(enforcerState(cluster.stateDir)).toEqual({
      enforcing: false,
      message: expect.stringContaining('not running'),
    });
    expect((await nodeSummary(cluster.stateDir)).ready).toBe(false);
    expect(await node.ready()).toMatchObject({ ready: false, message: expect.stringContaining('kube-router') });
    const started = Date.now();
    await cluster.cp.up();
    mark(`up after the enforcer was killed (${Math.round((Date.now() - started) / 1000)} s)`);
    expect(node.netpol.pid()).toBeDefined();
    expect(node.netpol.pid()).not.toBe(pid);
    expect(enforcerState(cluster.stateDir).enforcing).toBe(true);
    expect((await node.ready()).ready).toBe(true);
  });
});

describe('teardown', () => {
  test('down stops the enforcer with the node and leaves nothing in the node namespace', async () => {
    const pid = node.netpol.pid()!;
    expect(pid).toBeDefined();
    stopExternalServer();
    expect(fs.existsSync(`/run/netns/${extNetns}`)).toBe(false);
    await cluster.cp.down({ purge: true });
    expect(fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
    expect(fs.existsSync(`/run/netns/${node.sandbox.netnsName}`)).toBe(false);
  });
});
