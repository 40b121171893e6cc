/**
 * NetworkPolicy enforcement on the local node: kube-router (v2.1.0, see docs/ARCHITECTURE.md for
 * why this one) with only its firewall controller, run as a process in the node's network and
 * mount namespaces like the kubelet. It programs iptables (nf_tables backend) and ipsets in the
 * node's namespace; pod-to-pod traffic on the CNI bridge reaches those rules through
 * br_netfilter, routed traffic through FORWARD.
 *
 * What it is given:
 * - Its own identity, never admin.conf: a client certificate for the user
 *   `hcb:netpol-enforcer` (no groups) signed by the cluster CA, in a kubeconfig under the node's
 *   private state (mode 0600), bound to a ClusterRole that can only read what the firewall
 *   controller's informers watch (kube-router v2.1.0 `pkg/cmd/kube-router.go` starts the pod,
 *   namespace, NetworkPolicy, node, Service, Endpoints and EndpointSlice informers whatever is
 *   enabled, and waits for all of them to sync) and get its own Node.
 * - Flags (checked in kube-router v2.1.0 `pkg/options/options.go`): firewall on; router (BGP),
 *   service proxy (IPVS), load balancer allocator and CNI configuration off; IPv4 only; the
 *   service range of the node network (its default is 10.96.0.0/12); health and metrics
 *   listeners off (the health port defaults to 20244 on every address); pprof off (default).
 *
 * The routing controller is what normally sets net.bridge.bridge-nf-call-iptables; with it off,
 * this module sets it in the node's namespace (per network namespace on this kernel) before the
 * enforcer starts.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { ensureClientKubeconfig } from './client-cert';
import type { NodeNetwork } from './network';
import { alive, NodeSandbox, SANDBOX_STATE_MOUNT, signal, sleep, tail, writeJson } from './sandbox';

export const NETPOL_ENFORCER_BINARY = 'kube-router';
/** The enforcer's user name (its client certificate's CN; no groups). */
export const NETPOL_ENFORCER_USER = 'hcb:netpol-enforcer';
/** The ClusterRole and ClusterRoleBinding that give the enforcer read access, and nothing else. */
export const NETPOL_ENFORCER_ROLE = 'hcb:netpol-enforcer';

/** What the enforcer may do: read the objects its informers watch; no write of any kind. */
export const NETPOL_ENFORCER_RULES = [
  {
    apiGroups: [''],
    resources: ['pods', 'namespaces', 'nodes', 'services', 'endpoints'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
];

/** The iptables chain kube-router's firewall creates once it has synced (its readiness signal here). */
export const NETPOL_READY_CHAIN = 'KUBE-ROUTER-FORWARD';

export interface NodeNetworkPolicyOptions {
  stateDir: string;
  rootfs: string;
  binDir: string;
  nodeName: string;
  network: NodeNetwork;
  /** API server URL on the host's loopback (the admin's view, used for RBAC setup). */
  apiServerUrl: string;
  /** TLS options of the admin (creates the ClusterRole and binding only). */
  adminTls: https.RequestOptions;
  sandbox: NodeSandbox;
  log: (line: string) => void;
}

interface EnforcerRecord {
  pid: number;
  exe: string;
  fingerprint: string;
  args: string[];
}

/** The enforcer's command line (flags as defined in kube-router v2.1.0 pkg/options). */
export function kubeRouterArgs(input: { kubeconfig: string; nodeName: string; serviceCidr: string }): string[] {
  return [
    `--kubeconfig=${input.kubeconfig}`,
    `--hostname-override=${input.nodeName}`,
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    '--run-loadbalancer=false',
    '--enable-cni=false',
    '--enable-ipv4=true',
    '--enable-ipv6=false',
    `--service-cluster-ip-range=${input.serviceCidr}`,
    '--health-port=0',
    '--metrics-port=0',
    '--enable-pprof=false',
  ];
}

export class NodeNetworkPolicy {
  private readonly dir: string;
  private readonly logFile: string;

  constructor(private readonly opts: NodeNetworkPolicyOptions) {
    this.dir = path.join(opts.stateDir, 'node', 'netpol');
    this.logFile = path.join(opts.stateDir, 'logs', 'node-kube-router.log');
  }

  binary(): string {
    return path.join(this.opts.binDir, NETPOL_ENFORCER_BINARY);
  }

  /** The kubeconfig path as the enforcer sees it inside the node. */
  private kubeconfigInside(): string {
    return path.join(SANDBOX_STATE_MOUNT, 'node', 'netpol', 'kubeconfig');
  }

  args(): string[] {
    return kubeRouterArgs({
      kubeconfig: this.kubeconfigInside(),
      nodeName: this.opts.nodeName,
      serviceCidr: this.opts.network.serviceCidr,
    });
  }

  /** Starts the enforcer (or keeps it when it runs with the same configuration) and waits for its rules. */
  async up(): Promise<void> {
    if (!fs.existsSync(this.binary()))
      throw new Error(`the local node's NetworkPolicy enforcer needs ${this.binary()}. Run: npm run toolchain`);
    await this.ensureRbac();
    const kubeconfig = this.ensureIdentity();
    // br_netfilter: bridged pod-to-pod traffic passes iptables (kube-router's routing
    // controller would set this; it is off). Per network namespace on this kernel.
    this.opts.sandbox.exec([
      'sh',
      '-c',
      'echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables && cat /proc/sys/net/bridge/bridge-nf-call-iptables',
    ]);
    const args = this.args();
    const exe = fs.realpathSync(this.binary());
    const fingerprint = crypto
      .createHash('sha256')
      .update(JSON.stringify([exe, args, kubeconfig]))
      .digest('hex');
    const rec = this.record();
    if (rec && this.isAlive(rec) && rec.fingerprint === fingerprint) return;
    if (rec && this.isAlive(rec)) {
      this.opts.log('kube-router: configuration changed, restarting');
      await this.down();
    }
    fs.mkdirSync(path.dirname(this.logFile), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(this.logFile, 'a', 0o600);
    fs.writeSync(fd, `\n=== kube-router starting: ${exe} ${args.join(' ')}\n`);
    const [cmd, ...rest] = this.opts.sandbox.enter([exe, ...args]);
    const child = spawn(cmd, rest, {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: '/',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' },
    });
    fs.closeSync(fd);
    if (child.pid === undefined) throw new Error(`kube-router: could not start ${exe}`);
    child.unref();
    const pid = child.pid;
    // nsenter replaces itself with the program.
    const deadline = Date.now() + 10_000;
    while (readExe(pid) !== exe) {
      if (!alive(pid) || Date.now() > deadline)
        throw new Error(`kube-router exited at once; last lines of ${this.logFile}:\n${tail(this.logFile, 20)}`);
      await sleep(20);
    }
    writeJson(this.recordPath(), { pid, exe, fingerprint, args } satisfies EnforcerRecord);
    this.opts.log(`kube-router (NetworkPolicy firewall only): started (pid ${pid}, log ${this.logFile})`);
    await this.waitSynced(90_000);
  }

  /** Stops the enforcer. Its rules and ipsets live in the node's network namespace and go with it. */
  async down(): Promise<void> {
    const rec = this.record();
    if (!rec) return;
    if (this.isAlive(rec)) {
      signal(rec.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (this.isAlive(rec) && Date.now() < deadline) await sleep(100);
      if (this.isAlive(rec)) signal(rec.pid, 'SIGKILL');
      for (let i = 0; i < 50 && this.isAlive(rec); i++) await sleep(100);
    }
    fs.rmSync(this.recordPath(), { force: true });
  }

  /** The enforcer's pid when it runs. */
  pid(): number | undefined {
    const rec = this.record();
    return rec && this.isAlive(rec) ? rec.pid : undefined;
  }

  /** True when the enforcer runs and its top-level chain is hooked into FORWARD in the node. */
  enforcing(): boolean {
    if (!this.pid()) return false;
    try {
      return new RegExp(`-j ${NETPOL_READY_CHAIN}\\b`).test(
        this.opts.sandbox.exec(['iptables', '-w', '5', '-S', 'FORWARD'], { timeoutMs: 15_000 }),
      );
    } catch {
      return false;
    }
  }

  private async waitSynced(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.pid()) throw new Error(`kube-router exited; last lines of ${this.logFile}:\n${tail(this.logFile, 25)}`);
      if (this.enforcing()) {
        this.opts.log('kube-router: NetworkPolicy rules in place');
        return;
      }
      await sleep(500);
    }
    throw new Error(
      `kube-router did not install its rules within ${timeoutMs / 1000}s; see ${this.logFile}:\n${tail(this.logFile, 25)}`,
    );
  }

  /**
   * The enforcer's key and certificate (CN hcb:netpol-enforcer, no O, 1 year, signed by the
   * cluster CA; renewed 30 days before expiry) and its kubeconfig (API server through the node's
   * forwarder on 127.0.0.1). Returns the kubeconfig text.
   */
  private ensureIdentity(): string {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Key and certificate files of earlier versions: the kubeconfig is the only copy now.
    for (const f of ['client.key', 'client.crt']) fs.rmSync(path.join(this.dir, f), { force: true });
    const api = new URL(this.opts.apiServerUrl);
    const { text, issued } = ensureClientKubeconfig({
      file: path.join(this.dir, 'kubeconfig'),
      pkiDir: path.join(this.opts.rootfs, 'etc/kubernetes/pki'),
      id: { user: NETPOL_ENFORCER_USER },
      server: `https://127.0.0.1:${api.port || '443'}`,
      context: 'netpol',
      workDir: this.dir,
    });
    if (issued) this.opts.log(`kube-router: client certificate for ${NETPOL_ENFORCER_USER} issued by the cluster CA`);
    return text;
  }

  /** The read-only ClusterRole and its binding to the enforcer's user (server-side apply as the admin). */
  private async ensureRbac(): Promise<void> {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NETPOL_ENFORCER_ROLE, labels: { 'app.kubernetes.io/managed-by': 'hcb' } },
      rules: NETPOL_ENFORCER_RULES,
    };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NETPOL_ENFORCER_ROLE, labels: { 'app.kubernetes.io/managed-by': 'hcb' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NETPOL_ENFORCER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: NETPOL_ENFORCER_USER }],
    };
    for (const [plural, obj] of [
      ['clusterroles', role],
      ['clusterrolebindings', binding],
    ] as const) {
      const res = await request(
        this.opts.apiServerUrl,
        `/apis/rbac.authorization.k8s.io/v1/${plural}/${obj.metadata.name}?fieldManager=hcb-node&force=true`,
        this.opts.adminTls,
        'PATCH',
        JSON.stringify(obj),
        'application/apply-patch+yaml',
      );
      if (res.status !== 200 && res.status !== 201)
        throw new Error(`applying ${obj.kind} ${obj.metadata.name} failed: HTTP ${res.status} ${res.body}`);
    }
  }

  private recordPath(): string {
    return path.join(this.opts.stateDir, 'node', 'run', 'kube-router.json');
  }

  private record(): EnforcerRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.recordPath(), 'utf8')) as EnforcerRecord;
    } catch {
      return undefined;
    }
  }

  private isAlive(rec: EnforcerRecord): boolean {
    return alive(rec.pid) && readExe(rec.pid) === rec.exe;
  }
}

/**
 * What `npm run up` reports about the enforcer of a local cluster (from its state directory
 * only): whether the recorded kube-router process runs and its chain is hooked into FORWARD in
 * the node's network namespace.
 */
export function enforcerState(stateDir: string): { enforcing: boolean; message: string } {
  const dir = path.join(path.resolve(stateDir), 'node', 'run');
  let rec: EnforcerRecord | undefined;
  let netns: string | undefined;
  try {
    rec = JSON.parse(fs.readFileSync(path.join(dir, 'kube-router.json'), 'utf8')) as EnforcerRecord;
  } catch {
    rec = undefined;
  }
  try {
    netns = (JSON.parse(fs.readFileSync(path.join(dir, 'holder.json'), 'utf8')) as { netns?: string }).netns;
  } catch {
    netns = undefined;
  }
  if (!rec || !alive(rec.pid) || readExe(rec.pid) !== rec.exe)
    return { enforcing: false, message: 'kube-router is not running: NetworkPolicies are not enforced' };
  if (!netns || !fs.existsSync(`/run/netns/${netns}`))
    return { enforcing: false, message: `kube-router runs (pid ${rec.pid}) but the node network namespace is gone` };
  const res = spawnSync('nsenter', [`--net=/run/netns/${netns}`, '--', 'iptables', '-w', '5', '-S', 'FORWARD'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (res.status !== 0)
    return {
      enforcing: false,
      message: `kube-router runs (pid ${rec.pid}); reading its rules failed: ${(res.stderr || res.error?.message || '').trim()}`,
    };
  if (!new RegExp(`-j ${NETPOL_READY_CHAIN}\\b`).test(res.stdout))
    return {
      enforcing: false,
      message: `kube-router runs (pid ${rec.pid}) but ${NETPOL_READY_CHAIN} is not hooked into FORWARD`,
    };
  return {
    enforcing: true,
    message: `kube-router (firewall only) enforces NetworkPolicies (pid ${rec.pid}, ${NETPOL_READY_CHAIN} hooked into FORWARD)`,
  };
}

function readExe(pid: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return '';
  }
}

function request(
  base: string,
  p: string,
  tls: https.RequestOptions,
  method: string,
  body: string,
  contentType: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(base + p),
      { ...tls, agent: false, method, timeout: 10_000, headers: { 'content-type': contentType } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${p}`)));
    req.on('error', reject);
    req.end(body);
  });
}
