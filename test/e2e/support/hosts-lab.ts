/**
 * A lab of "hosts" for the hosts target's tests, made on this machine from namespaces this code
 * creates (like stacks/local/node/sandbox.ts):
 *
 *   lab netns (holder: unshare --net)          bridge hcblab0, 198.18.2.1/24
 *     ├─ veth ─ host 1 (net+mount+UTS netns)   eth0 198.18.2.11/24, sshd on :22, host name = name
 *     ├─ veth ─ host 2                         eth0 198.18.2.12/24, ...
 *
 * Each host has its own /etc, /var, /opt and /root (overlays whose writable layers are in the lab
 * directory), a fresh /run and /tmp, and a real sshd from Debian's openssh-server with a host key
 * generated here (so the test knows the key to pin) and one authorised client key. The test process
 * stays in the machine's own network namespace and reaches each sshd without any 198.18 address
 * there:
 *
 *   127.0.0.1:<port> (this process) ─▶ <lab>/hosts/<name>/ssh.sock ─▶ forwarder in the lab netns
 *   (unix-to-tcp, stacks/local/node/forwarder.ts) ─▶ 198.18.2.x:22 across the bridge ─▶ sshd
 *
 * Only addresses of 198.18.2.0/24 are configured, only inside the lab's namespaces. `destroy()`
 * kills every process in the lab's namespaces (found by namespace inode), closes the loopback
 * listeners and removes the lab directory: no process, namespace, interface or mount is left.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { FORWARDER_SCRIPT } from '../../../stacks/local/node/forwarder';
import { alive, signal, sleep } from '../../../stacks/local/node/sandbox';
import { insideReservedRange } from '../../../stacks/local/node/network';

export const LAB_SUBNET = '198.18.2.0/24';
const LAB_PREFIX = 24;

export interface LabHost {
  name: string;
  /** The host's address inside the lab (198.18.2.x). */
  address: string;
  /** Loopback port in this process's namespace that reaches the host's sshd. */
  loopbackPort: number;
  /** The host key sshd presents, as an OpenSSH public key line (what to pin). */
  hostKey: string;
  /** The holder process of the host's namespaces. */
  holderPid: number;
}

export interface HostsLabOptions {
  /** Host names (DNS labels). */
  hosts: string[];
  /** Loopback ports, one per host (the test's own reserved range). */
  ports: number[];
  /**
   * The lab's /24 inside 198.18.0.0/15 (default LAB_SUBNET, 198.18.2.0/24): the bridge is .1, hosts
   * .11, .12, ... Tests that run at the same time each take their own.
   */
  subnet?: string;
  /** Parent directory of the lab directory (default the temp directory). */
  parentDir?: string;
  log?: (line: string) => void;
}

interface NsRecord {
  pid: number;
  net: number;
  mnt?: number;
}

export class HostsLab {
  readonly dir: string;
  readonly hosts: LabHost[] = [];
  /** The authorised client key (OpenSSH private key text) and its public line. */
  clientPrivateKey = '';
  clientPublicKey = '';
  private lab?: NsRecord;
  private readonly hostNs = new Map<string, NsRecord>();
  private readonly sshd = new Map<string, number>();
  private readonly listeners: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly log: (line: string) => void;

  private constructor(private readonly opts: HostsLabOptions) {
    this.log = opts.log ?? (() => undefined);
    const parent = opts.parentDir ?? (process.env.TMPDIR || '/tmp');
    this.dir = fs.mkdtempSync(path.join(parent, 'hcb-hosts-lab-'));
    fs.chmodSync(this.dir, 0o700);
  }

  /** Builds the lab; on any failure everything made so far is removed and the error rethrown. */
  static async start(opts: HostsLabOptions): Promise<HostsLab> {
    if (opts.hosts.length === 0 || opts.hosts.length > 200) throw new Error('hosts lab: 1-200 hosts');
    if (opts.ports.length < opts.hosts.length) throw new Error('hosts lab: a loopback port per host is needed');
    if (
      new Set(opts.hosts).size !== opts.hosts.length ||
      opts.hosts.some((n) => !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(n))
    ) {
      throw new Error('hosts lab: host names must be unique DNS labels');
    }
    for (const tool of ['/usr/sbin/sshd', 'ssh-keygen', 'unshare', 'nsenter', 'ip']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
        throw new Error(
          `hosts lab: ${tool} is missing; run scripts/ensure-node-packages.sh (it installs openssh-server, iproute2, util-linux)`,
        );
      }
    }
    const lab = new HostsLab(opts);
    try {
      await lab.build();
      return lab;
    } catch (e) {
      await lab.destroy().catch(() => undefined);
      throw e;
    }
  }

  private async build(): Promise<void> {
    keygen(path.join(this.dir, 'client_ed25519'), 'hcb-lab-client');
    this.clientPrivateKey = fs.readFileSync(path.join(this.dir, 'client_ed25519'), 'utf8');
    this.clientPublicKey = fs.readFileSync(path.join(this.dir, 'client_ed25519.pub'), 'utf8').trim();

    const net24 = labNet(this.opts.subnet ?? LAB_SUBNET);
    const gateway = `${net24}.1`;
    this.lab = await this.holder(
      ['--net'],
      LAB_SCRIPT,
      [path.join(this.dir, 'lab.ready'), `${gateway}/${LAB_PREFIX}`],
      path.join(this.dir, 'lab.ready'),
    );
    this.log(`lab namespace: holder ${this.lab.pid}, bridge hcblab0 ${gateway}/${LAB_PREFIX}`);

    for (const [i, name] of this.opts.hosts.entries()) {
      const address = `${net24}.${11 + i}`;
      if (!insideReservedRange(address)) throw new Error(`hosts lab: ${address} is outside 198.18.0.0/15`);
      const hdir = path.join(this.dir, 'hosts', name);
      for (const d of ['etc', 'var', 'opt', 'root']) {
        fs.mkdirSync(path.join(hdir, 'overlay', d, 'upper'), { recursive: true, mode: 0o700 });
        fs.mkdirSync(path.join(hdir, 'overlay', d, 'work'), { recursive: true, mode: 0o700 });
      }
      fs.chmodSync(path.join(this.dir, 'hosts'), 0o700);
      fs.chmodSync(hdir, 0o700);
      keygen(path.join(hdir, 'ssh_host_ed25519_key'), `root@${name}`);
      fs.writeFileSync(path.join(hdir, 'authorized_keys'), `${this.clientPublicKey}\n`, { mode: 0o600 });
      fs.writeFileSync(path.join(hdir, 'sshd_config'), sshdConfig(address), { mode: 0o600 });

      const ns = await this.holder(
        ['--net', '--mount', '--uts', '--propagation', 'private'],
        HOST_SCRIPT,
        [hdir, name, address],
        path.join(hdir, 'ready'),
      );
      this.hostNs.set(name, ns);
      // The host's end is created inside the host and its peer moved straight into the lab: no
      // interface ever exists in this process's namespace.
      run('nsenter', [
        `--target=${ns.pid}`,
        '--net',
        '--',
        'ip',
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        `h${i}`,
        'netns',
        String(this.lab.pid),
      ]);
      run('nsenter', [
        `--target=${ns.pid}`,
        '--net',
        '--',
        'ip',
        'addr',
        'add',
        `${address}/${LAB_PREFIX}`,
        'dev',
        'eth0',
      ]);
      run('nsenter', [`--target=${ns.pid}`, '--net', '--', 'ip', 'link', 'set', 'eth0', 'up']);
      run('nsenter', [
        `--target=${this.lab.pid}`,
        '--net',
        '--',
        'ip',
        'link',
        'set',
        `h${i}`,
        'master',
        'hcblab0',
        'up',
      ]);

      this.startSshd(name);
      const sock = path.join(hdir, 'ssh.sock');
      this.detached(
        'lab',
        this.lab.pid,
        ['--net'],
        [fs.realpathSync(process.execPath), '-e', FORWARDER_SCRIPT, 'unix-to-tcp', sock, `${address}:22`],
        path.join(hdir, 'forwarder.log'),
      );
      const loopbackPort = this.opts.ports[i];
      await this.listen(loopbackPort, sock);
      this.hosts.push({ name, address, loopbackPort, hostKey: this.hostKeyOf(name), holderPid: ns.pid });
    }
    for (const h of this.hosts) await this.waitForBanner(h);
  }

  /** The current host key line of a host. */
  hostKeyOf(name: string): string {
    return fs.readFileSync(path.join(this.dir, 'hosts', name, 'ssh_host_ed25519_key.pub'), 'utf8').trim();
  }

  /** Gives a host a new host key (as a reinstall would) and restarts its sshd; returns the new key line. */
  async rotateHostKey(name: string): Promise<string> {
    const host = this.host(name);
    const hdir = path.join(this.dir, 'hosts', name);
    const old = this.sshd.get(name);
    if (old) {
      signal(old, 'SIGTERM');
      for (let i = 0; i < 100 && alive(old); i++) await sleep(50);
    }
    for (const f of ['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub'])
      fs.rmSync(path.join(hdir, f), { force: true });
    keygen(path.join(hdir, 'ssh_host_ed25519_key'), `root@${name}`);
    this.startSshd(name);
    host.hostKey = this.hostKeyOf(name);
    await this.waitForBanner(host);
    return host.hostKey;
  }

  /** The holder of the lab's own network namespace (the bridge's side), e.g. for a balancer or forwarder there. */
  get labNetnsPid(): number {
    if (!this.lab) throw new Error('hosts lab: not started or already destroyed');
    return this.lab.pid;
  }

  host(name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`hosts lab: no host ${name}`);
    return h;
  }

  /** Runs a command inside a host's namespaces (as root, not over SSH): the test's view of the host. */
  exec(name: string, args: string[]): string {
    const ns = this.hostNs.get(name);
    if (!ns) throw new Error(`hosts lab: no host ${name}`);
    return run('nsenter', [`--target=${ns.pid}`, '--net', '--mount', '--uts', '--', ...args]);
  }

  /** Pids of every process in any of the lab's namespaces. */
  processes(): number[] {
    const nets = new Set<number>();
    const mnts = new Set<number>();
    for (const r of [this.lab, ...this.hostNs.values()]) {
      if (!r) continue;
      nets.add(r.net);
      if (r.mnt !== undefined) mnts.add(r.mnt);
    }
    const found: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        if (nets.has(nsInode(Number(entry), 'net')) || mnts.has(nsInode(Number(entry), 'mnt')))
          found.push(Number(entry));
      } catch {
        /* gone, or not readable */
      }
    }
    return found;
  }

  /** Removes everything; safe to call twice and after a partial start. */
  async destroy(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
    this.listeners.length = 0;
    let pids = this.processes();
    for (const p of pids) signal(p, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (pids.length && Date.now() < deadline) {
      await sleep(100);
      pids = pids.filter(alive);
    }
    for (let round = 0; round < 30; round++) {
      pids = this.processes();
      if (!pids.length) break;
      for (const p of pids) signal(p, 'SIGKILL');
      await sleep(100);
    }
    const left = this.processes();
    if (left.length) throw new Error(`hosts lab: processes survive in the lab namespaces: ${left.join(', ')}`);
    this.hostNs.clear();
    this.lab = undefined;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts a namespace holder (`unshare ... sh -c SCRIPT`) and waits for its ready file. */
  private async holder(unshareArgs: string[], script: string, args: string[], readyFile: string): Promise<NsRecord> {
    const logFile = `${readyFile}.log`;
    const fd = fs.openSync(logFile, 'a', 0o600);
    const child = spawn('unshare', [...unshareArgs, '--', '/bin/sh', '-c', script, 'hcb-lab-holder', ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    if (child.pid === undefined) throw new Error('hosts lab: could not start unshare');
    child.unref();
    const pid = child.pid;
    // Recorded at once, so a failure below still finds the namespace's processes by inode.
    const rec: NsRecord = { pid, net: -1 };
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(readyFile)) {
      if (!alive(pid) || Date.now() > deadline) {
        signal(pid, 'SIGKILL');
        throw new Error(`hosts lab: a namespace holder failed:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      }
      await sleep(50);
    }
    rec.net = nsInode(pid, 'net');
    if (unshareArgs.includes('--mount')) rec.mnt = nsInode(pid, 'mnt');
    if (rec.net === nsInode(process.pid, 'net'))
      throw new Error("hosts lab: the holder is in this process's network namespace");
    return rec;
  }

  private startSshd(name: string): void {
    const ns = this.hostNs.get(name)!;
    const hdir = path.join(this.dir, 'hosts', name);
    const pid = this.detached(
      name,
      ns.pid,
      ['--net', '--mount', '--uts'],
      ['/usr/sbin/sshd', '-D', '-e', '-f', '/run/hcb-lab/sshd_config'],
      path.join(hdir, 'sshd.log'),
    );
    this.sshd.set(name, pid);
  }

  private detached(what: string, target: number, nsArgs: string[], argv: string[], logFile: string): number {
    const fd = fs.openSync(logFile, 'a', 0o600);
    const child = spawn('nsenter', [`--target=${target}`, ...nsArgs, '--', ...argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    if (child.pid === undefined) throw new Error(`hosts lab: could not start ${argv[0]} in ${what}`);
    child.unref();
    return child.pid;
  }

  /** 127.0.0.1:port in this process ⇄ the host's forwarder socket. */
  private listen(port: number, sock: string): Promise<void> {
    const server = net.createServer((c) => {
      this.sockets.add(c);
      const u = net.connect(sock);
      this.sockets.add(u);
      const drop = () => {
        c.destroy();
        u.destroy();
        this.sockets.delete(c);
        this.sockets.delete(u);
      };
      c.on('error', drop).on('close', drop);
      u.on('error', drop).on('close', drop);
      c.pipe(u);
      u.pipe(c);
    });
    this.listeners.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  /** Waits until the host's sshd answers through the loopback port with its banner. */
  private async waitForBanner(h: LabHost): Promise<void> {
    const deadline = Date.now() + 20_000;
    let last = '';
    while (Date.now() < deadline) {
      last = await new Promise<string>((resolve) => {
        const s = net.connect(h.loopbackPort, '127.0.0.1');
        let got = '';
        const t = setTimeout(() => {
          s.destroy();
          resolve(got);
        }, 1_000);
        s.on('data', (d) => {
          got += d.toString('latin1');
          if (got.includes('\n')) {
            clearTimeout(t);
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', () => {
          clearTimeout(t);
          resolve(got);
        });
      });
      if (last.startsWith('SSH-2.0-OpenSSH')) return;
      await sleep(100);
    }
    const log = fs.readFileSync(path.join(this.dir, 'hosts', h.name, 'sshd.log'), 'utf8').slice(-1500);
    throw new Error(
      `hosts lab: sshd of ${h.name} does not answer on 127.0.0.1:${h.loopbackPort} (got ${JSON.stringify(last.slice(0, 80))}); sshd log:\n${log}`,
    );
  }
}

/** $1 ready file, $2 bridge address/prefix. */
const LAB_SCRIPT = `set -eu
ip link set lo up
ip link add hcblab0 type bridge
ip addr add "$2" dev hcblab0
ip link set hcblab0 up
echo ready > "$1"
exec sleep infinity
`;

/** $1 the host's lab directory, $2 host name, $3 address. */
const HOST_SCRIPT = `set -eu
dir=$1 name=$2 addr=$3
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/hcb-lab /run/sshd
mount --bind "$dir" /run/hcb-lab
for d in etc var opt root; do
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=/run/hcb-lab/overlay/$d/upper,workdir=/run/hcb-lab/overlay/$d/work" "/$d"
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
hostname "$name"
rm -f /etc/hosts /etc/hostname /etc/resolv.conf
printf '127.0.0.1 localhost\\n%s %s\\n' "$addr" "$name" > /etc/hosts
printf '%s\\n' "$name" > /etc/hostname
printf '# no resolver: nothing leaves the lab\\n' > /etc/resolv.conf
ip link set lo up
echo ready > /run/hcb-lab/ready
exec sleep infinity
`;

function sshdConfig(address: string): string {
  return [
    '# hcb hosts lab: one host of the test lab (see test/e2e/support/hosts-lab.ts)',
    'Port 22',
    'AddressFamily inet',
    `ListenAddress ${address}`,
    'HostKey /run/hcb-lab/ssh_host_ed25519_key',
    'PidFile none',
    'AuthorizedKeysFile /run/hcb-lab/authorized_keys',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes yes',
    'AllowAgentForwarding no',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'PermitUserEnvironment no',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** "198.18.x" of a "198.18.x.0/24" inside 198.18.0.0/15. */
function labNet(subnet: string): string {
  const m = /^(198\.1[89]\.([0-9]{1,3}))\.0\/24$/.exec(subnet);
  if (!m || Number(m[2]) > 255 || !insideReservedRange(`${m[1]}.1`))
    throw new Error(`hosts lab: subnet ${subnet} is not a /24 inside 198.18.0.0/15 (e.g. 198.18.4.0/24)`);
  return m[1];
}

function keygen(file: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function run(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (res.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal}): ${(res.stderr || res.stdout || '').trim().slice(-1000)}`,
    );
  return res.stdout;
}

function nsInode(pid: number, ns: 'net' | 'mnt'): number {
  const m = /\[([0-9]+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/${ns}`));
  if (!m) throw new Error(`unexpected namespace link of ${pid}`);
  return Number(m[1]);
}
