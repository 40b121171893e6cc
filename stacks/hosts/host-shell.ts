/**
 * Small helpers over one SSH connection that the worker join (join.ts) and the pod network
 * (network.ts) share: run a POSIX sh script with arguments, send files only when their sha256,
 * owner or mode differ, start a detached process unless it already runs with the same
 * fingerprint. The host scripts are bringup.ts's (exported from there), so the control-plane
 * host, the workers and the node services keep the same records under /var/lib/hcb.
 */
import { ENSURE_PROCESS_SCRIPT, HOST_BIN_DIR, HOST_STATE_DIR, SHA_SCRIPT } from './bringup';
import { SshConnection, SshHost, SshOptions } from './ssh';

/** How to reach one host: its stack entry and the SSH options (private key, dial). */
export interface HostAccess {
  host: SshHost;
  ssh: SshOptions;
}

export interface DeliverItem {
  remote: string;
  data: () => Buffer;
  sha256: string;
  /** Octal, e.g. "0600". */
  mode: string;
  /** user:group */
  owner: string;
  what: string;
  /** Never logged; redacted from errors. */
  secret?: boolean;
}

export class HostShell {
  constructor(
    readonly conn: SshConnection,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  static async open(access: HostAccess, log?: (line: string) => void): Promise<HostShell> {
    return new HostShell(await SshConnection.connect(access.host, access.ssh), log);
  }

  get name(): string {
    return this.conn.host.name;
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  /** `sh -c script hcb args...` on the host; stdout. */
  async sh(
    script: string,
    args: string[] = [],
    o: { timeoutMs?: number; label: string; secrets?: string[]; check?: boolean; input?: string | Buffer },
  ): Promise<string> {
    const res = await this.conn.run(['sh', '-c', script, 'hcb', ...args], {
      timeoutMs: o.timeoutMs ?? 120_000,
      label: o.label,
      secrets: o.secrets,
      check: o.check ?? true,
      input: o.input,
    });
    return res.stdout;
  }

  /** Sends the items whose sha256, owner or mode on the host differ; returns what was sent. */
  async deliver(items: DeliverItem[]): Promise<string[]> {
    if (items.length === 0) return [];
    const out = await this.sh(
      SHA_SCRIPT,
      items.map((i) => i.remote),
      { label: 'sha256 of existing files', timeoutMs: 300_000 },
    );
    const have = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f]{64}|-) ([0-7]+) (\S+) (.+)$/.exec(line);
      if (m) have.set(m[4], `${m[1]} ${m[2]} ${m[3]}`);
    }
    const sent: string[] = [];
    for (const i of items) {
      if (have.get(i.remote) === `${i.sha256} ${i.mode.replace(/^0/, '')} ${i.owner}`) continue;
      await this.sh('mkdir -p -- "$(dirname -- "$1")"', [i.remote], { label: `mkdir for ${i.remote}` });
      await this.conn.upload(i.data(), i.remote, {
        mode: i.mode,
        owner: i.owner,
        timeoutMs: 300_000,
        secret: i.secret,
      });
      sent.push(`${i.what} ${i.remote}`);
      this.log(`host ${this.name}: wrote ${i.what} ${i.remote} (${i.mode} ${i.owner})`);
    }
    return sent;
  }

  async remoteSha(file: string): Promise<string> {
    return (await this.sh('sha256sum -- "$1" | cut -d" " -f1', [file], { label: `sha256 ${file}` })).trim();
  }

  /**
   * Starts argv detached (log /var/lib/hcb/log/<name>.log, pid and fingerprint in
   * /var/lib/hcb/run) unless it runs with the same fingerprint; restarts it when the fingerprint
   * changed. Returns whether it was (re)started.
   */
  async ensureProcess(name: string, argv: string[], fingerprint: string): Promise<boolean> {
    const out = await this.sh(ENSURE_PROCESS_SCRIPT, [HOST_STATE_DIR, name, fingerprint, HOST_BIN_DIR, ...argv], {
      label: `ensure ${name}`,
      timeoutMs: 60_000,
    });
    const state = /^hcb-process (kept|started|restarted) (\d+)$/m.exec(out);
    if (!state) throw new Error(`host ${this.name}: ${name} did not start:\n${out}`);
    if (state[1] !== 'kept') this.log(`host ${this.name}: ${name} ${state[1]} (pid ${state[2]})`);
    return state[1] !== 'kept';
  }

  /** Stops a process started by ensureProcess (TERM, then KILL after 10 s); true when one ran. */
  async stopProcess(name: string): Promise<boolean> {
    const out = await this.sh(STOP_PROCESS_SCRIPT, [HOST_STATE_DIR, name, HOST_BIN_DIR], {
      label: `stop ${name}`,
      timeoutMs: 60_000,
    });
    return out.includes('stopped');
  }

  /** The last lines of a process's log on the host (for errors). */
  async logTail(name: string, lines = 30): Promise<string> {
    return this.sh('tail -n "$2" "$1" 2>/dev/null; true', [`${HOST_STATE_DIR}/log/${name}.log`, String(lines)], {
      label: `log of ${name}`,
      check: false,
    });
  }

  /** Polls `check` every `intervalMs` until it returns a value (or throws after `timeoutMs`). */
  async until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 1_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const v = await check();
        if (v !== undefined) return v;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw new Error(
      `host ${this.name}: ${what} not within ${Math.round(timeoutMs / 1000)} s${last ? ` (${last})` : ''}`,
    );
  }
}

/** $1 state dir, $2 name, $3 bin dir: stops the recorded process when it still is our binary. */
const STOP_PROCESS_SCRIPT = `set -u
dir=$1 name=$2 bin=$3
pidf="$dir/run/$name.pid"
p=$(cat "$pidf" 2>/dev/null || true)
if [ -n "$p" ] && [ -d "/proc/$p" ]; then
  case "$(readlink "/proc/$p/exe" 2>/dev/null)" in
    "$bin"/*)
      kill -TERM "$p" 2>/dev/null; i=0
      while [ -d "/proc/$p" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
      kill -KILL "$p" 2>/dev/null || true
      echo stopped ;;
  esac
fi
rm -f -- "$pidf" "$dir/run/$name.fingerprint"
`;
