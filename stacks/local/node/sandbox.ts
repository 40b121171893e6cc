/**
 * The local node's own "machine": a network, mount and UTS namespace created by this code and
 * held open by one holder process (`sleep infinity` started through `unshare`). containerd,
 * the kubelet and the node's helpers join all three with `nsenter`.
 *
 * - Network: only loopback and an interface `hcb0` (a veth whose peer stays inside too) with the node address (198.18.0.0/15),
 *   no link to the host's network namespace, no default route: nothing leaves it. The
 *   namespace is also given a name (`ip netns attach`) so it can be inspected with `ip netns`.
 * - Mounts (private to the namespace, gone with it): overlays over /etc, /var and /opt whose
 *   writable layers live in the cluster's state directory, a fresh tmpfs on /run, and bind
 *   mounts of the cluster's private root at the standard paths (/etc/kubernetes,
 *   /var/lib/kubelet, /var/lib/containerd, /var/log/pods, /etc/cni/net.d, /opt/cni/bin), so the
 *   blueprint's KubeletConfiguration (which names /etc/kubernetes/pki/ca.crt, ...) applies as
 *   rendered and nothing is written to the host's own /etc, /var or /run.
 * - UTS: the host name is the node name, so kubeadm gives the kubelet no --hostname-override
 *   (STIG V-242404).
 *
 * Teardown kills every process in the namespaces (found by namespace inode, not by name),
 * removes the name and leaves no mount on the host: the only host mount is the netns name,
 * and `ip netns delete` removes it.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { checkNodeNetwork, NodeNetwork } from './network';

export interface NodeSandboxOptions {
  /** The cluster's private state directory. */
  stateDir: string;
  /** The node name (also the host name inside the sandbox). */
  nodeName: string;
  network: NodeNetwork;
  log?: (line: string) => void;
}

interface HolderRecord {
  pid: number;
  exe: string;
  netns: string;
  netIno: number;
  mntIno: number;
}

/** Where the cluster state directory is visible inside the sandbox (bound before the overlays). */
export const SANDBOX_STATE_MOUNT = '/run/hcb-state';

/** Paths of the cluster's private root bound to the same path inside the sandbox. */
export const SANDBOX_BIND_PATHS = [
  '/etc/kubernetes',
  '/etc/containerd',
  '/var/lib/kubelet',
  '/var/lib/containerd',
  '/var/log/pods',
  '/var/log/containers',
  '/etc/cni/net.d',
  '/opt/cni/bin',
];

export class NodeSandbox {
  readonly stateDir: string;
  readonly rootfs: string;
  readonly dir: string;
  /** Name of the network namespace (`ip netns exec <name> ...`). */
  readonly netnsName: string;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: NodeSandboxOptions) {
    this.stateDir = path.resolve(opts.stateDir);
    this.rootfs = path.join(this.stateDir, 'rootfs');
    this.dir = path.join(this.stateDir, 'node');
    this.netnsName = `hcb-${crypto.createHash('sha256').update(this.stateDir).digest('hex').slice(0, 10)}-node`;
    this.log = opts.log ?? ((line) => process.stderr.write(`[local-node] ${line}\n`));
    checkNodeNetwork(opts.network);
    if (this.stateDir === '/run' || this.stateDir.startsWith('/run/')) {
      throw new Error(
        `local node: the state directory ${this.stateDir} must not be under /run (the node gets its own /run)`,
      );
    }
  }

  /** The holder's pid when the sandbox exists. */
  holderPid(): number | undefined {
    const rec = this.readRecord();
    return rec && this.holderAlive(rec) ? rec.pid : undefined;
  }

  /** Creates the namespaces (a no-op when they exist). */
  async create(): Promise<void> {
    const existing = this.readRecord();
    if (existing && this.holderAlive(existing)) return;
    if (existing) await this.destroy();
    for (const d of [
      'run',
      'overlay/etc/upper',
      'overlay/etc/work',
      'overlay/var/upper',
      'overlay/var/work',
      'overlay/opt/upper',
      'overlay/opt/work',
    ]) {
      fs.mkdirSync(path.join(this.dir, d), { recursive: true, mode: 0o700 });
    }
    for (const p of SANDBOX_BIND_PATHS) fs.mkdirSync(path.join(this.rootfs, p), { recursive: true, mode: 0o755 });
    const ready = path.join(this.dir, 'run', 'holder.ready');
    fs.rmSync(ready, { force: true });
    const logFile = path.join(this.stateDir, 'logs', 'node-sandbox.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(logFile, 'a', 0o600);
    const n = this.opts.network;
    const child = spawn(
      'unshare',
      [
        '--net',
        '--mount',
        '--uts',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        HOLDER_SCRIPT,
        'hcb-node-holder',
        this.stateDir,
        this.opts.nodeName,
        n.nodeAddress,
        String(n.nodePrefix),
        SANDBOX_STATE_MOUNT,
        SANDBOX_BIND_PATHS.join(' '),
      ],
      { detached: true, stdio: ['ignore', fd, fd] },
    );
    fs.closeSync(fd);
    if (child.pid === undefined) throw new Error('local node: could not start the namespace holder (unshare)');
    child.unref();
    const pid = child.pid;
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(ready)) {
      if (!alive(pid) || Date.now() > deadline) {
        signal(pid, 'SIGKILL');
        throw new Error(`local node: setting up the node namespaces failed; see ${logFile}:\n${tail(logFile, 15)}`);
      }
      await sleep(50);
    }
    // The script replaced itself with `sleep infinity` after writing the marker.
    let exe = '';
    for (let i = 0; i < 100 && !/sleep$/.test(exe); i++) {
      exe = readExe(pid);
      if (!/sleep$/.test(exe)) await sleep(20);
    }
    const rec: HolderRecord = {
      pid,
      exe,
      netns: this.netnsName,
      netIno: nsInode(pid, 'net'),
      mntIno: nsInode(pid, 'mnt'),
    };
    writeJson(this.recordPath(), rec);
    fs.mkdirSync('/run/netns', { recursive: true, mode: 0o755 });
    run('ip', ['netns', 'attach', this.netnsName, String(pid)]);
    this.log(`node namespaces ready (holder pid ${pid}, netns ${this.netnsName}, node address ${n.nodeAddress})`);
  }

  /** The command prefix that runs a program inside the sandbox (net, mount and UTS namespaces). */
  enter(args: string[]): string[] {
    const pid = this.holderPid();
    if (!pid) throw new Error('local node: the node namespaces do not exist');
    return ['nsenter', `--target=${pid}`, '--net', '--mount', '--uts', '--', ...args];
  }

  /** Runs a command inside the sandbox and returns its output (throws on failure). */
  exec(args: string[], opts: { timeoutMs?: number; input?: string } = {}): string {
    const [cmd, ...rest] = this.enter(args);
    const res = spawnSync(cmd, rest, {
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 60_000,
      input: opts.input,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (res.status !== 0) {
      throw new Error(
        `in the node: ${args.join(' ')} failed (exit ${res.status ?? res.signal}): ${(res.stderr || res.stdout || '').trim().slice(-2000)}`,
      );
    }
    return res.stdout;
  }

  /** Pids of every process in the node's network or mount namespace (the holder included). */
  processes(): number[] {
    const rec = this.readRecord();
    if (!rec) return [];
    const found: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      const pid = Number(entry);
      if (pid === process.pid) continue;
      try {
        if (nsInode(pid, 'net') === rec.netIno || nsInode(pid, 'mnt') === rec.mntIno) found.push(pid);
      } catch {
        /* gone or not ours to read */
      }
    }
    return found;
  }

  /**
   * Kills every process left in the namespaces (TERM, then KILL after `graceMs`), removes the
   * namespace name. Safe to call on a partial or already removed sandbox.
   */
  async destroy(graceMs = 5_000): Promise<void> {
    const rec = this.readRecord();
    if (rec) {
      let pids = this.processes();
      for (const p of pids) signal(p, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (pids.length && Date.now() < deadline) {
        await sleep(100);
        pids = pids.filter(alive);
      }
      for (let round = 0; round < 20; round++) {
        pids = this.processes();
        if (!pids.length) break;
        for (const p of pids) signal(p, 'SIGKILL');
        await sleep(100);
      }
      if (this.processes().length)
        throw new Error(`local node: processes survive in the node namespaces: ${this.processes().join(', ')}`);
    }
    const name = rec?.netns ?? this.netnsName;
    if (fs.existsSync(`/run/netns/${name}`)) run('ip', ['netns', 'delete', name]);
    fs.rmSync(this.recordPath(), { force: true });
    fs.rmSync(path.join(this.dir, 'run', 'holder.ready'), { force: true });
  }

  private holderAlive(rec: HolderRecord): boolean {
    if (!alive(rec.pid)) return false;
    try {
      return readExe(rec.pid) === rec.exe && nsInode(rec.pid, 'net') === rec.netIno;
    } catch {
      return false;
    }
  }

  private recordPath(): string {
    return path.join(this.dir, 'run', 'holder.json');
  }

  private readRecord(): HolderRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.recordPath(), 'utf8')) as HolderRecord;
    } catch {
      return undefined;
    }
  }
}

/**
 * Runs as `sh -c` inside fresh namespaces. $1 state dir, $2 node name, $3 address, $4 prefix,
 * $5 where the state dir is bound, $6 the paths bound from the private root.
 */
const HOLDER_SCRIPT = `
set -eu
state=$1 name=$2 addr=$3 prefix=$4 smount=$5 binds=$6
node="$state/node"
# The state directory, bound before the overlays so it is the real one even under /var or /etc.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p "$smount"
mount --rbind "$state" "$smount"
for d in etc var opt; do
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$smount/node/overlay/$d/upper,workdir=$smount/node/overlay/$d/work" "/$d"
done
for p in $binds; do
  mkdir -p "$p"
  mount --bind "$smount/rootfs$p" "$p"
done
# The control plane runs as processes started by hcb from kubeadm's manifests; the node's
# kubelet sees an empty, read-only static pod directory so it does not start them a second time.
mkdir -p /etc/kubernetes/manifests
mount -t tmpfs -o ro,mode=0755,nosuid,nodev,size=4k tmpfs /etc/kubernetes/manifests
mkdir -p /run/containerd
hostname "$name"
rm -f /etc/hosts /etc/resolv.conf /etc/hostname
printf '127.0.0.1 localhost\\n%s %s\\n' "$addr" "$name" > /etc/hosts
printf '%s\\n' "$name" > /etc/hostname
printf '# no upstream resolver: nothing leaves this network namespace\\n' > /etc/resolv.conf
ip link set lo up
# The node's interface: one end of a veth pair whose other end stays in this namespace too
# (the kernel here has no dummy driver), so the link has carrier and leads nowhere.
ip link add hcb0 type veth peer name hcb0-end
ip addr add "$addr/$prefix" dev hcb0
ip link set hcb0-end up
ip link set hcb0 up
echo 1 > /proc/sys/net/ipv4/ip_forward
echo ready > "$smount/node/run/holder.ready"
exec sleep infinity
`;

function nsInode(pid: number, ns: 'net' | 'mnt'): number {
  const link = fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
  const m = /\[([0-9]+)\]/.exec(link);
  if (!m) throw new Error(`unexpected namespace link ${link}`);
  return Number(m[1]);
}

function readExe(pid: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return '';
  }
}

export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function run(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (res.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal}): ${(res.stderr || '').trim()}`);
  return res.stdout;
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
