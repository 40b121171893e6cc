/**
 * The real Pulumi CLI against a hosts lab, shared by the e2e tests that drive the `hosts` target
 * through `pulumi up` (pulumi-hosts, hosts-ha):
 *
 * - `PulumiCli`: the CLI in a temporary project with a private backend; `sync` for quick commands
 *   (config, outputs), `run`/`must` as a child process for up/destroy (not spawnSync: the lab's
 *   loopback listeners live in this process's event loop), bounded (SIGINT at the deadline, SIGKILL
 *   60 s later), each timed.
 * - `LoopbackForward`: 127.0.0.1:<port> in this process → a unix socket → a forwarder in a lab
 *   network namespace → <address>:<port> there, so the test and Pulumi reach an API server without
 *   any 198.18 address in the machine's own namespace.
 * - `stackStateText`, `plaintextFound`, `pemBodyLines`, `hostSecretValues`, `bootstrapTokens`:
 *   what the "no plaintext secret in the state" checks read.
 * - `hostLeftovers`: what is left of a cluster on a lab host (files, processes, mounts, interfaces,
 *   the etcd user, cgroups, pod routes, KUBE-* chains).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { HOST_BIN_DIR, HOST_STATE_DIR } from '../../../stacks/hosts/bringup';
import { kubeconfigTls } from '../../../stacks/local/control-plane';
import { FORWARDER_SCRIPT } from '../../../stacks/local/node/forwarder';
import { alive, signal, sleep } from '../../../stacks/local/node/sandbox';
import { ApiClient, mustRun } from './env';
import type { HostsLab } from './hosts-lab';

export class PulumiCli {
  /** "pulumi up 123 s" per `must` call. */
  readonly timings: string[] = [];

  constructor(
    private readonly bin: string,
    readonly project: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A quick command (config, stack output, export); throws with its output on a non-zero exit. */
  sync(args: string[]): string {
    return mustRun(path.join(this.bin, 'pulumi'), ['--non-interactive', ...args], { cwd: this.project, env: this.env });
  }

  /** A long command as a child process, bounded: SIGINT at the deadline, SIGKILL 60 s later. */
  run(args: string[], timeoutMs = 3_000_000): Promise<{ status: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(path.join(this.bin, 'pulumi'), ['--non-interactive', ...args], {
        cwd: this.project,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      let kill: NodeJS.Timeout | undefined;
      const t = setTimeout(() => {
        out += `\n[test] pulumi ${args[0]} overran ${timeoutMs / 1000} s: interrupted\n`;
        child.kill('SIGINT');
        kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
      }, timeoutMs);
      child.on('close', (status) => {
        clearTimeout(t);
        if (kill) clearTimeout(kill);
        resolve({ status, out });
      });
    });
  }

  /** `run`, timed; a non-zero exit throws with the output's tail and `context()` (e.g. the bring-up logs). */
  async must(args: string[], context: () => string = () => '', timeoutMs?: number): Promise<string> {
    const t = Date.now();
    const r = await this.run(args, timeoutMs);
    this.timings.push(`pulumi ${args[0]} ${Math.round((Date.now() - t) / 1000)} s`);
    if (r.status !== 0)
      throw new Error(`pulumi ${args.join(' ')} failed (exit ${r.status}):\n${r.out.slice(-8000)}\n${context()}`);
    return r.out;
  }
}

/** The last lines of the bring-up log of each named host (`<stateDir>/hosts/logs/<name>.log`). */
export function bringupLogs(stateDir: string, names: string[], lines = 40): string {
  return names
    .map((n) => {
      const f = path.join(stateDir, 'hosts', 'logs', `${n}.log`);
      const text = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n') : '(none)';
      return `--- bring-up log ${n}\n${text}`;
    })
    .join('\n');
}

/**
 * 127.0.0.1:<port> → unix socket → a forwarder (unix-to-tcp) in the network namespace of
 * `netnsPid` → `target` ("address:port") there.
 */
export class LoopbackForward {
  private pid?: number;
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor() {}

  static async start(o: { netnsPid: number; target: string; socket: string; port: number }): Promise<LoopbackForward> {
    const f = new LoopbackForward();
    try {
      const child = spawn(
        'nsenter',
        [
          `--target=${o.netnsPid}`,
          '--net',
          '--',
          fs.realpathSync(process.execPath),
          '-e',
          FORWARDER_SCRIPT,
          'unix-to-tcp',
          o.socket,
          o.target,
        ],
        { detached: true, stdio: 'ignore' },
      );
      child.unref();
      f.pid = child.pid;
      for (let i = 0; i < 100 && !fs.existsSync(o.socket); i++) await sleep(100);
      if (!fs.existsSync(o.socket)) throw new Error(`the forwarder to ${o.target} did not create its socket`);
      f.server = net.createServer((c) => {
        const u = net.connect(o.socket);
        f.sockets.add(c).add(u);
        const drop = () => {
          c.destroy();
          u.destroy();
          f.sockets.delete(c);
          f.sockets.delete(u);
        };
        c.on('error', drop).on('close', drop);
        u.on('error', drop).on('close', drop);
        c.pipe(u);
        u.pipe(c);
      });
      await new Promise<void>((resolve, reject) =>
        f.server!.once('error', reject).listen(o.port, '127.0.0.1', () => resolve()),
      );
      return f;
    } catch (e) {
      await f.stop().catch(() => undefined);
      throw e;
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
    if (this.pid && alive(this.pid)) {
      signal(this.pid, 'SIGKILL');
      for (let i = 0; i < 50 && alive(this.pid); i++) await sleep(100);
    }
    this.pid = undefined;
  }
}

/**
 * The API as a kubeconfig's user through a forwarded loopback port, the server certificate checked
 * for `serverName` (the address the kubeconfig names).
 */
export function forwardedApiClient(kubeconfig: string, port: number, serverName: string): ApiClient {
  return new ApiClient({
    server: `https://127.0.0.1:${port}`,
    tls: {
      ...kubeconfigTls(kubeconfig),
      servername: undefined,
      checkServerIdentity: (_h: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(serverName, cert),
    },
  });
}

/** Retries `f` until it returns a value (bounded); the last error is in the timeout's message. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  f: () => Promise<T | undefined>,
  intervalMs = 2_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s ${last.slice(0, 2000)}`);
}

/** The stack's state as stored (the backend's files) plus `pulumi stack export`. */
export function stackStateText(cli: PulumiCli, home: string, stack: string): { files: string[]; text: string } {
  const files = spawnSync('find', [path.join(home, 'backend'), '-type', 'f', '-name', `${stack}.json*`], {
    encoding: 'utf8',
  })
    .stdout.split('\n')
    .filter(Boolean);
  return { files, text: files.map((f) => fs.readFileSync(f, 'utf8')).join('\n') + cli.sync(['stack', 'export']) };
}

/** The base64 body lines of a PEM or OpenSSH private key (what would show if it leaked). */
export function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((l) => l.trim() && !l.startsWith('-----'));
}

/** Labels of the secrets (label → text) that occur in `state`; empty texts are ignored. */
export function plaintextFound(state: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, v]) => v.length >= 8 && state.includes(v))
    .map(([k]) => k);
}

/** The keys the bring-up generated on a host ({{hcb-secret:NAME}}, e.g. the encryption key). */
export function hostSecretValues(lab: HostsLab, host: string): string[] {
  return lab
    .exec(host, ['sh', '-c', `cat ${HOST_STATE_DIR}/secrets/* 2>/dev/null; true`])
    .split('\n')
    .filter(Boolean);
}

/** The cluster's bootstrap tokens, read on a control-plane host with its admin.conf. */
export function bootstrapTokens(lab: HostsLab, host: string): string[] {
  return lab
    .exec(host, [
      'sh',
      '-c',
      `${HOST_BIN_DIR}/kubeadm token list --kubeconfig /etc/kubernetes/admin.conf 2>/dev/null | awk 'NR>1 {print $1}'; true`,
    ])
    .split('\n')
    .filter((t) => /^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(t));
}

/** What is left on a lab host of the cluster (files, processes, mounts, interfaces, the etcd user, cgroups, pod routes, KUBE- chains). */
export function hostLeftovers(lab: HostsLab, name: string, cgroup: string): string[] {
  return lab
    .exec(name, [
      'sh',
      '-c',
      `for p in /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/containerd /etc/cni/net.d /opt/cni/bin ${HOST_BIN_DIR} ${HOST_STATE_DIR} /run/containerd /var/log/pods; do [ -e "$p" ] && echo "file $p"; done
     me=$(readlink /proc/self/ns/net)
     for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] || continue; e=$(readlink $p/exe 2>/dev/null); case "$e" in */sshd|*/sleep|*/sh|*/dash|*/bash|*/nsenter|*/readlink|*/cat) ;; *) echo "process \${p#/proc/} $e";; esac; done
     awk '{print $5}' /proc/self/mountinfo | grep -E '^(/var/lib/kubelet|/var/lib/containerd|/run/containerd)' | sed 's/^/mount /'
     ip -o link show | awk -F': ' '{print $2}' | grep -E '^(cni0|veth)' | sed 's/^/interface /'
     id etcd >/dev/null 2>&1 && echo "user etcd"
     for d in /sys/fs/cgroup/*/${cgroup} /sys/fs/cgroup/${cgroup}; do [ -d "$d" ] && echo "cgroup $d"; done
     ip route show proto 186 | sed 's/^/route /'
     { iptables-save; ip6tables-save; } 2>/dev/null | grep -E '^:KUBE-' | sed 's/^/chain /'
     true`,
    ])
    .split('\n')
    .filter(Boolean);
}
