/**
 * SSH transport of the hosts target, on the npm `ssh2` client.
 *
 * - The host key is pinned: the server must present exactly the key in the stack config
 *   (`hcb:hosts[i].hostKey`), compared byte for byte, and only that key type is offered in the
 *   handshake. A host without a pinned key is refused before anything is dialled, a different key
 *   stops the handshake (nothing is authenticated or sent); both errors name the host and the
 *   SHA256 fingerprints. There is no trust on first use and no known_hosts file.
 * - Only public-key authentication with the configured private key; no agent, no password, no
 *   keyboard-interactive, no forwarding.
 * - Every wait is bounded: connect + handshake + authentication (`connectTimeoutMs`), each command
 *   (`timeoutMs`), and what a command may print (`maxOutputBytes` per stream; the rest is
 *   dropped and marked truncated). A command that overruns is killed on the host with everything
 *   it started: each command runs with a random marker in its environment (HCB_RUN_ID), and a
 *   second channel sends KILL to every process carrying it (process groups and sessions do not
 *   matter). OpenSSH ignores SSH "signal" requests in root sessions ("session signalling
 *   requires privilege separation") and closing the channel leaves the process running, so
 *   neither is enough.
 * - Uploads are atomic and verified: written to a temporary file in the target directory, its
 *   sha256 checked on the host, owner and mode set, fsynced, renamed over the target, the directory
 *   fsynced; a failure leaves the old file untouched and no temporary file behind.
 * - Secrets never reach an error or log line: the private key, PEM blocks, kubeadm bootstrap
 *   tokens and every string the caller names in `secrets` are replaced by `[redacted]`.
 */
import * as crypto from 'crypto';
import * as ssh2 from 'ssh2';
import { fingerprint, parseHostKey, PinnedHostKey } from './config';

/** What the transport needs of a host (a `HostSpec` fits). */
export interface SshHost {
  name: string;
  address: string;
  port: number;
  user: string;
  /** The pinned host key line (`ssh-ed25519 AAAA...`); undefined or empty is refused. */
  hostKey?: string;
}

export interface SshOptions {
  /** The private key's text (OpenSSH or PEM). A secret: never logged, redacted from errors. */
  privateKey: string | Buffer;
  /** Where to open the TCP connection when it is not the host's address and port (a tunnel or forwarder). */
  dial?: { host: string; port: number };
  /** Connect, handshake and authentication together (default 20 s). */
  connectTimeoutMs?: number;
  /** Default bound of each command (default 120 s). */
  commandTimeoutMs?: number;
  /** Default bound of each output stream of a command (default 1 MiB). */
  maxOutputBytes?: number;
  /** Further secret strings (tokens, keys) to redact from every error of this connection. */
  secrets?: string[];
  /** Progress lines (already redacted). */
  log?: (line: string) => void;
}

export type SshErrorKind =
  | 'host-key-unknown'
  | 'host-key-changed'
  | 'auth'
  | 'connect'
  | 'timeout'
  | 'exit'
  | 'output'
  | 'upload'
  | 'closed'
  | 'usage';

export class SshError extends Error {
  constructor(
    readonly kind: SshErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

export interface RunOptions {
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Sent as the command's standard input (then end of file). Without it, stdin is closed at once. */
  input?: string | Buffer;
  /** Throw an SshError('exit') when the exit status is not 0 (default true). */
  check?: boolean;
  /** Secrets that appear in this command or its output, redacted from errors. */
  secrets?: string[];
  /** Names the command in errors and logs instead of its (redacted) text. */
  label?: string;
}

export interface RunResult {
  /** Exit status, or null when the process ended by a signal. */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export interface UploadOptions {
  /** Octal permission bits, e.g. "0600" or "644". */
  mode: string;
  /** `user:group` (names or numeric ids). */
  owner: string;
  timeoutMs?: number;
  /** The content is secret (a key, a kubeconfig): redacted from errors, never logged. */
  secret?: boolean;
}

export interface UploadResult {
  path: string;
  sha256: string;
  size: number;
  mode: string;
  owner: string;
}

/** Quotes one word for a POSIX shell (the remote login shell parses the command line). */
export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new SshError('usage', 'a command argument contains a NUL byte');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Bound of the second channel that kills an overrunning command. */
const KILL_TIMEOUT_MS = 10_000;

/**
 * `sh -c KILL_SCRIPT hcb-kill <id>`: KILL to every process whose environment holds HCB_RUN_ID=<id>,
 * repeated until a pass finds none (a process may fork while the first pass runs); prints the count.
 */
const KILL_SCRIPT = `id=$1 n=0
for pass in 1 2 3 4 5; do
  found=0
  for p in /proc/[0-9]*; do
    if tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qx "HCB_RUN_ID=$id"; then
      kill -KILL "\${p#/proc/}" 2>/dev/null && found=$((found+1))
    fi
  done
  n=$((n+found))
  [ "$found" -eq 0 ] && break
done
echo "$n"
`;

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
/** kubeadm bootstrap tokens (`[a-z0-9]{6}.[a-z0-9]{16}`). */
const BOOTSTRAP_TOKEN = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g;

/** Replaces every secret (and every PEM private key block and bootstrap token) in `text`. */
export function redact(text: string, secrets: Array<string | Buffer | undefined> = []): string {
  let out = text.replace(PEM_BLOCK, '[redacted private key]').replace(BOOTSTRAP_TOKEN, '[redacted token]');
  const words: string[] = [];
  for (const s of secrets) {
    if (s === undefined) continue;
    const str = typeof s === 'string' ? s : s.toString('utf8');
    if (str.length >= 4) words.push(str);
    // Each line of a multi-line secret too (a key body can be quoted one line at a time).
    for (const line of str.split(/\r?\n/)) if (line.trim().length >= 8) words.push(line.trim());
  }
  for (const w of words.sort((a, b) => b.length - a.length)) out = out.split(w).join('[redacted]');
  return out;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The last `max` characters (where errors usually are). */
function clipStart(text: string, max: number): string {
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/** The SSH wire-format blob of the public half of a private key (for fingerprints in errors). */
function publicBlobOf(privateKey: string | Buffer): Buffer | undefined {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return undefined;
  return key.getPublicSSH();
}

function hostKeyAlgorithms(key: PinnedHostKey): ssh2.ServerHostKeyAlgorithm[] {
  return key.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [key.type];
}

/** One authenticated SSH connection to one host. */
export class SshConnection {
  private closed = false;
  private readonly pending = new Set<(err: Error) => void>();

  private constructor(
    readonly host: SshHost,
    private readonly client: ssh2.Client,
    private readonly opts: SshOptions,
  ) {
    client.on('close', () => {
      this.closed = true;
      for (const fail of [...this.pending]) fail(new SshError('closed', `${this.where()}: the connection closed`));
    });
    client.on('error', () => {
      /* reported through 'close' to whatever is pending */
    });
  }

  /**
   * Connects and authenticates. Refuses a host without a pinned key before dialling, and a host
   * presenting any other key during the handshake.
   */
  static connect(host: SshHost, opts: SshOptions): Promise<SshConnection> {
    const where = `ssh ${host.user}@${host.name} (${host.address}:${host.port})`;
    const secrets = [opts.privateKey, ...(opts.secrets ?? [])];
    if (!host.hostKey || !host.hostKey.trim()) {
      return Promise.reject(
        new SshError(
          'host-key-unknown',
          `${where}: refused: no host key is pinned for "${host.name}" and keys are never trusted on first use. ` +
            "Fix: read /etc/ssh/ssh_host_ed25519_key.pub on the host's console and set it as the host's hostKey in hcb:hosts",
        ),
      );
    }
    let pinned: PinnedHostKey;
    try {
      pinned = parseHostKey(host.hostKey);
    } catch (e) {
      return Promise.reject(new SshError('usage', `${where}: the pinned host key ${(e as Error).message}`));
    }
    const connectTimeoutMs = opts.connectTimeoutMs ?? 20_000;
    return new Promise<SshConnection>((resolve, reject) => {
      const client = new ssh2.Client();
      let presented: Buffer | undefined;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          client.removeAllListeners('ready');
          client.on('error', () => undefined);
          client.destroy();
          reject(err);
        } else {
          resolve(new SshConnection(host, client, opts));
        }
      };
      // ssh2's readyTimeout does not cover a TCP connect that hangs before the socket opens.
      const timer = setTimeout(
        () =>
          finish(
            new SshError(
              'timeout',
              `${where}: no authenticated connection within ${connectTimeoutMs} ms (connect, handshake and login)`,
            ),
          ),
        connectTimeoutMs,
      );
      client.on('ready', () => finish());
      client.on('error', (err: Error & { level?: string }) => {
        if (presented && !presented.equals(pinned.blob)) {
          let shown: string;
          try {
            shown = `${keyType(presented)} ${fingerprint(presented)}`;
          } catch {
            shown = fingerprint(presented);
          }
          finish(
            new SshError(
              'host-key-changed',
              `${where}: refused: the host presented key ${shown}, but ${pinned.type} ${pinned.fingerprint} is pinned for "${host.name}". ` +
                'Nothing was sent. If the host was reinstalled, check the new key on its console and pin it in hcb:hosts; otherwise something else answers at this address',
            ),
          );
          return;
        }
        if (err.level === 'client-authentication') {
          const blob = publicBlobOf(opts.privateKey);
          finish(
            new SshError(
              'auth',
              `${where}: the host refused our key${blob ? ` (${fingerprint(blob)})` : ''} for user "${host.user}". ` +
                `Fix: add the public half of hcb:sshPrivateKey to ~${host.user}/.ssh/authorized_keys on the host, or set the host's user`,
            ),
          );
          return;
        }
        finish(
          new SshError(
            err.level === 'client-timeout' ? 'timeout' : 'connect',
            `${where}: ${redact(err.message, secrets)}`,
          ),
        );
      });
      client.on('close', () =>
        finish(new SshError('connect', `${where}: the connection closed before login completed`)),
      );
      try {
        client.connect({
          host: opts.dial?.host ?? host.address,
          port: opts.dial?.port ?? host.port,
          username: host.user,
          privateKey: opts.privateKey,
          authHandler: ['publickey'],
          hostVerifier: (key: Buffer) => {
            presented = Buffer.from(key);
            return key.equals(pinned.blob);
          },
          algorithms: { serverHostKey: hostKeyAlgorithms(pinned) },
          readyTimeout: connectTimeoutMs,
          keepaliveInterval: 15_000,
          keepaliveCountMax: 4,
          agentForward: false,
          tryKeyboard: false,
        });
      } catch (e) {
        // e.g. a private key ssh2 cannot parse: its message never quotes the key, redacted anyway.
        finish(new SshError('usage', `${where}: ${redact((e as Error).message, secrets)}`));
      }
    });
  }

  private where(): string {
    return `ssh ${this.host.user}@${this.host.name} (${this.host.address}:${this.host.port})`;
  }

  private secrets(extra: Array<string | Buffer | undefined> = []): Array<string | Buffer | undefined> {
    return [this.opts.privateKey, ...(this.opts.secrets ?? []), ...extra];
  }

  /** Runs a command: a list of words (quoted for the remote shell) or one shell command line. */
  run(command: string | string[], ro: RunOptions = {}): Promise<RunResult> {
    const line = Array.isArray(command) ? command.map(shellQuote).join(' ') : command;
    const secrets = this.secrets(ro.secrets);
    // Redacted before it is shortened: a cut would leave part of a secret unrecognised.
    const shown = ro.label ?? clip(redact(line, secrets), 200);
    const timeoutMs = ro.timeoutMs ?? this.opts.commandTimeoutMs ?? 120_000;
    const maxOut = ro.maxOutputBytes ?? this.opts.maxOutputBytes ?? 1024 * 1024;
    const prefix = `${this.where()}: ${shown}`;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100)
      return Promise.reject(new SshError('usage', `${prefix}: timeoutMs must be an integer of at least 100`));
    const runId = crypto.randomBytes(12).toString('hex');
    // `env` works from any login shell; the marker is inherited by everything the command starts.
    const remote = `env HCB_RUN_ID=${runId} sh -c ${shellQuote(line)}`;
    if (this.closed) return Promise.reject(new SshError('closed', `${prefix}: the connection is closed`));
    this.opts.log?.(`${this.host.name}: ${shown}`);
    return new Promise<RunResult>((resolve, reject) => {
      let channel: ssh2.ClientChannel | undefined;
      let settled = false;
      const out = new Collector(maxOut);
      const err = new Collector(maxOut);
      let code: number | null = null;
      let sig: string | undefined;
      const done = (e?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(fail);
        if (e) return reject(e);
        const result: RunResult = {
          code,
          signal: sig,
          stdout: out.text(),
          stderr: err.text(),
          stdoutTruncated: out.truncated,
          stderrTruncated: err.truncated,
        };
        if (ro.check !== false && code !== 0) {
          const tail = clipStart(redact((result.stderr || result.stdout).trim(), secrets), 1500);
          return reject(
            new SshError(
              'exit',
              `${prefix}: failed (${code === null ? `signal ${sig ?? '?'}` : `exit ${code}`})${tail ? `: ${tail}` : ''}`,
            ),
          );
        }
        resolve(result);
      };
      const fail = (e: Error) =>
        done(new SshError((e as SshError).kind ?? 'closed', `${prefix}: ${redact(e.message, secrets)}`));
      this.pending.add(fail);
      // Once the bound has passed, the command's own end (it dies of the KILL) is not its result.
      let overran = false;
      const timer = setTimeout(() => {
        if (settled) return;
        overran = true;
        this.killRun(runId).then(
          (n) => {
            channel?.close();
            done(
              new SshError(
                'timeout',
                `${prefix}: no result within ${timeoutMs} ms; its processes on the host were killed (${n})`,
              ),
            );
          },
          (why: Error) => {
            channel?.close();
            done(
              new SshError(
                'timeout',
                `${prefix}: no result within ${timeoutMs} ms; killing it on the host failed (${redact(why.message, secrets)}), it may still run`,
              ),
            );
          },
        );
      }, timeoutMs);
      this.client.exec(remote, (e, ch) => {
        if (e) return done(new SshError('connect', `${prefix}: could not start: ${redact(e.message, secrets)}`));
        channel = ch;
        if (settled) {
          ch.close();
          return;
        }
        ch.on('data', (d: Buffer) => out.add(d));
        ch.stderr.on('data', (d: Buffer) => err.add(d));
        ch.on('exit', (c: number | null, s?: string) => {
          code = typeof c === 'number' ? c : null;
          sig = s ?? undefined;
        });
        ch.on('close', () => {
          if (!overran) done();
        });
        ch.on('error', (x: Error) => done(new SshError('connect', `${prefix}: ${redact(x.message, secrets)}`)));
        if (ro.input !== undefined) ch.end(ro.input);
        else ch.end();
      });
    });
  }

  /** Sends KILL to every process on the host whose environment has HCB_RUN_ID=<id>; resolves to how many. */
  private killRun(id: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer within ${KILL_TIMEOUT_MS} ms`)), KILL_TIMEOUT_MS);
      this.client.exec(`sh -c ${shellQuote(KILL_SCRIPT)} hcb-kill ${id}`, (e, ch) => {
        if (e) {
          clearTimeout(t);
          return reject(e);
        }
        let out = '';
        ch.on('data', (d: Buffer) => (out += d.toString('utf8').slice(0, 100)));
        ch.stderr.on('data', () => undefined);
        ch.on('close', () => {
          clearTimeout(t);
          const n = /^([0-9]+)/.exec(out.trim());
          if (n) resolve(Number(n[1]));
          else reject(new Error('the kill script gave no count'));
        });
        ch.end();
      });
    });
  }

  /**
   * Writes `data` to `path` on the host atomically, with owner and mode, and checks its sha256
   * on the host before the rename. The directory must exist.
   */
  async upload(data: string | Buffer, path: string, uo: UploadOptions): Promise<UploadResult> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const prefix = `${this.where()}: upload ${path}`;
    if (!path.startsWith('/') || /[\0\n]/.test(path) || path.endsWith('/') || path.split('/').includes('..')) {
      throw new SshError('usage', `${prefix}: the target must be an absolute file path without "..", newlines or NUL`);
    }
    if (!/^0?[0-7]{3}$/.test(uo.mode))
      throw new SshError(
        'usage',
        `${prefix}: mode "${uo.mode}" is not octal permission bits such as 0600 (no setuid, setgid or sticky bits)`,
      );
    if (!/^[a-z_0-9][a-z0-9_.-]*:[a-z_0-9][a-z0-9_.-]*$/.test(uo.owner))
      throw new SshError('usage', `${prefix}: owner "${uo.owner}" is not user:group`);
    const sum = crypto.createHash('sha256').update(buf).digest('hex');
    const res = await this.run(['sh', '-c', UPLOAD_SCRIPT, 'hcb-upload', path, uo.mode, uo.owner, sum], {
      input: buf,
      timeoutMs: uo.timeoutMs,
      label: `upload ${path} (${buf.length} bytes, ${uo.mode}, ${uo.owner})`,
      secrets: uo.secret ? [buf.toString('utf8')] : [],
      check: false,
    });
    if (res.code !== 0) {
      const why = clipStart(redact(res.stderr.trim(), this.secrets(uo.secret ? [buf.toString('utf8')] : [])), 1000);
      throw new SshError(
        'upload',
        `${prefix}: failed (exit ${res.code ?? res.signal}); the previous file, if any, is unchanged${why ? `: ${why}` : ''}`,
      );
    }
    // The script's last line: "<octal mode> <uid>:<gid> <user>:<group> <size> <sha256>" of the renamed file.
    const m = /^([0-7]+) ([0-9]+:[0-9]+) (\S+) ([0-9]+) ([0-9a-f]{64})$/.exec(
      res.stdout.trim().split('\n').pop() ?? '',
    );
    if (!m) throw new SshError('upload', `${prefix}: the host did not report the written file`);
    const [, mode, ids, names, size, got] = m;
    const wantMode = uo.mode.replace(/^0/, '');
    if (mode !== wantMode || (uo.owner !== ids && uo.owner !== names) || Number(size) !== buf.length || got !== sum) {
      throw new SshError(
        'upload',
        `${prefix}: the file on the host is ${mode} ${names} (${ids}), ${size} bytes, sha256 ${got}; wanted ${wantMode} ${uo.owner}, ${buf.length} bytes, sha256 ${sum}`,
      );
    }
    return { path, sha256: sum, size: buf.length, mode: wantMode, owner: names };
  }

  /** Closes the connection (waits for it, at most 5 s). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 5_000);
      this.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.client.end();
    });
  }
}

/**
 * Runs on the host as `sh -c UPLOAD_SCRIPT hcb-upload PATH MODE OWNER SHA256` with the content on
 * stdin. The temporary file is created in the target's directory (same file system, so the rename
 * is atomic) with mode 0600 until the content is verified.
 */
const UPLOAD_SCRIPT = `set -eu
dest=$1 mode=$2 owner=$3 sum=$4
dir=$(dirname -- "$dest")
[ -d "$dir" ] || { echo "directory $dir does not exist" >&2; exit 2; }
if [ -e "$dest" ] && [ ! -f "$dest" ] || [ -L "$dest" ]; then echo "$dest exists and is not a regular file" >&2; exit 2; fi
umask 077
tmp=$(mktemp -- "$dir/.hcb-upload.XXXXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
got=$(sha256sum -- "$tmp" | cut -d' ' -f1)
[ "$got" = "$sum" ] || { echo "sha256 of the received content is $got, expected $sum" >&2; exit 3; }
chown -- "$owner" "$tmp"
chmod -- "$mode" "$tmp"
sync -- "$tmp"
mv -f -- "$tmp" "$dest"
trap - EXIT
sync -- "$dir"
printf '%s %s\\n' "$(stat -c '%a %u:%g %U:%G %s' -- "$dest")" "$(sha256sum -- "$dest" | cut -d' ' -f1)"
`;

/** Collects at most `max` bytes of a stream. */
class Collector {
  private readonly parts: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  add(d: Buffer): void {
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const piece = d.length > room ? d.subarray(0, room) : d;
    if (d.length > room) this.truncated = true;
    this.parts.push(Buffer.from(piece));
    this.size += piece.length;
  }
  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}

/** The key type name at the start of a key blob. */
function keyType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  if (len > 64 || 4 + len > blob.length) throw new Error('malformed');
  return blob.subarray(4, 4 + len).toString('latin1');
}
