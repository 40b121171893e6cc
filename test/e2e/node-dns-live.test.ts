/**
 * Services and cluster DNS on the local node (issue 9): kube-proxy (iptables mode) runs in the
 * node's namespaces with the blueprint's KubeProxyConfiguration and the least-privileged
 * identity system:kube-proxy; pods reach the API server through the `kubernetes` Service
 * (198.19.0.1 → the node address, where a forwarder serves the API); CoreDNS runs as the
 * blueprint's hardened add-on (image built from the toolchain, by digest) and pods resolve
 * cluster names through it; teardown leaves nothing behind.
 *
 * Port range: 47743-47748 (see docs/ARCHITECTURE.md).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { HardenedWorkload, NetworkAllowPolicy, NetworkPeer, NetworkPort, PodSelection, Probe, Tenant } from '../../constructs';
import { LOCAL_NODE_NETWORK } from '../../stacks/local/node/network';
import { LocalNode } from '../../stacks/local/node/node';
import { coreDnsImage, KUBE_PROXY_USER } from '../../stacks/local/node/services';
import { nodeSummary } from '../../stacks/local/node/summary';
import { eventually, startCluster, TestCluster } from './support/cluster';
import { ApiClient, tempDir, toolchainBin } from './support/env';

jest.setTimeout(600_000);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

const BASE_PORT = 47743;
const NS = 'gamma-test';

let cluster: TestCluster;
let admin: ApiClient;
let node: LocalNode;
let images: Record<string, string>;
let dnsImage: string;
let imageDir: string;
const pods: Record<string, { name: string; ip: string }> = {};
const timings: Array<[string, number]> = [];
const t0 = Date.now();
const mark = (what: string) => timings.push([what, Math.round((Date.now() - t0) / 1000)]);

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces', ResourceQuota: 'resourcequotas', LimitRange: 'limitranges', ServiceAccount: 'serviceaccounts',
  ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings',
  ConfigMap: 'configmaps', NetworkPolicy: 'networkpolicies', Service: 'services', PodDisruptionBudget: 'poddisruptionbudgets', Deployment: 'deployments',
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
      await eventually(`ServiceAccount ${o.metadata.namespace}/default`, async () => ((await admin.get(objectPath(o))).status === 200 ? true : undefined));
    }
    if (o.metadata.namespace && o.kind !== 'ResourceQuota' && objs.some((q) => q.kind === 'ResourceQuota' && q.metadata.namespace === o.metadata.namespace)) {
      await eventually(`quota status in ${o.metadata.namespace}`, async () => {
        const list = await admin.json<{ items: Array<{ status?: { hard?: object } }> }>(`/api/v1/namespaces/${o.metadata.namespace}/resourcequotas`);
        return list.items.every((q) => q.status?.hard) ? true : undefined;
      });
    }
    const res = await admin.request('PATCH', `${objectPath(o)}?fieldManager=hcb&fieldValidation=Strict`, o, 'application/apply-patch+yaml');
    if (res.status !== 200 && res.status !== 201) throw new Error(`apply ${o.kind} ${o.metadata.name}: HTTP ${res.status} ${res.body}`);
  }
}

function inNodeNetwork(args: string[], timeoutMs = 20_000): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync('nsenter', [`--net=/run/netns/${node.sandbox.netnsName}`, '--', ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** From inside the pod at `fromIP` (a probe server), one GET of `url` (the probe's 2 s timeout). */
function fetchFrom(fromIP: string, url: string): { ok: boolean; detail: string } {
  const res = inNodeNetwork(['curl', '-sS', '--max-time', '8', `http://${fromIP}:8080/fetch?url=${encodeURIComponent(url)}`], 15_000);
  if (res.status !== 0) throw new Error(`the test could not reach the probe pod ${fromIP}: curl exit ${res.status}: ${res.stderr}`);
  const r = JSON.parse(res.stdout) as { status: number; body: string; error?: string };
  return { ok: r.status === 200 && !r.error, detail: r.error ?? `HTTP ${r.status} ${r.body.trim()}` };
}

/** Retries (bounded) until `accept` holds for the fetch result; returns the last detail. */
async function fetchUntil(fromIP: string, url: string, accept: (r: { ok: boolean; detail: string }) => boolean, timeoutMs = 60_000): Promise<string> {
  let last = '';
  return eventually(`${url} from ${fromIP}`, async () => {
    const r = fetchFrom(fromIP, url);
    last = r.detail;
    return accept(r) ? r.detail : undefined;
  }, timeoutMs).catch((e) => {
    throw new Error(`${(e as Error).message} (last: ${last})`);
  });
}

async function runningPod(namespace: string, prefix: string): Promise<{ name: string; ip: string }> {
  return eventually(`a Running, Ready pod ${namespace}/${prefix}`, async () => {
    const list = await admin.json<{ items: any[] }>(`/api/v1/namespaces/${namespace}/pods`);
    const pod = list.items.find((p) => p.metadata.name.startsWith(`${prefix}-`) && !p.metadata.deletionTimestamp && p.status?.phase === 'Running'
      && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    return pod ? { name: pod.metadata.name, ip: pod.status.podIP } : undefined;
  }, 180_000);
}

function probeWorkload(chart: Chart, name: string, exposeTo?: HardenedWorkload): HardenedWorkload {
  return new HardenedWorkload(chart, name, {
    namespace: NS,
    // A Service named like the workload, reachable from the given workload's pods only.
    ...(exposeTo ? { expose: [{ port: 8080, from: [NetworkPeer.pods(exposeTo.podLabels)] }] } : {}),
    name,
    app: name,
    containers: [{
      name: 'probe',
      image: images.probe,
      args: ['serve', ':8080'],
      ports: [{ number: 8080, name: 'http' }],
      liveness: Probe.fromHttpGet('/healthz', { port: 8080 }),
      readiness: Probe.fromHttpGet('/ready', { port: 8080 }),
      resources: { cpuRequest: '10m', cpuLimit: '200m', memoryRequest: '16Mi', memoryLimit: '64Mi' },
    }],
  });
}

/** Pids on this machine running the binary `name` inside the cluster's cgroup parent (its containers). */
function containerPids(name: string): number[] {
  const root = fs.readFileSync(path.join(cluster.stateDir, 'node/cgroup-root'), 'utf8').trim();
  return fs.readdirSync('/proc').filter((e) => /^[0-9]+$/.test(e)).map(Number).filter((pid) => {
    try {
      return path.basename(fs.readlinkSync(`/proc/${pid}/exe`)) === name && fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`${root}/`);
    } catch {
      return false;
    }
  });
}

const statusField = (pid: number, field: string) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();

beforeAll(async () => {
  imageDir = tempDir('dns-images');
  dnsImage = coreDnsImage(toolchainBin(), imageDir).ref;
  cluster = await startCluster('dns', BASE_PORT, { clusterDns: { image: dnsImage, probeSources: [`${LOCAL_NODE_NETWORK.podGateway}/32`] } }, { node: true });
  mark('cluster with node, kube-proxy and the Service forwarder up');
  admin = cluster.api;
  node = cluster.cp.localNode();
  images = (await cluster.cp.up()).node!.images;
  // The blueprint's DNS add-on, exactly as synthesized.
  const dns = cluster.blueprint.clusterObjects.filter((o) => String((o.metadata as any)?.annotations?.['hcb.dev/construct-path'] ?? '').includes('/cluster-dns/')) as Obj[];
  expect(dns.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
  await apply(dns);
  await eventually('CoreDNS Deployment available (2 replicas)', async () => {
    const d = await admin.json<any>('/apis/apps/v1/namespaces/kube-system/deployments/coredns');
    return d.status?.availableReplicas === 2 ? true : undefined;
  }, 180_000);
  mark('CoreDNS available');
  const app = new App();
  const chart = new Chart(app, 'dns-live');
  new Tenant(chart, 'gamma', { environments: [{ name: 'test', namespace: { size: 'small' } }], protectionNeed: 'normal' });
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
  await apply(parseAllDocuments(app.synthYaml()).map((d) => d.toJS() as Obj).filter((o) => o !== null));
  pods.web = await runningPod(NS, 'web');
  pods.client = await runningPod(NS, 'client');
  mark('tenant, policies and two probe pods running');
});

afterAll(async () => {
  await cluster?.stop();
  if (imageDir) fs.rmSync(imageDir, { recursive: true, force: true });
  mark('torn down');
  process.stderr.write(`[node-dns-live] timings (s since start): ${timings.map(([w, s]) => `${w} ${s}`).join('; ')}\n`);
});

describe('kube-proxy', () => {
  test('runs in the node namespace with the blueprint KubeProxyConfiguration, as system:kube-proxy, listeners on loopback only', async () => {
    const rec = node.services.status().find((p) => p.name === 'kube-proxy')!;
    expect(rec.running).toBe(true);
    const cmdline = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline.slice(1)).toEqual(['--config=/var/lib/kube-proxy/config.conf']);
    expect(fs.readlinkSync(`/proc/${rec.pid}/ns/net`)).toBe(fs.readlinkSync(`/proc/${node.sandbox.holderPid()}/ns/net`));
    // The file it reads (through its own mounts) is the blueprint's document.
    const onDisk = parseYaml(fs.readFileSync(`/proc/${rec.pid}/root/var/lib/kube-proxy/config.conf`, 'utf8'));
    const rendered = cluster.blueprint.configDocuments.find((d) => d.kind === 'KubeProxyConfiguration');
    expect(onDisk).toEqual(rendered);
    expect(onDisk).toMatchObject({ mode: 'iptables', conntrack: { maxPerCore: 0 }, iptables: { localhostNodePorts: false }, enableProfiling: false });
    expect(fs.statSync(path.join(cluster.rootfs, 'var/lib/kube-proxy/kubeconfig.conf')).mode & 0o777).toBe(0o600);
    // Its identity: a client certificate for system:kube-proxy (no groups), never admin.conf.
    const kubeconfig = parseYaml(fs.readFileSync(path.join(cluster.rootfs, 'var/lib/kube-proxy/kubeconfig.conf'), 'utf8'));
    const cert = Buffer.from(kubeconfig.users[0].user['client-certificate-data'], 'base64');
    const subject = spawnSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: cert, encoding: 'utf8' }).stdout.trim();
    expect(subject).toBe(`subject=CN=${KUBE_PROXY_USER}`);
    const can = async (verb: string, resource: string, group = '') => {
      const res = await admin.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: KUBE_PROXY_USER, resourceAttributes: { verb, resource, group } },
      });
      return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
    };
    expect(await can('watch', 'endpointslices', 'discovery.k8s.io')).toBe(true);
    expect(await can('list', 'services')).toBe(true);
    expect(await can('get', 'secrets')).toBe(false);
    expect(await can('create', 'pods')).toBe(false);
    expect(await can('update', 'services')).toBe(false);
    // Metrics and health on loopback only; NodePorts never on localhost (route_localnet stays 0).
    const listeners = inNodeNetwork(['ss', '-Hltnp']).stdout.split('\n').filter((l) => l.includes('"kube-proxy"'));
    expect(listeners.length).toBeGreaterThan(0);
    for (const l of listeners) expect(l).toMatch(/\s127\.0\.0\.1:(10249|10256)\s/);
    expect(inNodeNetwork(['cat', '/proc/sys/net/ipv4/conf/all/route_localnet']).stdout.trim()).toBe('0');
  });
});

describe('the kubernetes Service', () => {
  test('its endpoint is the node address (a forwarder serves the API there), its ClusterIP 198.19.0.1', async () => {
    const svc = await admin.json<any>('/api/v1/namespaces/default/services/kubernetes');
    expect(svc.spec.clusterIP).toBe('198.19.0.1');
    const slices = await admin.json<any>('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes');
    const addrs = slices.items.flatMap((s: any) => s.endpoints.flatMap((e: any) => e.addresses));
    const ports = slices.items.flatMap((s: any) => s.ports.map((p: any) => p.port));
    expect(addrs).toEqual([LOCAL_NODE_NETWORK.nodeAddress]);
    expect(ports).toEqual([BASE_PORT]);
  });

  test('from the node: https://kubernetes.default.svc.cluster.local through 198.19.0.1 verifies against the cluster CA and answers', () => {
    const ca = path.join(cluster.rootfs, 'etc/kubernetes/pki/ca.crt');
    const res = inNodeNetwork(['curl', '-sS', '--max-time', '5', '--cacert', ca, '--resolve', 'kubernetes.default.svc.cluster.local:443:198.19.0.1', 'https://kubernetes.default.svc.cluster.local/livez']);
    if (res.stderr) {
      const nat = inNodeNetwork(['iptables-save', '-t', 'nat']).stdout.split('\n').filter((l) => /198\.19\.0\.1\b|198\.18\.0\.2|KUBE-SVC|KUBE-SEP/.test(l)).join('\n');
      const filter = inNodeNetwork(['iptables-save', '-t', 'filter']).stdout.split('\n').filter((l) => /198\.19\.0\.1\b|REJECT/.test(l)).join('\n');
      throw new Error(`${res.stderr}\nnat:\n${nat}\nfilter:\n${filter}\nlisteners:\n${inNodeNetwork(['ss', '-Hltn']).stdout}`);
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
    expect(summary.lines).toContainEqual(expect.stringMatching(/^Services: kube-proxy \(iptables\) runs \(pid \d+\); DNS: CoreDNS 2\/2 ready$/));
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
      const rootMount = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
      expect(rootMount?.split(' ')[5]).toMatch(/(^|,)ro(,|$)/);
      // Port 53 without a capability: the pod's own network namespace lowers the unprivileged port start.
      const podNet = spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start'], { encoding: 'utf8' }).stdout.trim();
      expect(podNet).toBe('53');
    }
    expect(inNodeNetwork(['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']).stdout.trim()).toBe('1024');
  });
});

describe('teardown', () => {
  test('down stops kube-proxy and the Service forwarder with the rest; nothing is left', async () => {
    const procs = node.services.status().map((p) => p.pid).filter((p): p is number => p !== undefined);
    expect(procs.length).toBe(2);
    const netns = node.sandbox.netnsName;
    const dnsPids = containerPids('coredns');
    await cluster.cp.down({ purge: true });
    await cluster.cp.down({ purge: true });
    const alive = (p: number) => fs.existsSync(`/proc/${p}`) && !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
    expect([...procs, ...dnsPids].filter(alive)).toEqual([]);
    expect(node.services.status().every((p) => !p.running)).toBe(true);
    expect(fs.existsSync(`/run/netns/${netns}`)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cluster.stateDir);
  });
});
