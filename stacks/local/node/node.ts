/**
 * The local target's node: containerd (with runc and the CNI plugins) and the kubelet, run in
 * the node's own namespaces (sandbox.ts) next to the control plane that LocalControlPlane
 * runs on the host's loopback. It is the control-plane node of a single-node cluster:
 *
 * 1. The kubelet's files come from kubeadm (`kubeadm init phase kubelet-start`, run in the
 *    node's UTS namespace so the host name is the node name): /var/lib/kubelet/config.yaml is
 *    the blueprint's KubeletConfiguration with kubeadm's defaults, kubeadm-flags.env its flags;
 *    the client identity is kubeadm's /etc/kubernetes/kubelet.conf (system:node:<name>).
 * 2. containerd's config and the CNI network list are rendered by runtime-config.ts; the pause
 *    and test images are built from Go binaries (images.ts) and imported, referenced by digest.
 * 3. The kubelet reaches the API server through a unix-socket forwarder (forwarder.ts); the API
 *    server reaches the kubelet (logs, exec, port-forward) through an HTTP CONNECT proxy in the
 *    node's network namespace on the socket its EgressSelectorConfiguration names.
 * 4. The kubelet's serving certificate (serverTLSBootstrap) is requested from the cluster CA;
 *    its CSR is approved here after checking it names only this node and its address.
 *
 * down() stops the kubelet, kills every container (by the cluster's own cgroup parent),
 * containerd and the sandbox, removes the cgroups and the forwarders: nothing is left.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { FORWARDER_SCRIPT } from './forwarder';
import { buildImage, buildImagePrograms, BuiltImage } from './images';
import { clusterEgressDestinations, LOCAL_NODE_NETWORK, NodeNetwork } from './network';
import { NETPOL_ENFORCER_BINARY, NodeNetworkPolicy } from './netpol';
import { ProcessSupervisor, ProcRecord } from './processes';
import { NodeServices } from './services';
import {
  CNI_PLUGINS,
  CONTAINERD_SOCKET,
  lacksSysResource,
  renderCniConfig,
  renderContainerdConfig,
} from './runtime-config';
import { NodeSandbox, SANDBOX_BIND_PATHS, SANDBOX_STATE_MOUNT, signal, sleep, tail, writeJson } from './sandbox';

export const NODE_BINARIES = [
  'kubelet',
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'runc',
  ...CNI_PLUGINS,
  NETPOL_ENFORCER_BINARY,
  'kube-proxy',
  'coredns',
] as const;

export interface LocalNodeOptions {
  stateDir: string;
  binDir: string;
  /** The node name (the kubeadm configuration's nodeRegistration.name). */
  nodeName: string;
  /** API server URL on the host's loopback, e.g. https://127.0.0.1:6443. */
  apiServerUrl: string;
  /** TLS options of an identity allowed to read nodes and approve CSRs (the admin). */
  adminTls: https.RequestOptions;
  /** Runs kubeadm with the blueprint's configuration chrooted into the private root. */
  kubeadm: (args: string[], wrap?: string[]) => string;
  network?: NodeNetwork;
  /**
   * Node path of the unix socket the API server's EgressSelectorConfiguration sends its `cluster`
   * traffic to (HTTPConnect). When set, an HTTP CONNECT proxy in the node's network namespace
   * serves it (forwarder.ts connect-proxy): kubelet logs, exec, port-forward and proxies work.
   */
  clusterEgressSocket?: string;
  log?: (line: string) => void;
  /** How long to wait for the node to become Ready. @default 180000 */
  readyTimeoutMs?: number;
  /**
   * Gives the files kubeadm wrote the modes of the blueprint's node file manifest (kubeadm creates
   * /var/lib/kubelet/config.yaml and kubeadm-flags.env 0644; the manifest asks 0600). Called after
   * `kubelet-start` on every up, before the kubelet starts.
   */
  applyFileModes?: () => void;
}

type NodeProcess = 'containerd' | 'kubelet' | 'api-forwarder-host' | 'api-forwarder-node' | 'egress-proxy';

/** Kernel settings the kubelet requires when protectKernelDefaults is on (it refuses to start otherwise). */
export const KUBELET_KERNEL_TUNABLES: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

export interface NodeInfo {
  nodeName: string;
  nodeAddress: string;
  netns: string;
  images: Record<string, string>;
}

export class LocalNode {
  readonly sandbox: NodeSandbox;
  readonly stateDir: string;
  readonly rootfs: string;
  readonly dir: string;
  readonly network: NodeNetwork;
  /** NetworkPolicy enforcement (kube-router, firewall only; netpol.ts). */
  readonly netpol: NodeNetworkPolicy;
  /** kube-proxy, the API behind the `kubernetes` Service, the CoreDNS image (services.ts). */
  readonly services: NodeServices;
  private readonly logDir: string;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: LocalNodeOptions) {
    this.stateDir = path.resolve(opts.stateDir);
    this.rootfs = path.join(this.stateDir, 'rootfs');
    this.dir = path.join(this.stateDir, 'node');
    this.logDir = path.join(this.stateDir, 'logs');
    this.network = opts.network ?? LOCAL_NODE_NETWORK;
    this.log = opts.log ?? ((line) => process.stderr.write(`[local-node] ${line}\n`));
    this.sandbox = new NodeSandbox({
      stateDir: this.stateDir,
      nodeName: opts.nodeName,
      network: this.network,
      log: this.log,
    });
    this.netpol = new NodeNetworkPolicy({
      ...opts,
      stateDir: this.stateDir,
      rootfs: this.rootfs,
      network: this.network,
      sandbox: this.sandbox,
      log: this.log,
    });
    this.services = new NodeServices({
      ...opts,
      stateDir: this.stateDir,
      sandbox: this.sandbox,
      network: this.network,
      log: this.log,
    });
  }

  checkBinaries(): void {
    const missing = NODE_BINARIES.filter((b) => !fs.existsSync(path.join(this.opts.binDir, b)));
    if (missing.length)
      throw new Error(`the local node needs ${missing.join(', ')} in ${this.opts.binDir}. Run: npm run toolchain`);
  }

  /** Starts (or keeps) the node; resolves when the Node object is Ready. */
  async up(): Promise<NodeInfo> {
    this.checkBinaries();
    const kubeletConfig = this.kubeletFiles();
    this.opts.applyFileModes?.();
    this.cgroupRoot(kubeletConfig);
    if (kubeletConfig.protectKernelDefaults) this.ensureKernelTunables();
    await this.sandbox.create();
    this.installCni();
    const images = this.buildImages();
    const capBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 'ffffffffff';
    const restrictOomScoreAdj = lacksSysResource(capBnd);
    if (restrictOomScoreAdj)
      this.log(
        "this host withholds CAP_SYS_RESOURCE: containerd keeps pods' oom_score_adj at or above its own (restrict_oom_score_adj)",
      );
    const containerdConfig = renderContainerdConfig({
      runcPath: fs.realpathSync(path.join(this.opts.binDir, 'runc')),
      sandboxImage: images.pause.ref,
      restrictOomScoreAdj,
    });
    writeFile(path.join(this.rootfs, 'etc/containerd/config.toml'), containerdConfig, 0o600);
    writeFile(path.join(this.rootfs, 'etc/cni/net.d/10-hcb-pods.conflist'), renderCniConfig(this.network), 0o644);

    await this.ensure(
      'containerd',
      path.join(this.opts.binDir, 'containerd'),
      ['--config', '/etc/containerd/config.toml'],
      containerdConfig,
      true,
    );
    await this.waitFor('containerd', () => this.ctrOk(), 60_000);
    this.importImages(Object.values(images));

    const sock = path.join(this.dir, 'run', 'apiserver.sock');
    if (
      Buffer.byteLength(path.join(SANDBOX_STATE_MOUNT, 'node/run/apiserver.sock')) > 100 ||
      Buffer.byteLength(sock) > 100
    ) {
      throw new Error(`local node: the state directory path is too long for a unix socket (${sock})`);
    }
    const api = new URL(this.opts.apiServerUrl);
    const apiHostPort = `${api.hostname}:${api.port || '443'}`;
    await this.ensure(
      'api-forwarder-host',
      fs.realpathSync(process.execPath),
      ['-e', FORWARDER_SCRIPT, 'unix-to-tcp', sock, apiHostPort],
      '',
      false,
    );
    await this.waitFor('the API forwarder socket', async () => fs.existsSync(sock), 10_000);
    await this.ensure(
      'api-forwarder-node',
      fs.realpathSync(process.execPath),
      ['-e', FORWARDER_SCRIPT, 'tcp-to-unix', apiHostPort, path.join(SANDBOX_STATE_MOUNT, 'node/run/apiserver.sock')],
      '',
      true,
    );
    await this.ensureEgressProxy();

    await this.ensureKubeadmNodeBindings();
    const kubeletArgs = this.kubeletArgs();
    const kubeletFingerprint = JSON.stringify([
      fs.readFileSync(path.join(this.rootfs, 'var/lib/kubelet/config.yaml'), 'utf8'),
      containerdConfig,
    ]);
    await this.ensure('kubelet', path.join(this.opts.binDir, 'kubelet'), kubeletArgs, kubeletFingerprint, true);
    await this.waitReady();
    await this.netpol.up();
    const serviceImages = await this.services.up();
    return {
      nodeName: this.opts.nodeName,
      nodeAddress: this.network.nodeAddress,
      netns: this.sandbox.netnsName,
      images: { ...Object.fromEntries(Object.entries(images).map(([k, v]) => [k, v.ref])), ...serviceImages },
    };
  }

  /** Stops everything the node started; with purge, also removes its data. Safe on partial starts. */
  async down(options: { purge?: boolean } = {}): Promise<void> {
    await this.stop('kubelet');
    await this.netpol.down();
    await this.services.down();
    const root = this.readCgroupRoot();
    if (root) await this.killCgroup(root);
    await this.stop('containerd');
    await this.stop('api-forwarder-node');
    await this.stop('egress-proxy');
    await this.sandbox.destroy();
    if (root) await this.killCgroup(root, true);
    await this.stop('api-forwarder-host');
    fs.rmSync(path.join(this.dir, 'run', 'apiserver.sock'), { force: true });
    if (this.opts.clusterEgressSocket)
      fs.rmSync(path.join(this.rootfs, this.opts.clusterEgressSocket), { force: true });
    this.restoreKernelTunables();
    if (options.purge) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      for (const p of [
        'var/lib/kubelet',
        'var/lib/containerd',
        'var/log/pods',
        'var/log/containers',
        'etc/cni',
        'opt/cni',
        'etc/containerd',
      ]) {
        fs.rmSync(path.join(this.rootfs, p), { recursive: true, force: true });
      }
    }
  }

  /** What runs (for status output). */
  status(): Array<{ name: NodeProcess; pid?: number; running: boolean; log: string }> {
    const names: NodeProcess[] = [
      'containerd',
      'api-forwarder-host',
      'api-forwarder-node',
      ...(this.opts.clusterEgressSocket ? (['egress-proxy'] as const) : []),
      'kubelet',
    ];
    return names.map((name) => {
      const rec = this.readRecord(name);
      const running = rec !== undefined && this.isAlive(rec);
      return { name, pid: running ? rec!.pid : undefined, running, log: path.join(this.logDir, `node-${name}.log`) };
    });
  }

  /** containerd and the kubelet run, and the API reports the Node Ready (for status and diff). */
  async ready(): Promise<{ name: string; ready: boolean; message: string }> {
    const name = this.opts.nodeName;
    const down = this.status().filter((p) => !p.running);
    if (down.length) return { name, ready: false, message: `${down.map((p) => p.name).join(', ')} not running` };
    if (!this.sandbox.holderPid()) return { name, ready: false, message: 'the node namespaces do not exist' };
    if (!this.netpol.pid())
      return { name, ready: false, message: 'kube-router (the NetworkPolicy enforcer) not running' };
    const servicesDown = this.services.status().filter((p) => !p.running);
    if (servicesDown.length)
      return { name, ready: false, message: `${servicesDown.map((p) => p.name).join(', ')} not running` };
    try {
      const res = await api(this.opts.apiServerUrl, `/api/v1/nodes/${name}`, this.opts.adminTls);
      if (res.status !== 200) return { name, ready: false, message: `GET node: HTTP ${res.status}` };
      const node = JSON.parse(res.body) as {
        status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
      };
      const cond = node.status?.conditions?.find((c) => c.type === 'Ready');
      return {
        name,
        ready: cond?.status === 'True',
        message: cond ? `Ready=${cond.status}: ${cond.message ?? ''}` : 'no Ready condition yet',
      };
    } catch (e) {
      return { name, ready: false, message: (e as Error).message };
    }
  }

  /**
   * The API server's way to the kubelet (and to pods and services): an HTTP CONNECT proxy in the
   * node's network namespace on the socket the EgressSelectorConfiguration names. The socket's
   * directory is under a path the sandbox shares with the private root (/etc/kubernetes), so the
   * API server on the host connects to `<rootfs><socket>`, the same file.
   */
  private async ensureEgressProxy(): Promise<void> {
    const socket = this.opts.clusterEgressSocket;
    if (!socket) {
      await this.stop('egress-proxy');
      return;
    }
    if (!SANDBOX_BIND_PATHS.some((p) => socket.startsWith(`${p}/`))) {
      throw new Error(
        `local node: the cluster egress socket ${socket} must lie under a path the node shares with the control plane (${SANDBOX_BIND_PATHS.join(', ')})`,
      );
    }
    const hostSocket = path.join(this.rootfs, socket);
    fs.mkdirSync(path.dirname(hostSocket), { recursive: true, mode: 0o700 });
    await this.ensure(
      'egress-proxy',
      fs.realpathSync(process.execPath),
      ['-e', FORWARDER_SCRIPT, 'connect-proxy', socket, clusterEgressDestinations(this.network).join(',')],
      '',
      true,
    );
    await this.waitFor('the cluster egress proxy socket', async () => fs.existsSync(hostSocket), 10_000);
  }

  // ---------------------------------------------------------------------------------------------
  // kubelet files

  /** kubeadm writes /var/lib/kubelet/{config.yaml,kubeadm-flags.env}; returns the config. */
  private kubeletFiles(): Record<string, unknown> {
    const stamp = path.join(this.dir, 'kubelet-files.sha256');
    const kubeadmConfig = fs.readFileSync(path.join(this.rootfs, 'etc/kubernetes/kubeadm/kubeadm-config.yaml'), 'utf8');
    const want = crypto.createHash('sha256').update(kubeadmConfig).digest('hex');
    const configFile = path.join(this.rootfs, 'var/lib/kubelet/config.yaml');
    const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : '';
    if (have !== want || !fs.existsSync(configFile)) {
      this.log('kubeadm: writing the kubelet configuration (init phase kubelet-start)');
      // In a UTS namespace of its own whose host name is the node name: kubeadm then gives the
      // kubelet no --hostname-override (STIG V-242404).
      this.opts.kubeadm(
        ['init', 'phase', 'kubelet-start'],
        ['unshare', '--uts', '--', '/bin/sh', '-c', 'hostname "$0" && exec "$@"', this.opts.nodeName],
      );
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(stamp, want, { mode: 0o600 });
    }
    return parseYaml(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  }

  /**
   * The kubelet's command line as kubeadm's systemd drop-in gives it: kubeconfig and config
   * flags, then KUBELET_KUBEADM_ARGS from kubeadm-flags.env. Nothing else is added.
   */
  kubeletArgs(): string[] {
    const env = fs.readFileSync(path.join(this.rootfs, 'var/lib/kubelet/kubeadm-flags.env'), 'utf8');
    const m = /^KUBELET_KUBEADM_ARGS="(.*)"$/m.exec(env);
    const extra = m && m[1].trim() ? m[1].trim().split(/\s+/) : [];
    return [
      '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
      '--kubeconfig=/etc/kubernetes/kubelet.conf',
      '--config=/var/lib/kubelet/config.yaml',
      ...extra,
    ];
  }

  private cgroupRoot(config: Record<string, unknown>): string {
    const root = config.cgroupRoot;
    if (typeof root !== 'string' || !/^\/[A-Za-z0-9._-]+$/.test(root)) {
      throw new Error(
        'local node: the KubeletConfiguration must set cgroupRoot to a cgroup of its own (the local target renders /hcb-local-<port>)',
      );
    }
    if (config.cgroupDriver !== 'cgroupfs')
      throw new Error(
        `local node: no systemd here, the kubelet's cgroupDriver must be cgroupfs (is ${String(config.cgroupDriver)})`,
      );
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(this.dir, 'cgroup-root'), root, { mode: 0o600 });
    createCgroup(root);
    return root;
  }

  private readCgroupRoot(): string | undefined {
    try {
      const r = fs.readFileSync(path.join(this.dir, 'cgroup-root'), 'utf8').trim();
      return /^\/[A-Za-z0-9._-]+$/.test(r) ? r : undefined;
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // host kernel settings

  private ensureKernelTunables(): void {
    const saved = path.join(this.dir, 'kernel-tunables.json');
    const original: Record<string, string> = fs.existsSync(saved) ? JSON.parse(fs.readFileSync(saved, 'utf8')) : {};
    let changed = false;
    for (const [key, value] of Object.entries(KUBELET_KERNEL_TUNABLES)) {
      const file = `/proc/sys/${key}`;
      const current = fs.readFileSync(file, 'utf8').trim();
      if (current === value) continue;
      if (!(key in original)) original[key] = current;
      fs.writeFileSync(file, value);
      changed = true;
      this.log(
        `kernel: ${key.replace(/\//g, '.')} ${current} -> ${value} (the kubelet's protectKernelDefaults requires it; restored by down)`,
      );
    }
    if (changed || Object.keys(original).length) writeJson(saved, original);
  }

  /** Puts back what ensureKernelTunables changed, unless another kubelet on this machine still runs. */
  private restoreKernelTunables(): void {
    const saved = path.join(this.dir, 'kernel-tunables.json');
    if (!fs.existsSync(saved)) return;
    if (otherKubeletRunning()) {
      this.log('kernel: another kubelet runs on this machine; kernel settings left as they are');
      return;
    }
    const original = JSON.parse(fs.readFileSync(saved, 'utf8')) as Record<string, string>;
    for (const [key, value] of Object.entries(original)) {
      try {
        fs.writeFileSync(`/proc/sys/${key}`, value);
      } catch (e) {
        this.log(`kernel: could not restore ${key}: ${(e as Error).message}`);
      }
    }
    fs.rmSync(saved, { force: true });
  }

  // ---------------------------------------------------------------------------------------------
  // runtime, images, network

  private installCni(): void {
    const dir = path.join(this.rootfs, 'opt/cni/bin');
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const p of CNI_PLUGINS) {
      const target = fs.realpathSync(path.join(this.opts.binDir, p));
      const link = path.join(dir, p);
      if (fs.existsSync(link) && fs.readlinkSync(link) === target) continue;
      fs.rmSync(link, { force: true });
      fs.symlinkSync(target, link);
    }
  }

  private buildImages(): { pause: BuiltImage; probe: BuiltImage } {
    const programs = buildImagePrograms(undefined, this.log);
    const dir = path.join(this.dir, 'images');
    return {
      pause: buildImage(
        { repository: 'hcb/pause', tag: 'local', binary: programs.pause, entrypoint: ['/pause'], user: '65535:65535' },
        dir,
      ),
      probe: buildImage(
        {
          repository: 'hcb/probe',
          tag: 'local',
          binary: programs.probe,
          entrypoint: ['/probe'],
          user: '65532:65532',
          exposedPorts: ['8080/tcp'],
        },
        dir,
      ),
    };
  }

  private ctr(args: string[], timeoutMs = 60_000): string {
    return this.sandbox.exec(
      [path.join(this.opts.binDir, 'ctr'), '--address', CONTAINERD_SOCKET, '--namespace', 'k8s.io', ...args],
      { timeoutMs },
    );
  }

  private async ctrOk(): Promise<boolean> {
    try {
      this.ctr(['version'], 5_000);
      return true;
    } catch {
      return false;
    }
  }

  private importImages(images: BuiltImage[]): void {
    const have = this.ctr(['images', 'list', '--quiet']).split('\n');
    for (const img of images) {
      if (have.includes(img.ref) && have.includes(img.name)) continue;
      const inside = path.join(SANDBOX_STATE_MOUNT, path.relative(this.stateDir, img.archive));
      this.ctr(['images', 'import', '--digests', '--local', inside], 120_000);
      // The digest reference is what pods and the sandbox configuration name.
      if (!this.ctr(['images', 'list', '--quiet']).split('\n').includes(img.ref)) {
        this.ctr(['images', 'tag', '--force', img.name, img.ref]);
      }
      this.log(`image ${img.ref} imported`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // readiness: CSR approval and the Node object

  private async waitReady(): Promise<void> {
    const timeout = this.opts.readyTimeoutMs ?? 180_000;
    const deadline = Date.now() + timeout;
    let last = '';
    while (Date.now() < deadline) {
      const kubelet = this.readRecord('kubelet');
      if (!kubelet || !this.isAlive(kubelet)) {
        throw new Error(
          `the kubelet exited; last lines of ${this.logFile('kubelet')}:\n${tail(this.logFile('kubelet'), 25)}`,
        );
      }
      await this.approveServingCsrs();
      try {
        const res = await api(this.opts.apiServerUrl, `/api/v1/nodes/${this.opts.nodeName}`, this.opts.adminTls);
        if (res.status === 200) {
          const node = JSON.parse(res.body) as {
            status?: { conditions?: Array<{ type: string; status: string; message?: string }> };
          };
          const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
          if (ready?.status === 'True' && this.servingCertIssued()) {
            this.log(`node ${this.opts.nodeName}: Ready`);
            return;
          }
          last = ready ? `Ready=${ready.status}: ${ready.message ?? ''}` : 'no Ready condition yet';
        } else {
          last = `node not registered yet (HTTP ${res.status})`;
        }
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(1000);
    }
    throw new Error(
      `node ${this.opts.nodeName} not Ready within ${timeout / 1000}s (${last}); see ${this.logFile('kubelet')}:\n${tail(this.logFile('kubelet'), 25)}`,
    );
  }

  /**
   * The two RBAC bindings `kubeadm init` creates for nodes in its bootstrap-token phase (which
   * the local runner does not run: it talks to the advertise address): the API server's
   * kubelet client may use the kubelet API (system:kubelet-api-admin; logs, exec), and nodes'
   * requests to renew their own client certificate are approved (rotateCertificates).
   */
  private async ensureKubeadmNodeBindings(): Promise<void> {
    const bindings = [
      {
        name: 'kubeadm:apiserver-kubelet-client',
        role: 'system:kubelet-api-admin',
        subject: { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kube-apiserver-kubelet-client' },
      },
      {
        name: 'kubeadm:node-autoapprove-certificate-rotation',
        role: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
        subject: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' },
      },
    ];
    for (const b of bindings) {
      const body = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: b.name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: b.role },
        subjects: [b.subject],
      };
      const res = await api(
        this.opts.apiServerUrl,
        '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        this.opts.adminTls,
        'POST',
        JSON.stringify(body),
      );
      if (res.status !== 201 && res.status !== 409)
        throw new Error(`creating ClusterRoleBinding ${b.name} failed: HTTP ${res.status} ${res.body}`);
    }
  }

  private servingCertIssued(): boolean {
    // A symlink whose target is an absolute path inside the node (/var/lib/kubelet/pki/...).
    try {
      return fs.lstatSync(path.join(this.rootfs, 'var/lib/kubelet/pki/kubelet-server-current.pem')).isSymbolicLink();
    } catch {
      return false;
    }
  }

  /**
   * Approves the kubelet's serving-certificate request when it is exactly what this node should
   * get: signer kubernetes.io/kubelet-serving, requested by system:node:<name>, for the node
   * name and the node address only. Anything else stays pending.
   */
  private async approveServingCsrs(): Promise<void> {
    const res = await api(
      this.opts.apiServerUrl,
      '/apis/certificates.k8s.io/v1/certificatesigningrequests',
      this.opts.adminTls,
    );
    if (res.status !== 200) return;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- CSRs as the API returns them, each field checked where it is read
    const list = JSON.parse(res.body) as { items: Array<Record<string, any>> };
    for (const csr of list.items) {
      const conditions = (csr.status?.conditions ?? []) as Array<{ type: string }>;
      if (conditions.length) continue;
      if (
        csr.spec?.signerName !== 'kubernetes.io/kubelet-serving' ||
        csr.spec?.username !== `system:node:${this.opts.nodeName}`
      )
        continue;
      const sans = csrSubjectAltNames(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
      const expected = [`DNS:${this.opts.nodeName}`, `IP Address:${this.network.nodeAddress}`].sort();
      if (JSON.stringify(sans.sort()) !== JSON.stringify(expected)) {
        this.log(`CSR ${csr.metadata.name}: not approved, it asks for ${sans.join(', ')}`);
        continue;
      }
      const body = {
        ...csr,
        status: {
          conditions: [
            {
              type: 'Approved',
              status: 'True',
              reason: 'HcbLocalNode',
              message: `serving certificate of the local node ${this.opts.nodeName} (${this.network.nodeAddress})`,
            },
          ],
        },
      };
      const put = await api(
        this.opts.apiServerUrl,
        `/apis/certificates.k8s.io/v1/certificatesigningrequests/${csr.metadata.name}/approval`,
        this.opts.adminTls,
        'PUT',
        JSON.stringify(body),
      );
      if (put.status === 200)
        this.log(`CSR ${csr.metadata.name}: approved (kubelet serving certificate for ${expected.join(', ')})`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // processes

  private procsCache?: ProcessSupervisor;

  private get procs(): ProcessSupervisor {
    return (this.procsCache ??= new ProcessSupervisor({
      runDir: path.join(this.dir, 'run'),
      logDir: this.logDir,
      binDir: this.opts.binDir,
      log: (l) => this.log(l),
    }));
  }

  private logFile(name: NodeProcess): string {
    return this.procs.logFile(name);
  }

  private readRecord(name: NodeProcess): ProcRecord | undefined {
    return this.procs.readRecord(name);
  }

  private isAlive(rec: ProcRecord): boolean {
    return this.procs.isAlive(rec);
  }

  /** Starts the process unless it runs with the same fingerprint (then a no-op). */
  private ensure(name: NodeProcess, binary: string, args: string[], config: string, inSandbox: boolean): Promise<void> {
    const shown = args[0] === '-e' ? args.slice(2) : args;
    return this.procs.ensure(name, {
      binary,
      args,
      config,
      shown,
      argv: inSandbox ? this.sandbox.enter([binary, ...args]) : undefined,
    });
  }

  private stop(name: NodeProcess): Promise<void> {
    return this.procs.stop(name);
  }

  private async waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await fn()) return;
      await sleep(200);
    }
    throw new Error(`${what} not ready within ${timeoutMs / 1000}s`);
  }

  /**
   * Kills every process in the cluster's cgroup parent (all hierarchies) and, with `remove`,
   * removes the cgroups bottom-up. Bounded: at most 50 rounds.
   */
  private async killCgroup(root: string, remove = false): Promise<void> {
    const dirs = cgroupDirs(root);
    for (let round = 0; round < 50; round++) {
      const pids = new Set<number>();
      for (const d of dirs) for (const p of readPids(d)) pids.add(p);
      if (!pids.size) break;
      for (const p of pids) signal(p, 'SIGKILL');
      await sleep(100);
    }
    if (!remove) return;
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      for (let i = 0; i < 20; i++) {
        try {
          fs.rmdirSync(d);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
          await sleep(100);
        }
      }
    }
    const left = cgroupDirs(root);
    if (left.length) this.log(`cgroups left behind: ${left.join(', ')}`);
  }
}

/** Every directory at or below `root` in each mounted cgroup hierarchy. */
export function cgroupDirs(root: string, base = '/sys/fs/cgroup'): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    out.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  let hierarchies: string[] = [];
  try {
    hierarchies = fs.readdirSync(base).map((h) => path.join(base, h));
  } catch {
    return out;
  }
  for (const h of hierarchies) {
    const d = path.join(h, root);
    if (fs.existsSync(d) && fs.statSync(d).isDirectory()) walk(d);
  }
  return out;
}

/**
 * Creates the kubelet's cgroup parent in every mounted hierarchy (the kubelet requires it to
 * exist). cgroup v1 cpuset children start with no CPUs or memory nodes: they get the parent's.
 */
export function createCgroup(root: string, base = '/sys/fs/cgroup'): void {
  for (const h of fs.readdirSync(base)) {
    const parent = path.join(base, h);
    if (!fs.statSync(parent).isDirectory() || !fs.existsSync(path.join(parent, 'cgroup.procs'))) continue;
    const d = path.join(parent, root);
    if (!fs.existsSync(d)) fs.mkdirSync(d);
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(d, f);
      if (fs.existsSync(own) && !fs.readFileSync(own, 'utf8').trim())
        fs.writeFileSync(own, fs.readFileSync(path.join(parent, f), 'utf8').trim());
    }
  }
}

function readPids(dir: string): number[] {
  for (const f of ['cgroup.procs', 'tasks']) {
    try {
      return fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      /* next */
    }
  }
  return [];
}

function otherKubeletRunning(): boolean {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (path.basename(fs.readlinkSync(`/proc/${entry}/exe`)) === 'kubelet') return true;
    } catch {
      /* not ours to read */
    }
  }
  return false;
}

/** Subject alternative names of a PEM CSR, as openssl prints them ("DNS:x", "IP Address:y"). */
export function csrSubjectAltNames(pem: string): string[] {
  const res = spawnSync('openssl', ['req', '-noout', '-text'], { input: pem, encoding: 'utf8' });
  if (res.status !== 0) return ['(unreadable CSR)'];
  const m = /X509v3 Subject Alternative Name:\s*\n\s*(.+)/.exec(res.stdout);
  return m ? m[1].split(',').map((s) => s.trim()) : [];
}

function writeFile(file: string, content: string, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (existing === content) return;
  fs.writeFileSync(`${file}.tmp`, content, { mode });
  fs.renameSync(`${file}.tmp`, file);
}

function api(
  base: string,
  p: string,
  tls: https.RequestOptions,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(base + p),
      { ...tls, method, timeout: 10_000, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${p}`)));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
