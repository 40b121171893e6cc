/**
 * The embedded default cluster: a hardened control plane running as local processes.
 *
 * From the blueprint's own node files (kubeadm configuration, audit policy, encryption and
 * admission configuration), kubeadm itself renders certificates, kubeconfigs and static pod
 * manifests into a private root directory (`<stateDir>/rootfs`, used as kubeadm's --rootfs).
 * etcd, kube-apiserver and kube-controller-manager are then started as processes on loopback
 * with exactly the command lines of those manifests; only host paths are rewritten to point
 * into the private root. With `node: true` the cluster also gets its node (stacks/local/node):
 * containerd, runc and the kubelet in namespaces of their own; without it there is no kubelet
 * and pods are admitted and stored, never run.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as http from 'http';
import * as path from 'path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { LocalEndpoints } from '../../constructs/blueprint';
import type { NodeFile } from '../../policies/model';
import type { LocalNode, NodeInfo } from './node/node';

/** The components this runner starts, in start order. */
export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface LocalControlPlaneOptions {
  /** Private state directory (certificates, keys, data, logs). Created with mode 0700. */
  stateDir: string;
  /** Directory holding kubeadm, etcd, kube-apiserver and kube-controller-manager. */
  binDir: string;
  /** The blueprint's node files; exactly one must have role 'kubeadm-config'. */
  nodeFiles: NodeFile[];
  /** Progress output; defaults to stderr. */
  log?: (line: string) => void;
  /** How long to wait for each component to become healthy. @default 120000 */
  healthTimeoutMs?: number;
  /**
   * How long `up`/`down` wait for another process holding this state directory's lock (another
   * `hcb cluster up`, or a `pulumi up` of the stack) before giving up. @default 600000
   */
  lockTimeoutMs?: number;
  /**
   * Also run the node (containerd, runc, CNI, kubelet) in network, mount and UTS namespaces of
   * its own (stacks/local/node) and wait until it is Ready. @default false
   */
  node?: boolean;
}

export interface ComponentStatus {
  name: Component;
  pid?: number;
  running: boolean;
  healthy: boolean;
  log: string;
}

export interface NodeStatus {
  name: string;
  /** containerd and the kubelet run and the Node object's Ready condition is True. */
  ready: boolean;
  /** Why not (or the Ready condition's message). */
  message: string;
}

export interface ClusterStatus {
  stateDir: string;
  components: ComponentStatus[];
  /** True when every component runs and answers its health check (and, with options.node, the node is Ready). */
  ready: boolean;
  /** The node, when options.node. */
  node?: NodeStatus;
  apiServerUrl?: string;
  kubeconfigPath?: string;
}

export interface ClusterInfo {
  apiServerUrl: string;
  /** Path of the admin kubeconfig (mode 0600) inside the state directory. */
  kubeconfigPath: string;
  /** The admin kubeconfig itself: secret, never log it. */
  kubeconfig: string;
  /** What GET /version reports, e.g. v1.36.3. */
  serverVersion: string;
  /** True when this call started (or restarted) at least one process. */
  started: boolean;
  /** Set when the node runs (options.node). */
  node?: NodeInfo;
}

interface ProcessRecord {
  pid: number;
  fingerprint: string;
  binary: string;
  args: string[];
  /** The process's start time (field 22 of /proc/<pid>/stat): tells a reused pid apart. */
  startTime?: string;
  /** Which component's record this is (from the record's file name; not stored). */
  component?: Component;
}

interface RenderedComponent {
  name: Component;
  binary: string;
  args: string[];
  fingerprint: string;
}

const SECRET_TOKEN = /\{\{hcb-secret:([a-z0-9][a-z0-9-]{0,62})\}\}/g;
const KUBEADM_CONFIG_ROLE = 'kubeadm-config';
const EGRESS_SELECTOR_ROLE = 'egress-selector-config';

export class LocalControlPlane {
  readonly stateDir: string;
  readonly rootfs: string;
  private readonly runDir: string;
  private readonly logDir: string;
  private readonly secretDir: string;
  private readonly log: (line: string) => void;
  private readonly healthTimeoutMs: number;
  private readonly lockTimeoutMs: number;

  constructor(private readonly opts: LocalControlPlaneOptions) {
    this.stateDir = path.resolve(opts.stateDir);
    this.rootfs = path.join(this.stateDir, 'rootfs');
    this.runDir = path.join(this.stateDir, 'run');
    this.logDir = path.join(this.stateDir, 'logs');
    this.secretDir = path.join(this.stateDir, 'secrets');
    this.log = opts.log ?? ((line) => process.stderr.write(`[local-cluster] ${line}\n`));
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 120_000;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 600_000;
  }

  /** Starts the control plane; a no-op when it already runs with the same configuration. */
  async up(): Promise<ClusterInfo> {
    this.checkBinaries();
    for (const d of [this.stateDir, this.runDir, this.logDir, this.secretDir, this.rootfs]) {
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    }
    fs.chmodSync(this.stateDir, 0o700);
    return this.withLock(async () => {
      const configChanged = this.writeNodeFiles();
      this.renderWithKubeadm(configChanged);
      this.applyKubeadmFileModes();
      const components = this.renderComponents();
      // Components of this state directory that run without a record (a run interrupted between
      // start and record, or a lost run directory) would hold the ports: stop them first.
      await this.stopStrays();
      let started = false;
      for (const c of components) {
        const rec = this.readRecord(c.name);
        const alive = rec !== undefined && this.isAlive(rec);
        if (rec && !alive && fs.existsSync(this.recordPath(c.name))) {
          this.log(
            `${c.name}: not running (pid ${rec.pid} in ${this.recordPath(c.name)} is gone or another program), starting it`,
          );
        }
        if (alive && rec.fingerprint === c.fingerprint) {
          // Same configuration: give it a moment when it is not healthy (e.g. the API server
          // reconnecting to an etcd that was just restarted) before restarting it.
          if ((await this.healthy(c.name)) || (await this.becomesHealthy(rec, c.name, 30_000))) continue;
          this.log(`${c.name}: running (pid ${rec.pid}) but not healthy for 30s, restarting`);
          await this.stopOne(c.name);
        } else if (alive) {
          this.log(`${c.name}: configuration changed, restarting`);
          await this.stopOne(c.name);
        }
        this.startOne(c);
        started = true;
        await this.waitHealthy(c.name);
        this.log(`${c.name}: healthy`);
        if (c.name === 'kube-apiserver') await this.ensureAdminBinding();
      }
      if (!started) {
        // Nothing was started: still make sure the admin binding exists (it is idempotent).
        await this.ensureAdminBinding();
      }
      // A component that died while a later one was starting is named here, not hidden.
      await this.assertAllRunning('after start-up');
      const info = await this.info(started);
      if (!started) this.log(`already running: ${info.apiServerUrl} (${info.serverVersion})`);
      if (this.opts.node) info.node = await this.localNode().up();
      else if (fs.existsSync(path.join(this.stateDir, 'node', 'run'))) {
        // The stack no longer wants a node: stop the one a previous up started.
        this.log('node: not wanted any more, stopping it');
        await this.localNode().down({ purge: true });
      }
      return info;
    });
  }

  /** Stops every process; with purge, also deletes data, certificates and keys. */
  async down(options: { purge?: boolean } = {}): Promise<void> {
    if (!fs.existsSync(this.stateDir)) return;
    await this.withLock(async () => {
      // The node goes first (whether or not this runner was asked to start one: it may have been).
      if (fs.existsSync(path.join(this.stateDir, 'node'))) await this.localNode().down({ purge: options.purge });
      for (const name of [...COMPONENTS].reverse()) {
        await this.stopOne(name);
      }
      await this.stopStrays();
      if (options.purge) {
        for (const d of [this.rootfs, this.runDir, this.secretDir]) {
          fs.rmSync(d, { recursive: true, force: true });
        }
        this.log(`purged ${this.stateDir} (logs kept in ${this.logDir})`);
      }
    });
  }

  async status(): Promise<ClusterStatus> {
    const components: ComponentStatus[] = [];
    for (const name of this.components()) {
      const rec = this.readRecord(name);
      const running = rec !== undefined && this.isAlive(rec);
      components.push({
        name,
        pid: running ? rec!.pid : undefined,
        running,
        healthy: running ? await this.healthy(name) : false,
        log: path.join(this.logDir, `${name}.log`),
      });
    }
    const kubeconfigPath = this.adminKubeconfigPath();
    const exists = fs.existsSync(kubeconfigPath);
    const controlPlaneReady = components.every((c) => c.healthy);
    let node: NodeStatus | undefined;
    if (this.opts.node) {
      node =
        controlPlaneReady && exists
          ? await this.localNode().ready()
          : { name: this.nodeName() ?? '', ready: false, message: 'the control plane is not ready' };
    }
    return {
      stateDir: this.stateDir,
      components,
      ready: controlPlaneReady && (node?.ready ?? true),
      ...(node ? { node } : {}),
      apiServerUrl: exists ? this.apiServerUrl() : undefined,
      kubeconfigPath: exists ? kubeconfigPath : undefined,
    };
  }

  /** The components to run: all of them (the toolchain builds kube-scheduler like the rest). */
  private components(_strict = false): Component[] {
    return [...COMPONENTS];
  }

  adminKubeconfigPath(): string {
    return path.join(this.rootfs, 'etc/kubernetes/admin.conf');
  }

  /** The node of this cluster (stacks/local/node), whether or not it runs. */
  localNode(): LocalNode {
    // Loaded on demand: the node module is only needed when a node runs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LocalNode: NodeClass } = require('./node/node') as typeof import('./node/node');
    const nodeName = this.nodeName();
    if (!nodeName) throw new Error('local node: the kubeadm InitConfiguration names no node (nodeRegistration.name)');
    return new NodeClass({
      stateDir: this.stateDir,
      binDir: this.opts.binDir,
      nodeName,
      apiServerUrl: fs.existsSync(this.adminKubeconfigPath()) ? this.apiServerUrl() : 'https://127.0.0.1',
      adminTls: fs.existsSync(this.adminKubeconfigPath()) ? this.adminTls() : {},
      kubeadm: (args, wrap) => this.kubeadm(args, wrap),
      clusterEgressSocket: this.clusterEgressSocket(),
      applyFileModes: () => this.applyKubeadmFileModes(),
      log: this.opts.log,
    });
  }

  /** The node name the blueprint gives (undefined when its node files name none). */
  nodeNameOrUndefined(): string | undefined {
    try {
      return this.nodeName();
    } catch {
      return undefined;
    }
  }

  /** The node name of the kubeadm InitConfiguration (nodeRegistration.name). */
  private nodeName(): string | undefined {
    const init = parseAllDocuments(this.kubeadmConfig().content ?? '')
      .map((d) => d.toJS() as { kind?: string; nodeRegistration?: { name?: string } })
      .find((d) => d?.kind === 'InitConfiguration');
    return init?.nodeRegistration?.name;
  }

  // ---------------------------------------------------------------------------------------------
  // node files and kubeadm

  private kubeadmConfig(): NodeFile {
    const configs = this.opts.nodeFiles.filter((f) => f.role === KUBEADM_CONFIG_ROLE);
    if (configs.length !== 1 || !configs[0].content) {
      throw new Error(
        `local control plane: expected exactly one node file with role "${KUBEADM_CONFIG_ROLE}" and content, found ${configs.length}. ` +
          'Pass HardenedControlPlane.nodeFiles.',
      );
    }
    return configs[0];
  }

  /** Writes the blueprint's files under the private root; returns true when any changed. */
  private writeNodeFiles(): boolean {
    this.kubeadmConfig();
    let changed = false;
    const owned = this.opts.nodeFiles.filter((f) => f.createdBy === 'blueprint' && f.content !== undefined);
    for (const f of owned) {
      const target = this.hostPath(f.path);
      const content = this.localize(f, this.materialize(f.content!));
      const existing = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
      if (existing !== content) {
        writeFileAtomic(target, content, f.mode);
        changed = true;
      } else {
        fs.chmodSync(target, f.mode);
      }
    }
    return changed;
  }

  /**
   * Paths inside a configuration file the API server reads, turned into host paths like its
   * command line's: the EgressSelectorConfiguration's proxy socket (udsName) lies under the
   * private root (the node's sandbox sees the same directory at the node path).
   */
  private localize(f: NodeFile, content: string): string {
    if (f.role !== EGRESS_SELECTOR_ROLE) return content;
    return content.replace(/^([ \t]*udsName:[ \t]*)(\/\S+)[ \t]*$/gm, (_m, prefix: string, socket: string) => {
      const host = this.hostPath(socket);
      if (Buffer.byteLength(host) > 107) {
        throw new Error(
          `local control plane: the cluster egress socket ${host} is longer than a unix socket path may be (107 bytes); use a shorter state directory`,
        );
      }
      return `${prefix}${host}`;
    });
  }

  /** The node path of the cluster egress proxy's socket the blueprint asks for (EgressSelectorConfiguration udsName), if any. */
  clusterEgressSocket(): string | undefined {
    const file = this.opts.nodeFiles.find((f) => f.role === EGRESS_SELECTOR_ROLE && f.createdBy === 'blueprint');
    const cfg = file?.content
      ? (parseYaml(file.content) as {
          egressSelections?: Array<{
            name?: string;
            connection?: { proxyProtocol?: string; transport?: { uds?: { udsName?: string } } };
          }>;
        })
      : undefined;
    const cluster = cfg?.egressSelections?.find((e) => e.name?.toLowerCase() === 'cluster');
    if (!cluster) return undefined;
    const socket = cluster.connection?.transport?.uds?.udsName;
    if (cluster.connection?.proxyProtocol !== 'HTTPConnect' || !socket?.startsWith('/')) {
      // Not thrown: down() needs the node too. The API server then has no way to the kubelet.
      this.log(
        `the EgressSelectorConfiguration's cluster egress is ${JSON.stringify(cluster.connection)}; the local node serves only HTTPConnect over a unix socket, so the API server will not reach the kubelet`,
      );
      return undefined;
    }
    return socket;
  }

  /** Replaces {{hcb-secret:NAME}} tokens with keys kept in the private secrets directory. */
  private materialize(content: string): string {
    return content.replace(SECRET_TOKEN, (_m, name: string) => {
      const file = path.join(this.secretDir, name);
      if (!fs.existsSync(file)) {
        writeFileAtomic(file, crypto.randomBytes(32).toString('base64'), 0o600);
      }
      return fs.readFileSync(file, 'utf8').trim();
    });
  }

  /**
   * kubeadm writes certificates 0644 and keys 0600; the blueprint's node file manifest may ask for
   * stricter modes (CCN-STIC table 3: .crt 0640, .key 0400). Apply the manifest's mode to every
   * file kubeadm created, so what runs is what the manifest says.
   */
  private applyKubeadmFileModes(): void {
    for (const f of this.opts.nodeFiles.filter((x) => x.createdBy === 'kubeadm')) {
      const p = this.hostPath(f.path);
      try {
        if ((fs.statSync(p).mode & 0o7777) !== f.mode) fs.chmodSync(p, f.mode);
      } catch {
        /* not there (yet): nothing to tighten */
      }
    }
  }

  private renderWithKubeadm(configChanged: boolean): void {
    const manifests = path.join(this.rootfs, 'etc/kubernetes/manifests');
    const haveManifests = COMPONENTS.every((c) => fs.existsSync(path.join(manifests, `${c}.yaml`)));
    if (haveManifests && !configChanged) return;
    if (configChanged && haveManifests) {
      // Endpoints or names may have changed: kubeadm refuses to reuse kubeconfigs that point
      // elsewhere, so let it write them again (certificates are kept and reused).
      for (const f of ['admin.conf', 'super-admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf']) {
        fs.rmSync(path.join(this.rootfs, 'etc/kubernetes', f), { force: true });
      }
    }
    this.log('kubeadm: rendering certificates, kubeconfigs and static pod manifests');
    // kubeadm runs chrooted into the private root (--rootfs). It picks the advertise address
    // from the host's routing table, which it reads from /proc: give it a copy of the table.
    fs.mkdirSync(path.join(this.rootfs, 'proc/net'), { recursive: true, mode: 0o755 });
    // (read and write: /proc files report size 0, so a plain copy would be empty)
    for (const table of ['route', 'ipv6_route']) {
      const src = `/proc/net/${table}`;
      if (fs.existsSync(src)) fs.writeFileSync(path.join(this.rootfs, 'proc/net', table), fs.readFileSync(src));
    }
    this.kubeadm(['init', 'phase', 'certs', 'all']);
    this.kubeadm(['init', 'phase', 'kubeconfig', 'all']);
    this.kubeadm(['init', 'phase', 'control-plane', 'all']);
    this.kubeadm(['init', 'phase', 'etcd', 'local']);
    this.pointKubeconfigsAtBindAddress();
  }

  /**
   * kubeadm points the controller manager's, scheduler's and kubelet's kubeconfigs at the node's advertise
   * address. When the blueprint binds the API server to loopback (the local target), nothing
   * listens there, so those kubeconfigs are pointed at the address the API server binds.
   */
  private pointKubeconfigsAtBindAddress(): void {
    const manifest = path.join(this.rootfs, 'etc/kubernetes/manifests/kube-apiserver.yaml');
    const pod = parseYaml(fs.readFileSync(manifest, 'utf8')) as StaticPod;
    const args = pod.spec.containers[0].command;
    const bind = flag(args, 'bind-address');
    const port = flag(args, 'secure-port') ?? '6443';
    if (!bind || !/^127\./.test(bind)) return;
    // kubelet.conf too: the node's kubelet reaches the API server through a forwarder that
    // listens on the same loopback address and port inside the node's network namespace.
    for (const f of ['controller-manager.conf', 'scheduler.conf', 'kubelet.conf']) {
      const file = path.join(this.rootfs, 'etc/kubernetes', f);
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      const next = text.replace(/^(\s*server:\s*)https:\/\/\S+$/m, `$1https://${bind}:${port}`);
      if (next !== text) writeFileAtomic(file, next, fs.statSync(file).mode & 0o777);
    }
  }

  /** Runs kubeadm chrooted into the private root; `wrap` is a command prefix (e.g. unshare). */
  private kubeadm(args: string[], wrap: string[] = []): string {
    const config = this.kubeadmConfig().path;
    const full = [...args, '--config', config, '--rootfs', this.rootfs];
    const [cmd, ...cmdArgs] = [...wrap, path.join(this.opts.binDir, 'kubeadm'), ...full];
    const res = spawnSync(cmd, cmdArgs, {
      encoding: 'utf8',
      env: { ...process.env, KUBECONFIG: '' },
      timeout: 120_000,
    });
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
    fs.appendFileSync(path.join(this.logDir, 'kubeadm.log'), `$ kubeadm ${full.join(' ')}\n${out}\n`, { mode: 0o600 });
    if (res.status !== 0) {
      throw new Error(
        `kubeadm ${args.join(' ')} failed (exit ${res.status ?? res.signal}):\n${out.trim().split('\n').slice(-15).join('\n')}`,
      );
    }
    return out;
  }

  /** Reads kubeadm's static pod manifests and turns them into local command lines. */
  private renderComponents(): RenderedComponent[] {
    const nodeFilesHash = sha256(
      JSON.stringify(
        this.opts.nodeFiles.filter((f) => f.createdBy === 'blueprint').map((f) => [f.path, f.content ?? '', f.mode]),
      ),
    );
    return this.components().map((name) => {
      const file = path.join(this.rootfs, 'etc/kubernetes/manifests', `${name}.yaml`);
      const pod = parseYaml(fs.readFileSync(file, 'utf8')) as StaticPod;
      const container = pod.spec.containers[0];
      const [command, ...rest] = container.command;
      const mounts = mountTable(pod);
      const args = rest.map((a) => this.rewriteArg(a, mounts));
      for (const dir of hostDirectories(pod)) fs.mkdirSync(this.hostPath(dir), { recursive: true, mode: 0o700 });
      // The API server reads the blueprint's files, so their content is part of its fingerprint.
      const fingerprint = sha256(
        JSON.stringify({ command, args, files: name === 'kube-apiserver' ? nodeFilesHash : '' }),
      );
      return { name, binary: path.join(this.opts.binDir, path.basename(command)), args, fingerprint };
    });
  }

  /** Rewrites `--flag=/path,...` values whose paths are host paths mounted into the pod. */
  private rewriteArg(arg: string, mounts: Array<[string, string]>): string {
    const m = /^(--[^=]+=)(.*)$/.exec(arg);
    if (!m) return arg;
    const values = m[2].split(',').map((v) => {
      if (!v.startsWith('/')) return v;
      for (const [mountPath, hostPath] of mounts) {
        if (v === mountPath || v.startsWith(mountPath.endsWith('/') ? mountPath : `${mountPath}/`)) {
          return this.hostPath(hostPath + v.slice(mountPath.length));
        }
      }
      return v;
    });
    return m[1] + values.join(',');
  }

  private hostPath(p: string): string {
    return path.join(this.rootfs, p);
  }

  // ---------------------------------------------------------------------------------------------
  // processes

  private startOne(c: RenderedComponent): void {
    const logFile = path.join(this.logDir, `${c.name}.log`);
    const fd = fs.openSync(logFile, 'a', 0o600);
    fs.writeSync(fd, `\n=== ${c.name} starting: ${c.binary} ${c.args.join(' ')}\n`);
    const child = spawn(c.binary, c.args, { detached: true, stdio: ['ignore', fd, fd], cwd: this.stateDir });
    fs.closeSync(fd);
    if (child.pid === undefined) throw new Error(`${c.name}: could not start ${c.binary}`);
    child.unref();
    const rec: ProcessRecord = {
      pid: child.pid,
      fingerprint: c.fingerprint,
      binary: c.binary,
      args: c.args,
      startTime: processStartTime(child.pid),
    };
    writeFileAtomic(this.recordPath(c.name), `${JSON.stringify(rec, null, 2)}\n`, 0o600);
    this.log(`${c.name}: started (pid ${child.pid}, log ${logFile})`);
  }

  private async stopOne(name: Component): Promise<void> {
    const rec = this.readRecord(name);
    if (!rec) return;
    if (this.isAlive(rec)) {
      this.log(`${name}: stopping (pid ${rec.pid})`);
      signal(rec.pid, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (this.isAlive(rec) && Date.now() < deadline) await sleep(100);
      if (this.isAlive(rec)) {
        signal(rec.pid, 'SIGKILL');
        while (this.isAlive(rec)) await sleep(50);
      }
    }
    fs.rmSync(this.recordPath(name), { force: true });
  }

  /**
   * Whether the recorded process still runs. A pid file can outlive its process (machine
   * restarted, process killed) and the pid can be reused: the process must be our binary with
   * exactly the recorded command line, started at the recorded time, and not a zombie. Anything
   * else is another program, which is never signalled.
   */
  private isAlive(rec: ProcessRecord): boolean {
    if (!Number.isInteger(rec.pid) || rec.pid <= 1) return false;
    try {
      process.kill(rec.pid, 0);
    } catch {
      return false;
    }
    try {
      const stat = fs.readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) return false;
      if (rec.startTime !== undefined && processStartTime(rec.pid) !== rec.startTime) return false;
      const exe = fs.readlinkSync(`/proc/${rec.pid}/exe`).replace(/ \(deleted\)$/, '');
      if (exe !== rec.binary && exe !== realpath(rec.binary)) return false;
      // A record naming another program than its component's binary is not ours either.
      if (rec.component !== undefined && path.basename(exe) !== rec.component) return false;
      const argv = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
      return JSON.stringify(argv) === JSON.stringify(rec.args ?? []);
    } catch {
      return false;
    }
  }

  /**
   * Control-plane processes started from this state directory (their working directory) that no
   * record names. Only our component binaries count: a process qualifies by its executable's name
   * and its working directory, which is this private (0700) directory.
   */
  private strays(): Array<{ pid: number; name: string }> {
    const recorded = new Set(
      COMPONENTS.map((n) => this.readRecord(n))
        .filter((r): r is ProcessRecord => r !== undefined && this.isAlive(r))
        .map((r) => r.pid),
    );
    const found: Array<{ pid: number; name: string }> = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      if (pid === process.pid || recorded.has(pid)) continue;
      try {
        if (fs.readlinkSync(`/proc/${pid}/cwd`) !== this.stateDir) continue;
        const name = path.basename(fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ''));
        if (
          (COMPONENTS as readonly string[]).includes(name) &&
          !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
        )
          found.push({ pid, name });
      } catch {
        /* gone, or not ours to read */
      }
    }
    return found;
  }

  private async stopStrays(): Promise<void> {
    for (const s of this.strays()) {
      this.log(
        `${s.name}: pid ${s.pid} runs from this state directory without a record (left by an interrupted run), stopping it`,
      );
      const startTime = processStartTime(s.pid);
      const same = () => processStartTime(s.pid) === startTime && startTime !== undefined;
      signal(s.pid, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (same() && Date.now() < deadline) await sleep(100);
      if (same()) signal(s.pid, 'SIGKILL');
      const hard = Date.now() + 5_000;
      while (same() && Date.now() < hard) await sleep(50);
    }
  }

  /** Throws, naming each component that is not running (with the end of its log). */
  private async assertAllRunning(when: string): Promise<void> {
    const dead = COMPONENTS.filter((n) => {
      const r = this.readRecord(n);
      return !r || !this.isAlive(r);
    });
    if (!dead.length) return;
    throw new Error(this.diedMessage(dead, when));
  }

  private diedMessage(dead: readonly Component[], when: string): string {
    const parts = dead.map((n) => {
      const log = path.join(this.logDir, `${n}.log`);
      return `${n} is not running any more (${when}); last lines of ${log}:\n${tail(log, 8)}`;
    });
    return `local control plane: ${parts.join('\n')}\nRun the same command again: up restarts what stopped.`;
  }

  private recordPath(name: Component): string {
    return path.join(this.runDir, `${name}.json`);
  }

  private readRecord(name: Component): ProcessRecord | undefined {
    try {
      const rec = JSON.parse(fs.readFileSync(this.recordPath(name), 'utf8')) as ProcessRecord;
      return rec && typeof rec === 'object' ? { ...rec, component: name } : undefined;
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // health

  private async waitHealthy(name: Component): Promise<void> {
    const deadline = Date.now() + this.healthTimeoutMs;
    const rec = this.readRecord(name);
    // The components started before this one (it depends on them): one that dies now is named.
    const before = COMPONENTS.slice(0, COMPONENTS.indexOf(name));
    while (Date.now() < deadline) {
      if (rec && !this.isAlive(rec)) {
        throw new Error(
          `${name} exited during start-up; last lines of ${path.join(this.logDir, `${name}.log`)}:\n${tail(path.join(this.logDir, `${name}.log`), 20)}`,
        );
      }
      const dead = before.filter((n) => {
        const r = this.readRecord(n);
        return !r || !this.isAlive(r);
      });
      if (dead.length) throw new Error(this.diedMessage(dead, `while ${name} was starting`));
      if (await this.healthy(name)) return;
      await sleep(250);
    }
    throw new Error(
      `${name} did not become healthy within ${this.healthTimeoutMs / 1000}s; see ${path.join(this.logDir, `${name}.log`)}`,
    );
  }

  /** Polls a running process's health for up to `ms`; false as soon as it exits. */
  private async becomesHealthy(rec: ProcessRecord, name: Component, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.isAlive(rec)) {
      if (await this.healthy(name)) return true;
      await sleep(500);
    }
    return false;
  }

  private async healthy(name: Component): Promise<boolean> {
    try {
      const rec = this.readRecord(name);
      if (!rec) return false;
      if (name === 'etcd') {
        const url = flag(rec.args, 'listen-metrics-urls')?.split(',')[0];
        if (!url) return false;
        const res = await request(`${url}/health`, {});
        return res.status === 200 && /"health":\s*"true"/.test(res.body);
      }
      if (name === 'kube-apiserver') {
        const res = await request(`${this.apiServerUrl()}/readyz`, this.adminTls());
        return res.status === 200;
      }
      const port = flag(rec.args, 'secure-port') ?? '10257';
      const host = flag(rec.args, 'bind-address') ?? '127.0.0.1';
      // The controller manager serves with a self-signed certificate; /healthz is always allowed.
      const res = await request(`https://${host}:${port}/healthz`, { rejectUnauthorized: false });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /**
   * kubeadm's admin.conf identity is in the group kubeadm:cluster-admins, which `kubeadm init`
   * binds to cluster-admin using the super-admin (system:masters) identity. kubeadm's own phase
   * for this talks to the advertise address, where nothing listens here (the API server binds
   * loopback only), so the same binding is created here through the loopback endpoint.
   */
  private async ensureAdminBinding(): Promise<void> {
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:cluster-admins' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
    };
    const superAdmin = path.join(this.rootfs, 'etc/kubernetes/super-admin.conf');
    const res = await retryTransient(() =>
      request(
        `${this.apiServerUrl()}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings`,
        kubeconfigTls(fs.readFileSync(superAdmin, 'utf8')),
        'POST',
        JSON.stringify(binding),
      ),
    );
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`creating ClusterRoleBinding kubeadm:cluster-admins failed: HTTP ${res.status} ${res.body}`);
    }
  }

  private apiServerUrl(): string {
    const kc = parseYaml(fs.readFileSync(this.adminKubeconfigPath(), 'utf8')) as Kubeconfig;
    return kc.clusters[0].cluster.server;
  }

  /** TLS options for the admin identity, from the admin kubeconfig. */
  adminTls(): https.RequestOptions {
    return kubeconfigTls(fs.readFileSync(this.adminKubeconfigPath(), 'utf8'));
  }

  private async info(started: boolean): Promise<ClusterInfo> {
    const apiServerUrl = this.apiServerUrl();
    const res = await retryTransient(() => request(`${apiServerUrl}/version`, this.adminTls()));
    const serverVersion = (JSON.parse(res.body) as { gitVersion: string }).gitVersion;
    const kubeconfigPath = this.adminKubeconfigPath();
    return {
      apiServerUrl,
      kubeconfigPath,
      kubeconfig: fs.readFileSync(kubeconfigPath, 'utf8'),
      serverVersion,
      started,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private checkBinaries(): void {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new Error(
        'the local control plane needs root: kubeadm renders it chrooted into the private state directory (--rootfs). ' +
          'Run as root, or use the existing target against a cluster you already have.',
      );
    }
    const missing = ['kubeadm', ...this.components(true)].filter((b) => !fs.existsSync(path.join(this.opts.binDir, b)));
    if (missing.length) {
      throw new Error(`missing binaries in ${this.opts.binDir}: ${missing.join(', ')}. Run: npm run toolchain`);
    }
  }

  /**
   * One process at a time per state directory (`up`, `down`; `hcb cluster` and the stack's
   * provider alike). The lock is the kernel's (flock(2) on `<stateDir>/lock`, taken through
   * flock(1) on a descriptor this process keeps open), so it ends with its holder: a lock file
   * left by a dead process, or naming a pid that now belongs to another program, is not held and
   * is taken over. The file names the holder (pid, start time, command) for the waiting message.
   */
  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = path.join(this.stateDir, 'lock');
    // (an earlier version created the lock file exclusively and removed it; its content is only informative)
    const fd = fs.openSync(lock, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      const deadline = Date.now() + this.lockTimeoutMs;
      let told = false;
      while (!tryFlock(fd, lock)) {
        const holder = describeHolder(lock);
        if (Date.now() > deadline) {
          throw new Error(
            `the state directory ${this.stateDir} is in use by ${holder}; gave up after waiting ${Math.round(this.lockTimeoutMs / 1000)}s. Wait for it to finish (or stop it), then run the command again.`,
          );
        }
        if (!told) {
          this.log(
            `waiting for ${holder}, which is using ${this.stateDir} (lock ${lock}; up to ${Math.round(this.lockTimeoutMs / 1000)}s)`,
          );
          told = true;
        }
        await sleep(500);
      }
      if (told) this.log(`lock ${lock} acquired`);
      const holder = {
        pid: process.pid,
        startTime: processStartTime(process.pid),
        command: process.argv.slice(1).join(' ').slice(0, 300),
      };
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
      try {
        return await fn();
      } finally {
        try {
          fs.ftruncateSync(fd, 0);
        } catch {
          /* informative only */
        }
      }
    } finally {
      // Closing the last descriptor releases the kernel lock.
      fs.closeSync(fd);
    }
  }
}

/** flock(2) LOCK_EX|LOCK_NB on `fd`, through flock(1) on the inherited descriptor (the lock belongs to the open file, which stays open here). */
function tryFlock(fd: number, file: string): boolean {
  const res = spawnSync('flock', ['--nonblock', '--exclusive', '3'], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (res.status === 0) return true;
  if (res.status === 1) return false;
  throw new Error(
    `cannot lock ${file} with flock(1) (util-linux): ${res.error?.message ?? res.stderr ?? `exit ${res.status}`}`,
  );
}

/** Who holds a state directory lock, from the lock file (for messages only). */
function describeHolder(lock: string): string {
  try {
    const h = JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid?: number; command?: string };
    if (h.pid) return `pid ${h.pid}${h.command ? ` (${h.command.slice(0, 120)})` : ''}`;
  } catch {
    /* being written, or empty */
  }
  return 'another process';
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined when gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

// -----------------------------------------------------------------------------------------------
// helpers

interface StaticPod {
  spec: {
    containers: Array<{ command: string[]; volumeMounts?: Array<{ name: string; mountPath: string }> }>;
    volumes?: Array<{ name: string; hostPath?: { path: string; type?: string } }>;
  };
}

interface Kubeconfig {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
}

/** [mountPath, hostPath] pairs, longest mount path first. */
function mountTable(pod: StaticPod): Array<[string, string]> {
  const byName = new Map((pod.spec.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
  const pairs: Array<[string, string]> = [];
  for (const m of pod.spec.containers[0].volumeMounts ?? []) {
    const host = byName.get(m.name);
    if (host) pairs.push([m.mountPath.replace(/\/$/, '') || '/', host.replace(/\/$/, '') || '/']);
  }
  return pairs.sort((a, b) => b[0].length - a[0].length);
}

/** Host directories a pod expects to exist (DirectoryOrCreate volumes and parents of files). */
function hostDirectories(pod: StaticPod): string[] {
  const dirs: string[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (!v.hostPath) continue;
    const t = v.hostPath.type ?? '';
    dirs.push(t === 'File' || t === 'FileOrCreate' ? path.dirname(v.hostPath.path) : v.hostPath.path);
  }
  return dirs;
}

/** TLS client options (CA, client certificate and key) from a kubeconfig with embedded data. */
/** The six loopback ports of a local control plane, from a base port up (base .. base + 5). */
export function localEndpointsFrom(base: number): LocalEndpoints {
  return {
    apiServerPort: base,
    etcdClientPort: base + 1,
    etcdPeerPort: base + 2,
    etcdMetricsPort: base + 3,
    controllerManagerPort: base + 4,
    schedulerPort: base + 5,
  };
}

export function kubeconfigTls(kubeconfig: string): https.RequestOptions {
  const kc = parseYaml(kubeconfig) as Kubeconfig;
  const user = kc.users[0].user;
  return {
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(user['client-certificate-data'], 'base64'),
    key: Buffer.from(user['client-key-data'], 'base64'),
  };
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function flag(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

function writeFileAtomic(file: string, content: string, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Retries a request that failed at the connection (timeout, reset, refused) or got a 5xx, for up
 * to 30 s: a loaded machine can make a just-ready API server answer slowly. Other answers return.
 */
async function retryTransient(fn: () => Promise<HttpResult>, ms = 30_000): Promise<HttpResult> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fn();
      if (res.status < 500 || Date.now() > deadline) return res;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await sleep(1000);
  }
}

export interface HttpResult {
  status: number;
  body: string;
}

/** A small HTTPS/HTTP GET with a 5 s timeout. */
export function request(url: string, tls: https.RequestOptions, method = 'GET', body?: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      // agent: false — a connection per request: Node's global agent keeps sockets alive, and one the
      // API server closed while idle (e.g. during a long pulumi up) fails the next request with "socket hang up".
      { agent: false, ...tls, method, timeout: 5000, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** Parses a multi-document YAML string into plain objects (empty documents dropped). */
export function parseDocuments(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined);
}
