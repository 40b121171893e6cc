/**
 * Services on the local node: kube-proxy (iptables mode) in the node's namespaces, the API
 * server reachable through the `kubernetes` Service, and the CoreDNS image.
 *
 * - kube-proxy runs as a process like the kubelet, with the KubeProxyConfiguration of the
 *   blueprint's kubeadm configuration written to /var/lib/kube-proxy/config.conf (what kubeadm
 *   would put into kube-proxy's ConfigMap). Its identity is a client certificate for the user
 *   `system:kube-proxy`, signed by the cluster CA: the bootstrap ClusterRoleBinding
 *   system:node-proxier gives that user exactly the ClusterRole system:node-proxier (the role
 *   kubeadm binds to its kube-proxy ServiceAccount); never admin.conf.
 * - The API server binds to the host's loopback; it advertises the node address (the
 *   blueprint's serviceAdvertiseAddress), so the `kubernetes` Service's endpoint is
 *   <node address>:<API port>. A second forwarder listens there inside the node namespace and
 *   joins the same unix socket as the kubelet's forwarder: pod → 198.19.0.1:443 → (kube-proxy
 *   DNAT) → 198.18.0.2:<port> → unix socket → API server. TLS stays end to end; kubeadm's
 *   serving certificate names the Service address.
 * - Replies from a pod behind a Service to a client pod on the same bridge are switched, not
 *   routed: bridge-nf-call-iptables=1 in the node namespace lets conntrack undo the DNAT.
 * - The CoreDNS image is the toolchain's coredns binary packed like the pause and probe images
 *   (images.ts); coreDnsImage() gives the same digest to the stack (which renders the add-on
 *   with it) and to the node (which imports it).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments, stringify } from 'yaml';
import { ensureClientKubeconfig } from './client-cert';
import { FORWARDER_SCRIPT } from './forwarder';
import { buildImage, BuiltImage } from './images';
import { NodeNetwork } from './network';
import { ProcessSupervisor, ProcRecord, readExe } from './processes';
import { CONTAINERD_SOCKET } from './runtime-config';
import { alive, NodeSandbox, SANDBOX_STATE_MOUNT, sleep, tail } from './sandbox';

export const KUBE_PROXY_DIR = '/var/lib/kube-proxy';
/** The user kube-proxy authenticates as (bound to system:node-proxier by the bootstrap policy). */
export const KUBE_PROXY_USER = 'system:kube-proxy';

type ServiceProcess = 'kube-proxy' | 'api-forwarder-service';

export interface NodeServicesOptions {
  stateDir: string;
  binDir: string;
  sandbox: NodeSandbox;
  nodeName: string;
  /** The node's network: its address is what the API server advertises (the `kubernetes` Service endpoint). */
  network: NodeNetwork;
  /** API server URL on loopback (its port is the one served inside the node too). */
  apiServerUrl: string;
  log: (line: string) => void;
}

/** The CoreDNS image built from the toolchain's coredns binary (reproducible: same binary, same digest). */
export function coreDnsImage(binDir: string, dir: string): BuiltImage {
  return buildImage(
    {
      repository: 'hcb/coredns',
      tag: 'local',
      binary: fs.realpathSync(path.join(binDir, 'coredns')),
      entrypoint: ['/coredns'],
      user: '65532:65532',
      exposedPorts: ['53/udp', '53/tcp'],
    },
    dir,
  );
}

export class NodeServices {
  readonly stateDir: string;
  readonly rootfs: string;
  private readonly dir: string;
  private readonly logDir: string;

  constructor(private readonly opts: NodeServicesOptions) {
    this.stateDir = path.resolve(opts.stateDir);
    this.rootfs = path.join(this.stateDir, 'rootfs');
    this.dir = path.join(this.stateDir, 'node');
    this.logDir = path.join(this.stateDir, 'logs');
  }

  /** Starts (or keeps) kube-proxy and the Service forwarder; imports the CoreDNS image. Returns the image. */
  async up(): Promise<{ coredns: string }> {
    const image = coreDnsImage(this.opts.binDir, path.join(this.dir, 'images'));
    this.importImage(image);

    const api = new URL(this.opts.apiServerUrl);
    const port = api.port || '443';
    await this.ensure(
      'api-forwarder-service',
      fs.realpathSync(process.execPath),
      [
        '-e',
        FORWARDER_SCRIPT,
        'tcp-to-unix',
        `${this.opts.network.nodeAddress}:${port}`,
        path.join(SANDBOX_STATE_MOUNT, 'node/run/apiserver.sock'),
      ],
      '',
    );

    // Replies of a Service backend to a client on the same bridge must pass conntrack.
    this.opts.sandbox.exec(['sh', '-c', 'echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables']);
    // The node has no default route: its own connections to a ClusterIP need a route before
    // kube-proxy's OUTPUT rules rewrite the destination (pods route through their gateway).
    this.opts.sandbox.exec([
      'ip',
      'route',
      'replace',
      this.opts.network.serviceCidr,
      'dev',
      'hcb0',
      'src',
      this.opts.network.nodeAddress,
    ]);

    const config = this.writeKubeProxyFiles(`https://${api.hostname}:${port}`);
    this.opts.sandbox.exec([
      'sh',
      '-c',
      'mountpoint -q "$1" || { mkdir -p "$1" && mount --bind "$2" "$1"; }',
      'sh',
      KUBE_PROXY_DIR,
      path.join(SANDBOX_STATE_MOUNT, 'rootfs', KUBE_PROXY_DIR),
    ]);
    await this.ensure(
      'kube-proxy',
      path.join(this.opts.binDir, 'kube-proxy'),
      [`--config=${KUBE_PROXY_DIR}/config.conf`],
      config,
    );
    await this.waitKubeProxyHealthy(config);
    return { coredns: image.ref };
  }

  /** Stops what up() started (the node's teardown also removes the namespaces they ran in). */
  async down(): Promise<void> {
    await this.stop('kube-proxy');
    await this.stop('api-forwarder-service');
  }

  status(): Array<{ name: ServiceProcess; pid?: number; running: boolean; log: string }> {
    return (['api-forwarder-service', 'kube-proxy'] as ServiceProcess[]).map((name) => {
      const rec = this.readRecord(name);
      const running = rec !== undefined && this.isAlive(rec);
      return { name, pid: running ? rec!.pid : undefined, running, log: this.logFile(name) };
    });
  }

  // ---------------------------------------------------------------------------------------------
  // kube-proxy's files

  /** The KubeProxyConfiguration of the blueprint's kubeadm configuration. */
  kubeProxyConfiguration(): Record<string, unknown> {
    const text = fs.readFileSync(path.join(this.rootfs, 'etc/kubernetes/kubeadm/kubeadm-config.yaml'), 'utf8');
    const doc = parseAllDocuments(text)
      .map((d) => d.toJS() as Record<string, unknown>)
      .find((d) => d?.kind === 'KubeProxyConfiguration');
    if (!doc)
      throw new Error(
        'local node: the kubeadm configuration has no KubeProxyConfiguration (the blueprint renders one)',
      );
    return doc;
  }

  /**
   * Writes /var/lib/kube-proxy/config.conf (the blueprint's document) and kubeconfig.conf (a
   * client certificate for system:kube-proxy, renewed when it expires within 30 days or the CA
   * changed). Both 0600, directory 0700. Returns the config text (part of the fingerprint).
   */
  private writeKubeProxyFiles(server: string): string {
    const dir = path.join(this.rootfs, KUBE_PROXY_DIR);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    const config = this.kubeProxyConfiguration();
    const kubeconfigPath = (config.clientConnection as { kubeconfig?: string } | undefined)?.kubeconfig;
    if (kubeconfigPath !== `${KUBE_PROXY_DIR}/kubeconfig.conf`) {
      throw new Error(
        `local node: KubeProxyConfiguration clientConnection.kubeconfig must be ${KUBE_PROXY_DIR}/kubeconfig.conf (kubeadm's path), is ${String(kubeconfigPath)}`,
      );
    }
    const configText = `# kube-proxy configuration from the blueprint's kubeadm configuration. Generated by hardened-cluster-blueprint.\n${stringify(config)}`;
    writeIfChanged(path.join(dir, 'config.conf'), configText);

    // The CA stamp of earlier versions; the kubeconfig itself is now checked against the CA.
    fs.rmSync(path.join(dir, 'kubeconfig.ca.sha256'), { force: true });
    const { issued } = ensureClientKubeconfig({
      file: path.join(dir, 'kubeconfig.conf'),
      pkiDir: path.join(this.rootfs, 'etc/kubernetes/pki'),
      id: { user: KUBE_PROXY_USER },
      server,
      context: 'kube-proxy',
      workDir: this.dir,
    });
    if (issued) this.opts.log(`kube-proxy: client certificate for ${KUBE_PROXY_USER} issued by the cluster CA`);
    return configText;
  }

  /** kube-proxy's /healthz answers 200 once it has programmed the rules (503 before). */
  private async waitKubeProxyHealthy(config: string): Promise<void> {
    const healthz = /^healthzBindAddress:\s*(\S+)$/m.exec(config)?.[1] ?? '127.0.0.1:10256';
    const deadline = Date.now() + 60_000;
    let last = '';
    while (Date.now() < deadline) {
      const rec = this.readRecord('kube-proxy');
      if (!rec || !this.isAlive(rec))
        throw new Error(
          `kube-proxy exited; last lines of ${this.logFile('kube-proxy')}:\n${tail(this.logFile('kube-proxy'), 25)}`,
        );
      const res = spawnSync(
        'nsenter',
        [
          `--net=/run/netns/${this.opts.sandbox.netnsName}`,
          '--',
          'curl',
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--max-time',
          '3',
          `http://${healthz}/healthz`,
        ],
        { encoding: 'utf8', timeout: 10_000 },
      );
      if (res.stdout === '200') {
        this.opts.log('kube-proxy: healthy (rules programmed)');
        return;
      }
      last = `healthz: ${res.stdout || res.stderr.trim()}`;
      await sleep(500);
    }
    throw new Error(
      `kube-proxy not healthy within 60s (${last}); see ${this.logFile('kube-proxy')}:\n${tail(this.logFile('kube-proxy'), 25)}`,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // images

  private ctr(args: string[], timeoutMs = 60_000): string {
    return this.opts.sandbox.exec(
      [path.join(this.opts.binDir, 'ctr'), '--address', CONTAINERD_SOCKET, '--namespace', 'k8s.io', ...args],
      { timeoutMs },
    );
  }

  private importImage(img: BuiltImage): void {
    const have = this.ctr(['images', 'list', '--quiet']).split('\n');
    if (have.includes(img.ref) && have.includes(img.name)) return;
    this.ctr(
      [
        'images',
        'import',
        '--digests',
        '--local',
        path.join(SANDBOX_STATE_MOUNT, path.relative(this.stateDir, img.archive)),
      ],
      120_000,
    );
    if (!this.ctr(['images', 'list', '--quiet']).split('\n').includes(img.ref))
      this.ctr(['images', 'tag', '--force', img.name, img.ref]);
    this.opts.log(`image ${img.ref} imported`);
  }

  // ---------------------------------------------------------------------------------------------
  // processes (records next to the node's own, in <state>/node/run)

  private procsCache?: ProcessSupervisor;

  private get procs(): ProcessSupervisor {
    return (this.procsCache ??= new ProcessSupervisor({
      runDir: path.join(this.dir, 'run'),
      logDir: this.logDir,
      binDir: this.opts.binDir,
      log: this.opts.log,
    }));
  }

  private logFile(name: ServiceProcess): string {
    return this.procs.logFile(name);
  }

  private readRecord(name: ServiceProcess): ProcRecord | undefined {
    return this.procs.readRecord(name);
  }

  private isAlive(rec: ProcRecord): boolean {
    return this.procs.isAlive(rec);
  }

  /** Starts the process in the node's namespaces unless it runs with the same fingerprint. */
  private ensure(name: ServiceProcess, binary: string, args: string[], config: string): Promise<void> {
    const shown = name === 'api-forwarder-service' ? args.slice(2) : args;
    return this.procs.ensure(name, { binary, args, config, shown, argv: this.opts.sandbox.enter([binary, ...args]) });
  }

  private stop(name: ServiceProcess): Promise<void> {
    return this.procs.stop(name);
  }
}

/** Whether the node's kube-proxy runs (from its record in <stateDir>/node/run: pid alive, same program). */
export function kubeProxyState(stateDir: string): { running: boolean; message: string } {
  try {
    const rec = JSON.parse(
      fs.readFileSync(path.join(path.resolve(stateDir), 'node/run/kube-proxy.json'), 'utf8'),
    ) as ProcRecord;
    if (alive(rec.pid) && readExe(rec.pid) === rec.exe) {
      return { running: true, message: `kube-proxy (iptables) runs (pid ${rec.pid})` };
    }
    return { running: false, message: `kube-proxy is not running (pid ${rec.pid} gone)` };
  } catch {
    return { running: false, message: 'kube-proxy has not been started' };
  }
}

function writeIfChanged(file: string, content: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) {
    fs.chmodSync(file, 0o600);
    return;
  }
  fs.writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}
