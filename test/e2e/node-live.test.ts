/**
 * Issue 9's node proofs on a real node: the local target's kubelet, containerd, runc (with
 * seccomp) and CNI run in network, mount and UTS namespaces of their own (addresses from
 * 198.18.0.0/15 only), the node registers and becomes Ready with exactly the blueprint's
 * KubeletConfiguration, a HardenedWorkload really runs with what the blueprint promises inside
 * the container, and the kubelet's own API is locked down. The API server reaches the kubelet
 * (logs, exec, port-forward) through the node's egress proxy, with the kubelet's certificate
 * verified and its own client certificate authorised by the kubelet. Teardown leaves nothing behind.
 *
 * Port range: 47143-47148 (see docs/ARCHITECTURE.md); 47580 (port-forward on the host's
 * loopback) and 47589 (an impostor kubelet inside the node's network namespace).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { HardenedNamespace, HardenedWorkload, Probe } from '../../constructs';
import { backupNow } from '../../stacks/local/backup';
import { LocalNode } from '../../stacks/local/node/node';
import { verifyLocalCluster } from '../../stacks/local/verify';
import { cgroupDirs } from '../../stacks/local/node/node';
import { eventually, startCluster, TestCluster } from './support/cluster';
import { ApiClient, tempDir, toolchainBin } from './support/env';
import { mintUserCertificate } from './support/user-cert';

jest.setTimeout(600_000);

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: any };
  [k: string]: any;
};

const NS = 'probe-team';
const BASE_PORT = 47143;

let cluster: TestCluster;
let admin: ApiClient;
let node: LocalNode;
let images: Record<string, string>;

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
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
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

/** Runs a command in the node's network namespace (the test's way onto the node network). */
function inNodeNetwork(args: string[], timeoutMs = 20_000): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync('nsenter', [`--net=/run/netns/${node.sandbox.netnsName}`, '--', ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

function probeChart(image: string, opts: { name: string; apiAccess?: boolean }): Obj[] {
  const app = new App();
  const chart = new Chart(app, 'node-live');
  const ns = new HardenedNamespace(chart, NS, {
    app: 'probe',
    team: 'probe-team',
    environment: 'test',
    protectionNeed: 'normal',
    size: 'small',
    name: NS,
  } as any);
  new HardenedWorkload(chart, opts.name, {
    namespace: ns.namespaceName,
    containers: [
      {
        name: 'probe',
        image,
        args: ['serve', ':8080'],
        ports: [{ number: 8080, name: 'http' }],
        liveness: Probe.fromHttpGet('/healthz', { port: 8080 }),
        readiness: Probe.fromHttpGet('/ready', { port: 8080 }),
        resources: { cpuRequest: '10m', cpuLimit: '200m', memoryRequest: '16Mi', memoryLimit: '64Mi' },
      },
    ],
  });
  return parseAllDocuments(app.synthYaml())
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}

async function runningPod(app: string): Promise<{ name: string; podIP: string; spec: any }> {
  return eventually(
    `a Running, Ready pod of ${app}`,
    async () => {
      const list = await admin.json<{ items: any[] }>(`/api/v1/namespaces/${NS}/pods`);
      const pod = list.items.find(
        (p) =>
          p.metadata.name.startsWith(app) &&
          p.status?.phase === 'Running' &&
          p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
      );
      return pod ? { name: pod.metadata.name, podIP: pod.status.podIP, spec: pod.spec } : undefined;
    },
    180_000,
  );
}

beforeAll(async () => {
  cluster = await startCluster('node', BASE_PORT, {}, { node: true });
  admin = cluster.api;
  node = cluster.cp.localNode();
  images = (await cluster.cp.up()).node!.images;
});

afterAll(async () => {
  await cluster?.stop();
});

describe('the node', () => {
  test('registers and is Ready, with its address from 198.18.0.0/15 and the pod range from the node network', async () => {
    const n = await admin.json<any>('/api/v1/nodes/hcb-local');
    expect(n.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('True');
    expect(n.status.addresses).toEqual(
      expect.arrayContaining([
        { type: 'InternalIP', address: '198.18.0.2' },
        { type: 'Hostname', address: 'hcb-local' },
      ]),
    );
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/v?2\./);
    expect(n.status.nodeInfo.kubeletVersion).toBe('v1.36.3');
  });

  test("the kubelet runs with the blueprint KubeletConfiguration, unchanged, and kubeadm's command line", () => {
    const rendered = cluster.blueprint.configDocuments.find((d) => d.kind === 'KubeletConfiguration') as Record<
      string,
      unknown
    >;
    const onDisk = parseYaml(
      fs.readFileSync(path.join(cluster.rootfs, 'var/lib/kubelet/config.yaml'), 'utf8'),
    ) as Record<string, unknown>;
    const norm = (v: unknown) => (typeof v === 'string' && /^[0-9]+m$/.test(v) ? `${v}0s` : v);
    for (const [k, v] of Object.entries(rendered)) {
      if (k === 'streamingConnectionIdleTimeout') expect(onDisk[k]).toBe(norm(v));
      // kubeadm omits zero values when it writes the file (readOnlyPort: 0 is also the kubelet's default)
      else if (v === 0 && onDisk[k] === undefined) expect(k).toBe('readOnlyPort');
      else expect({ [k]: onDisk[k] }).toEqual({ [k]: v });
    }
    const pid = node.status().find((p) => p.name === 'kubelet')!.pid!;
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline.slice(1)).toEqual(node.kubeletArgs());
    expect(cmdline.join(' ')).not.toMatch(/hostname-override|read-only-port|anonymous-auth/);
  });

  test('nothing of the node is configured in the host network namespace', () => {
    const host = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout;
    expect(host).not.toMatch(/198\.1[89]\./);
    const inside = inNodeNetwork(['ip', '-o', '-4', 'addr']).stdout;
    const addrs = [...inside.matchAll(/inet ([0-9.]+)\//g)].map((m) => m[1]).filter((a) => a !== '127.0.0.1');
    expect(addrs.length).toBeGreaterThan(0);
    for (const a of addrs) expect(a).toMatch(/^198\.(18|19)\./);
    expect(inNodeNetwork(['ip', 'route', 'show', 'default']).stdout.trim()).toBe('');
  });
});

describe('a HardenedWorkload runs on the node', () => {
  let pod: { name: string; podIP: string; spec: any };
  let self: any;

  beforeAll(async () => {
    await apply(probeChart(images.probe, { name: 'probe' }));
    pod = await runningPod('probe');
    const res = inNodeNetwork(['curl', '-sS', '--max-time', '5', `http://${pod.podIP}:8080/self`]);
    expect(res.stderr).toBe('');
    self = JSON.parse(res.stdout);
  });

  test('the pod got an address from the pod range and its image by digest', () => {
    expect(pod.podIP).toMatch(/^198\.18\.(1[6-9]|2[0-9]|3[01])\./);
    expect(pod.spec.containers[0].image).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  test('inside the container: UID not 0, / read-only, no capabilities, seccomp filter, no_new_privs, no token', () => {
    expect(self.uid).not.toBe(0);
    expect(self.writeRoot).toMatch(/read-only file system/);
    expect(self.status.CapEff).toBe('0000000000000000');
    expect(self.status.CapPrm).toBe('0000000000000000');
    expect(self.status.Seccomp).toBe('2');
    expect(self.status.NoNewPrivs).toBe('1');
    expect(self.tokenMounted).toBe(false);
  });
});

describe("the kubelet's API", () => {
  const url = (p: string) => `https://198.18.0.2:10250${p}`;
  let caFile: string;
  let dir: string;

  beforeAll(() => {
    dir = tempDir('kubelet-probe');
    caFile = path.join(cluster.rootfs, 'etc/kubernetes/pki/ca.crt');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('serves a certificate signed by the cluster CA for the node address, and an anonymous request gets 401', () => {
    // --cacert with only the cluster CA: curl fails (exit 60) unless the chain and the IP SAN verify.
    const res = inNodeNetwork([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      caFile,
      url('/pods'),
    ]);
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('401');
  });

  test('an authenticated user without nodes/proxy gets 403; the admin gets 200 (positive control)', () => {
    const user = mintUserCertificate(cluster.rootfs, { user: 'kubelet-prober', groups: ['nobody-special'] });
    fs.writeFileSync(path.join(dir, 'u.crt'), user.cert);
    fs.writeFileSync(path.join(dir, 'u.key'), user.key, { mode: 0o600 });
    const asUser = inNodeNetwork([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      caFile,
      '--cert',
      path.join(dir, 'u.crt'),
      '--key',
      path.join(dir, 'u.key'),
      url('/pods'),
    ]);
    expect(asUser.stdout).toBe('403');
    const pki = path.join(cluster.rootfs, 'etc/kubernetes/pki');
    const asApiServer = inNodeNetwork([
      'curl',
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      caFile,
      '--cert',
      path.join(pki, 'apiserver-kubelet-client.crt'),
      '--key',
      path.join(pki, 'apiserver-kubelet-client.key'),
      url('/pods'),
    ]);
    expect(asApiServer.stdout).toBe('200');
  });

  test('the read-only port 10255 is closed', () => {
    const res = inNodeNetwork(['curl', '-sS', '--max-time', '3', 'http://198.18.0.2:10255/pods']);
    expect(res.status).toBe(7); // curl: could not connect
  });
});

describe("the API server reaches the kubelet (logs, exec, port-forward) through the node's egress proxy", () => {
  // The API server stays on the host's loopback; its `cluster` egress (EgressSelectorConfiguration,
  // HTTPConnect over a unix socket) goes through the connect-proxy in the node's network namespace.
  // TLS runs end to end: the API server presents apiserver-kubelet-client and verifies the kubelet's
  // serving certificate against the cluster CA (--kubelet-certificate-authority).
  const PORT_FORWARD_PORT = 47580;
  const IMPOSTOR_PORT = 47589;
  let dir: string;
  let pod: { name: string };
  let adminKubeconfig: string;
  let userKubeconfig: string;
  let asUser: ApiClient;

  const kubectl = (kubeconfig: string, args: string[], timeoutMs = 60_000) => {
    const res = spawnSync(
      path.join(toolchainBin(), 'kubectl'),
      ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), '--request-timeout', '30s', ...args],
      { encoding: 'utf8', timeout: timeoutMs },
    );
    return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
  };
  const proxyLog = () => fs.readFileSync(path.join(cluster.stateDir, 'logs', 'node-egress-proxy.log'), 'utf8');

  beforeAll(async () => {
    dir = tempDir('kubelet-path');
    pod = await runningPod('probe');
    adminKubeconfig = cluster.cp.adminKubeconfigPath();
    // A user who may read pods in the namespace, and nothing of pods/log, pods/exec, pods/portforward or nodes/proxy.
    const user = mintUserCertificate(cluster.rootfs, { user: 'pod-reader', groups: ['hcb-e2e-readers'] });
    const server = admin.serverUrl;
    asUser = new ApiClient({ server, tls: { cert: user.cert, key: user.key, ca: user.ca } });
    userKubeconfig = path.join(dir, 'user.conf');
    fs.writeFileSync(
      userKubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: u',
        'clusters: [{name: c, cluster: {server: ' +
          JSON.stringify(server) +
          ', certificate-authority-data: ' +
          user.ca.toString('base64') +
          '}}]',
        'users: [{name: u, user: {client-certificate-data: ' +
          user.cert.toString('base64') +
          ', client-key-data: ' +
          user.key.toString('base64') +
          '}}]',
        'contexts: [{name: u, context: {cluster: c, user: u}}]',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'pod-reader', namespace: NS },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'pod-reader', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'pod-reader' }],
    };
    for (const [o, plural] of [
      [role, 'roles'],
      [binding, 'rolebindings'],
    ] as const) {
      const res = await admin.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/${plural}`, o);
      expect([201, 409]).toContain(res.status);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the kubelet authorises the API server's own client certificate: without its binding the kubelet refuses it, with it logs work", async () => {
    // Runs before any other API server -> kubelet request of this file: the kubelet caches an
    // allowed decision for 5 minutes, a refused one for 30 s (the blueprint's KubeletConfiguration).
    const path_ = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeadm:apiserver-kubelet-client';
    const saved = await admin.json<any>(path_);
    expect(saved.subjects).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kube-apiserver-kubelet-client' },
    ]);
    expect(saved.roleRef.name).toBe('system:kubelet-api-admin');
    expect((await admin.delete(path_)).status).toBe(200);
    try {
      const refused = kubectl(adminKubeconfig, ['-n', NS, 'logs', pod.name]);
      expect(refused.status).not.toBe(0);
      // The kubelet's own answer (webhook authorisation of the API server's certificate identity), passed on by the API server.
      expect(refused.stderr).toMatch(
        /Forbidden \(user=kube-apiserver-kubelet-client, verb=get, resource=nodes, subresource\(s\)=\[proxy\]\)/,
      );
    } finally {
      const { metadata, ...rest } = saved;
      const res = await admin.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        ...rest,
        metadata: { name: metadata.name, labels: metadata.labels },
      });
      expect(res.status).toBe(201);
    }
    // The kubelet forgets the refusal after 30 s.
    await eventually(
      'kubectl logs once the binding is back',
      async () => (kubectl(adminKubeconfig, ['-n', NS, 'logs', pod.name]).status === 0 ? true : undefined),
      120_000,
    );
  });

  test('kubectl logs and kubectl exec of the hardened pod work for the admin, through the proxy to 198.18.0.2:10250', () => {
    const logs = kubectl(adminKubeconfig, ['-n', NS, 'logs', pod.name]);
    expect(logs.stderr).toBe('');
    expect(logs.status).toBe(0);
    // The probe prints what it sees of itself when it starts.
    expect(JSON.parse(logs.stdout.trim().split('\n')[0]).uid).not.toBe(0);
    const exec = kubectl(adminKubeconfig, ['-n', NS, 'exec', pod.name, '--', '/probe', 'self']);
    expect(exec.stderr).toBe('');
    expect(exec.status).toBe(0);
    const self = JSON.parse(exec.stdout);
    expect(self.uid).not.toBe(0);
    expect(self.status.CapEff).toBe('0000000000000000');
    expect(proxyLog()).toMatch(/connect-proxy 198\.18\.0\.2:10250 200/);
  });

  test(`kubectl port-forward to the pod works for the admin (127.0.0.1:${PORT_FORWARD_PORT})`, async () => {
    const pf = spawn(
      path.join(toolchainBin(), 'kubectl'),
      [
        '--kubeconfig',
        adminKubeconfig,
        '--cache-dir',
        path.join(dir, 'cache'),
        '-n',
        NS,
        'port-forward',
        '--address',
        '127.0.0.1',
        `pod/${pod.name}`,
        `${PORT_FORWARD_PORT}:8080`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    pf.stdout.on('data', (d) => (out += d.toString()));
    pf.stderr.on('data', (d) => (out += d.toString()));
    try {
      await eventually(
        'port-forward listening',
        async () => (/Forwarding from 127\.0\.0\.1:/.test(out) ? true : undefined),
        60_000,
      );
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: PORT_FORWARD_PORT, path: '/healthz', timeout: 20_000 }, (res) => {
            let d = '';
            res.on('data', (c) => (d += c));
            res.on('end', () => resolve(`${res.statusCode} ${d.trim()}`));
          })
          .on('error', reject);
      });
      expect(body).toBe('200 ok');
    } finally {
      pf.kill('SIGTERM');
      await new Promise((r) => (pf.exitCode !== null ? r(undefined) : pf.on('exit', r)));
    }
  });

  test('a user who may only read pods is refused logs, exec, port-forward and the node proxy (403)', async () => {
    expect(kubectl(userKubeconfig, ['-n', NS, 'get', 'pod', pod.name, '-o', 'name']).stdout.trim()).toBe(
      `pod/${pod.name}`,
    );
    const logs = kubectl(userKubeconfig, ['-n', NS, 'logs', pod.name]);
    expect(logs.status).not.toBe(0);
    expect(logs.stderr).toMatch(/\(Forbidden\).*cannot get resource "pods\/log"/);
    const exec = kubectl(userKubeconfig, ['-n', NS, 'exec', pod.name, '--', '/probe', 'self']);
    expect(exec.status).not.toBe(0);
    expect(exec.stderr).toMatch(/cannot create resource "pods\/exec"|pods\/exec.*forbidden|Forbidden/);
    expect(exec.stdout).toBe('');
    const nodeProxy = await asUser.get('/api/v1/nodes/hcb-local/proxy/pods');
    expect(nodeProxy.status).toBe(403);
    const pf = await asUser.request('POST', `/api/v1/namespaces/${NS}/pods/${pod.name}/portforward?ports=8080`);
    expect(pf.status).toBe(403);
  });

  describe('the API server verifies the certificate of what answers on a kubelet port (an impostor in the node network)', () => {
    // A Node object whose kubelet endpoint is a TLS server of this test in the node's network
    // namespace (198.18.0.2:IMPOSTOR_PORT): the API server must refuse its certificate unless the
    // cluster CA signed it for the address it dialled. Unschedulable and tainted: no pod lands on it.
    const NODE = 'hcb-impostor';
    let impostor: ReturnType<typeof spawn> | undefined;
    let events: any[] = [];

    const certs = (name: string, opts: { ip: string; clusterCa: boolean }) => {
      const pki = path.join(cluster.rootfs, 'etc/kubernetes/pki');
      const base = path.join(dir, name);
      const ext = path.join(dir, `${name}.ext`);
      fs.writeFileSync(ext, `subjectAltName=IP:${opts.ip},DNS:${NODE}\nextendedKeyUsage=serverAuth\n`);
      const run = (args: string[]) => {
        const r = spawnSync('openssl', args, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
      };
      let ca = path.join(pki, 'ca.crt');
      let caKey = path.join(pki, 'ca.key');
      if (!opts.clusterCa) {
        ca = `${base}-ca.crt`;
        caKey = `${base}-ca.key`;
        run([
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          caKey,
          '-subj',
          '/CN=kubernetes',
          '-days',
          '1',
          '-out',
          ca,
        ]);
      }
      run([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-subj',
        `/CN=system:node:${NODE}`,
        '-out',
        `${base}.csr`,
      ]);
      run([
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        ca,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '1',
        '-sha256',
        '-extfile',
        ext,
        '-out',
        `${base}.crt`,
      ]);
      return { cert: `${base}.crt`, key: `${base}.key` };
    };

    const IMPOSTOR = String.raw`
const tls = require('tls'); const fs = require('fs');
const [cert, key, host, port] = process.argv.slice(1);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const srv = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), requestCert: true, rejectUnauthorized: false }, (s) => {
  const peer = s.getPeerCertificate();
  say({ event: 'secure', peer: peer && peer.subject ? { cn: peer.subject.CN, o: peer.subject.O, issuer: peer.issuer.CN } : null });
  s.once('data', (d) => { say({ event: 'request', line: d.toString().split('\r\n')[0] }); s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nconnection: close\r\n\r\nimpostor\n'); });
  s.on('error', () => {});
});
srv.on('tlsClientError', (e) => say({ event: 'tlsClientError', message: e.message }));
srv.listen(Number(port), host, () => say({ event: 'listening' }));
`;

    const startImpostor = async (c: { cert: string; key: string }) => {
      events = [];
      impostor = spawn(
        'nsenter',
        [
          `--net=/run/netns/${node.sandbox.netnsName}`,
          '--',
          process.execPath,
          '-e',
          IMPOSTOR,
          c.cert,
          c.key,
          '198.18.0.2',
          String(IMPOSTOR_PORT),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let buf = '';
      impostor.stdout!.on('data', (d) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) events.push(JSON.parse(l));
      });
      await eventually(
        'the impostor listening',
        async () => (events.some((e) => e.event === 'listening') ? true : undefined),
        20_000,
      );
    };
    const stopImpostor = async () => {
      if (!impostor) return;
      const p = impostor;
      impostor = undefined;
      p.kill('SIGKILL');
      await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(undefined) : p.on('exit', r)));
    };

    beforeAll(async () => {
      const res = await admin.post('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: NODE },
        spec: {
          unschedulable: true,
          taints: [
            { key: 'hcb.dev/impostor', effect: 'NoExecute' },
            { key: 'hcb.dev/impostor', effect: 'NoSchedule' },
          ],
        },
      });
      expect(res.status).toBe(201);
      const status = await admin.request(
        'PATCH',
        `/api/v1/nodes/${NODE}/status`,
        {
          status: {
            addresses: [
              { type: 'InternalIP', address: '198.18.0.2' },
              { type: 'Hostname', address: NODE },
            ],
            daemonEndpoints: { kubeletEndpoint: { Port: IMPOSTOR_PORT } },
          },
        },
        'application/merge-patch+json',
      );
      expect(status.status).toBe(200);
    });
    afterEach(stopImpostor);
    afterAll(async () => {
      await stopImpostor();
      await admin.delete(`/api/v1/nodes/${NODE}`);
    });

    test('a certificate from another CA (right address) is refused before any request reaches it', async () => {
      await startImpostor(certs('other-ca', { ip: '198.18.0.2', clusterCa: false }));
      const res = await admin.get(`/api/v1/nodes/${NODE}/proxy/healthz`);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.body).toMatch(/certificate signed by unknown authority/);
      expect(events.filter((e) => e.event === 'request')).toEqual([]);
      const logs = kubectl(adminKubeconfig, ['get', '--raw', `/api/v1/nodes/${NODE}/proxy/pods`]);
      expect(logs.status).not.toBe(0);
    });

    test('a certificate the cluster CA signed for another address is refused', async () => {
      await startImpostor(certs('wrong-ip', { ip: '198.18.0.99', clusterCa: true }));
      const res = await admin.get(`/api/v1/nodes/${NODE}/proxy/healthz`);
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.body).toMatch(/certificate is valid for 198\.18\.0\.99, not 198\.18\.0\.2/);
      expect(events.filter((e) => e.event === 'request')).toEqual([]);
    });

    test('positive control: the cluster CA for the dialled address is accepted, and the API server shows its kubelet client certificate', async () => {
      await startImpostor(certs('right', { ip: '198.18.0.2', clusterCa: true }));
      const res = await admin.get(`/api/v1/nodes/${NODE}/proxy/healthz`);
      expect(`${res.status} ${res.body.trim()}`).toBe('200 impostor');
      const secure = events.find((e) => e.event === 'secure');
      expect(secure.peer).toEqual({ cn: 'kube-apiserver-kubelet-client', o: undefined, issuer: 'kubernetes' });
      expect(events.find((e) => e.event === 'request').line).toBe('GET /healthz HTTP/1.1');
    });
  });

  test('the proxy refuses destinations outside the node network (403), whoever asks', () => {
    const socket = path.join(cluster.rootfs, 'etc/kubernetes/egress-proxy/cluster.sock');
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    const res = spawnSync(
      'curl',
      [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '10',
        '--unix-socket',
        socket,
        '-X',
        'CONNECT',
        '--request-target',
        '127.0.0.1:22',
        'http://x/',
      ],
      { encoding: 'utf8' },
    );
    expect(res.stdout).toBe('403');
  });
});

describe('hcb verify on the node', () => {
  const opts = () => ({
    stateDir: cluster.stateDir,
    nodeFiles: cluster.blueprint.nodeFiles,
    namespaces: [NS],
    exceptions: cluster.blueprint.exceptions,
    node: true,
  });
  const failing = (findings: Awaited<ReturnType<typeof verifyLocalCluster>>['findings']) =>
    findings
      .filter((f) => f.status === 'fail' || f.status === 'error')
      .map((f) => `${f.control} ${f.object?.path ?? f.object?.name ?? ''}: ${f.message}`);

  beforeAll(async () => {
    await backupNow({ stateDir: cluster.stateDir, binDir: toolchainBin(), hcbVersion: 'test' });
  });

  test('the running node passes: 0 fail, the kubelet observed from its process and the file it reads, probes pass', async () => {
    const { findings, missing } = await verifyLocalCluster(opts());
    expect(missing).toEqual([]);
    expect(failing(findings)).toEqual([]);
    // The kubelet controls were evaluated on the observed kubelet (its command line over the file from disk).
    const readOnly = findings.filter(
      (f) => f.control === 'HCB-KUBELET-READ-ONLY-PORT' && f.object?.kind === 'KubeletConfiguration',
    );
    expect(readOnly.map((f) => [f.status, f.object?.file])).toEqual([['pass', 'live:/var/lib/kubelet/config.yaml']]);
    expect(readOnly[0].message).toContain("with the flags of the running kubelet's command line");
    // The local target's cgroup v1 setting is accepted through its reviewed exception, not passed.
    expect(findings.filter((f) => f.control === 'HCB-KUBELET-FAIL-CGROUP-V1').map((f) => f.status)).toEqual([
      'accepted',
    ]);
    const probes = findings.filter((f) => f.object?.kind === 'Probe' && f.control.startsWith('HCB-KUBELET-'));
    expect(probes.map((p) => [p.control, p.status]).sort()).toEqual([
      ['HCB-KUBELET-ANONYMOUS-AUTH', 'pass'],
      ['HCB-KUBELET-READ-ONLY-PORT', 'pass'],
      ['HCB-KUBELET-SERVING-CERT', 'pass'],
    ]);
    // The API server's way to the kubelet: its client certificate accepted, an impostor's certificate refused.
    const path_ = findings.filter((f) => f.object?.kind === 'Probe' && f.control.startsWith('HCB-APISERVER-KUBELET-'));
    expect(path_.map((p) => [p.control, p.object?.name, p.status]).sort()).toEqual([
      ['HCB-APISERVER-KUBELET-CA', 'kubelet-impostor', 'pass'],
      ['HCB-APISERVER-KUBELET-CLIENT-CERT', 'kubelet-through-apiserver', 'pass'],
    ]);
    expect(path_.find((p) => p.control === 'HCB-APISERVER-KUBELET-CA')!.message).toMatch(
      /certificate signed by unknown authority/,
    );
    expect(
      (await admin.json<{ items: Array<{ metadata: { name: string } }> }>('/api/v1/nodes')).items.map(
        (n) => n.metadata.name,
      ),
    ).toEqual(['hcb-local']);
    // The kubelet's PKI (symlinks resolved inside the node) is in the observed file list.
    const keyModes = findings.filter(
      (f) => f.control === 'HCB-NODEFILE-PKI-KEY-MODE' && f.object?.path?.startsWith('/var/lib/kubelet/pki/'),
    );
    expect(keyModes.map((f) => f.object?.path)).toEqual(
      expect.arrayContaining([
        '/var/lib/kubelet/pki/kubelet-client-current.pem',
        '/var/lib/kubelet/pki/kubelet-server-current.pem',
      ]),
    );
  });

  test('the kubelet configuration changed on disk is caught (what the kubelet reads at its next start)', async () => {
    const file = path.join(cluster.rootfs, 'var/lib/kubelet/config.yaml');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(
      file,
      original
        .replace(/^readOnlyPort:.*$/m, '')
        .replace(/^kind: KubeletConfiguration$/m, 'kind: KubeletConfiguration\nreadOnlyPort: 10255'),
    );
    try {
      const { findings } = await verifyLocalCluster(opts());
      const bad = findings.filter((f) => f.control === 'HCB-KUBELET-READ-ONLY-PORT' && f.status === 'fail');
      expect(bad.map((f) => f.object?.file)).toEqual(['live:/var/lib/kubelet/config.yaml']);
      expect(bad[0].message).toContain('readOnlyPort: 10255');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  test("a kubelet key opened up inside the node is caught through the kubelet's symlink", async () => {
    const link = '/var/lib/kubelet/pki/kubelet-client-current.pem';
    const target = fs.readlinkSync(path.join(cluster.rootfs, link));
    const real = path.join(cluster.rootfs, target.startsWith('/') ? target : path.join(path.dirname(link), target));
    const mode = fs.statSync(real).mode & 0o777;
    fs.chmodSync(real, 0o644);
    try {
      const { findings } = await verifyLocalCluster(opts());
      const bad = findings
        .filter((f) => f.control === 'HCB-NODEFILE-PKI-KEY-MODE' && f.status === 'fail')
        .map((f) => f.object?.path);
      expect(bad).toContain(link);
    } finally {
      fs.chmodSync(real, mode);
    }
  });
});

describe('teardown', () => {
  test('down leaves no process, namespace, mount, cgroup or interface behind; a second down is harmless', async () => {
    const hostLinksBefore = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(':')[1]?.trim())
      .sort();
    const netns = node.sandbox.netnsName;
    const holder = node.sandbox.holderPid();
    expect(holder).toBeDefined();
    const pids = node.sandbox.processes();
    expect(pids.length).toBeGreaterThan(3);
    const cgroupRoot = fs.readFileSync(path.join(cluster.stateDir, 'node/cgroup-root'), 'utf8').trim();
    expect(cgroupDirs(cgroupRoot).length).toBeGreaterThan(0);

    await cluster.cp.down({ purge: true });
    await cluster.cp.down({ purge: true });

    expect(
      pids.filter((p) => fs.existsSync(`/proc/${p}`) && !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'))),
    ).toEqual([]);
    expect(fs.existsSync(`/run/netns/${netns}`)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cluster.stateDir);
    expect(cgroupDirs(cgroupRoot)).toEqual([]);
    const hostLinksAfter = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(':')[1]?.trim())
      .sort();
    expect(hostLinksAfter).toEqual(hostLinksBefore);
  });
});
