/**
 * Backup and restore of a hosts-target control plane (issue 14; BSI APP.4.4.A5): kubeadm's stacked
 * etcd on the first control-plane host (stacks/hosts/bringup.ts), reached over SSH only
 * (stacks/hosts/ssh.ts). The backup file is the local target's (stacks/local/backup-archive.ts):
 * AES-256-GCM with a local key file, manifest beside it, retention, complete authentication before use.
 *
 *   backup   1. reads kubeadm's static pod manifests on the host (etcd's and the API server's flags);
 *            2. `hcb-host-backup snapshot` (tools/hosts, standard library Go, delivered by sha256
 *               to /opt/hcb/bin) calls etcd's snapshot API on the host (the v3 gateway's
 *               POST /v3/maintenance/snapshot, as the local target does) with the API server's etcd
 *               client certificate, and checks the sha256 etcd appends to the stream. The toolchain
 *               has no etcdctl, etcdutl works on files only, and hardened hosts refuse SSH TCP
 *               forwarding (the lab's sshd too), so the client runs on the host;
 *            3. the snapshot comes back in base64 chunks and is compared with its sha256 on the host;
 *               the PKI (/etc/kubernetes/pki), the directory of the encryption configuration and the
 *               keys the bring-up generated (/var/lib/hcb/secrets) come back with mode and sha256;
 *            4. `etcdutl snapshot status` (local toolchain) reads the revision; the file is written.
 *   restore  1. the backup is authenticated completely on this machine first: a tampered file or a
 *               wrong key is refused before anything is sent to the host;
 *            2. the configuration files are compared with the host's; a differing encryption
 *               configuration or key is refused unless replaceConfig (nothing changed then);
 *            3. etcdutl (toolchain, by sha256) restores the snapshot into a fresh directory beside the
 *               data directory, with the member name and peer URLs of kubeadm's etcd manifest and a
 *               revision bump marked compacted (so the kubelet and other watchers that kept running
 *               relist instead of seeing revisions go back);
 *            4. Kubernetes' documented procedure for kubeadm's static pods: the manifests are moved out
 *               of /etc/kubernetes/manifests, the kubelet stops the containers (waited for), the data
 *               directory is swapped (the old one kept beside it), the manifests are moved back and
 *               the API server's /readyz is awaited on the host with admin.conf.
 */
import * as crypto from 'crypto';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  BackupError,
  BackupKeySource,
  BackupManifest,
  BACKUP_SUFFIX,
  decryptBackup,
  loadKey,
  sha256File,
  snapshotRevision,
  writeBackup,
} from '../local/backup-archive';
import { SshConnection, SshHost, SshOptions } from './ssh';

export const HOST_BACKUP_BIN_DIR = '/opt/hcb/bin';
/** Working directory of backups and restores on the host (0700; snapshots never stay there). */
export const HOST_BACKUP_WORK_DIR = '/var/lib/hcb/backup';
/** Keys the bring-up generated for {{hcb-secret:NAME}} tokens (the encryption key among them). */
export const HOST_SECRETS_DIR = '/var/lib/hcb/secrets';
const MANIFESTS_DIR = '/etc/kubernetes/manifests';
const STATIC_PODS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
/** Marker of a restore that moved the manifests out and has not put them back. */
const IN_PROGRESS = `${HOST_BACKUP_WORK_DIR}/restore-in-progress`;
/** Revisions added on restore (etcd's guidance for Kubernetes: far more than can have been written since the backup). */
export const RESTORE_REVISION_BUMP = 1_000_000_000;
const CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * The directory holding tools/hosts: the nearest one upwards from this module. That is the checkout
 * from source (stacks/hosts/) and from dist/stacks/hosts/, and the package root when installed (the
 * package ships tools/hosts). Never a fixed count of `..`, which from dist/ would land inside dist/.
 */
export function hostToolsRoot(from: string = __dirname): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'tools', 'hosts', 'go.mod'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export interface HostsBackupTarget {
  /** The control-plane host (its pinned host key is required). */
  host: SshHost;
  ssh: SshOptions;
  /** The toolchain's bin directory (etcdutl). */
  binDir: string;
  log?: (line: string) => void;
}

export interface HostsBackupOptions extends HostsBackupTarget {
  backupDir: string;
  /** 32-byte key file, mode 0600 (created on the first backup), or the key itself (hcb:backupKey). */
  keyFile: BackupKeySource;
  /** Name in the manifest and the file names (the stack or host name). */
  cluster: string;
  /** @default 7 */
  retain?: number;
  hcbVersion?: string;
  /** Bound of the snapshot on the host. @default 10 min */
  snapshotTimeoutMs?: number;
}

export interface HostsRestoreOptions extends HostsBackupTarget {
  file: string;
  keyFile: BackupKeySource;
  /** Put the backup's PKI, encryption configuration and keys back where they differ (the current ones kept as *.before-restore-<time>). */
  replaceConfig?: boolean;
  /** Bound of the wait for the static pods' containers to stop. @default 4 min */
  stopTimeoutMs?: number;
  /** Bound of the wait for the API server's /readyz after the restore. @default 6 min */
  readyTimeoutMs?: number;
}

export interface HostsRestoreResult {
  manifest: BackupManifest;
  /** The data directory that was replaced, kept on the host. */
  previousDataDir?: string;
  /** Host paths written because they were missing, or replaced (replaceConfig). */
  restoredConfig: string[];
  /** Host paths that differ from the backup and were left as they are. */
  differingConfig: string[];
}

// ---------------------------------------------------------------------------------------------
// the program that runs on the host

/** Builds tools/hosts (standard library only) once per source and Go version; returns the binary. */
export function buildHostBackupProgram(
  cacheRoot = defaultCacheRoot(),
  log: (l: string) => void = () => undefined,
): string {
  const root = hostToolsRoot();
  if (!root)
    throw new BackupError(
      `the host backup program's source (tools/hosts/go.mod) is not in any directory above ${__dirname}`,
    );
  const src = path.join(root, 'tools', 'hosts');
  const goVersion = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout?.trim();
  if (!goVersion) throw new BackupError('go is not on PATH: it builds the host backup program (tools/hosts)');
  const files = listFiles(src).sort();
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([goVersion, ...files.map((f) => [path.relative(src, f), sha256File(f)])]))
    .digest('hex')
    .slice(0, 16);
  const out = path.join(cacheRoot, 'host-programs', key, 'hcb-host-backup');
  if (fs.existsSync(out)) return out;
  log(`building the host backup program with ${goVersion}`);
  fs.mkdirSync(path.dirname(out), { recursive: true, mode: 0o700 });
  const tmp = `${out}.tmp-${process.pid}`;
  const res = spawnSync(
    'go',
    ['build', '-trimpath', '-buildvcs=false', '-ldflags=-s -w -buildid=', '-o', tmp, './host-backup'],
    {
      cwd: src,
      encoding: 'utf8',
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOOS: 'linux', GOARCH: 'amd64' },
      timeout: 600_000,
    },
  );
  if (res.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new BackupError(`building tools/hosts failed:\n${res.stderr || String(res.error)}`);
  }
  fs.renameSync(tmp, out);
  return out;
}

function defaultCacheRoot(): string {
  return process.env.HCB_CACHE_DIR ?? path.join(os.homedir(), '.cache/hardened-cluster-blueprint');
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

// ---------------------------------------------------------------------------------------------
// one SSH session on the control-plane host

class HostSession {
  constructor(
    readonly conn: SshConnection,
    readonly host: SshHost,
    private readonly log: (l: string) => void,
  ) {}

  where(): string {
    return `host ${this.host.name}`;
  }

  /**
   * Runs a host script. `secretOutput`: its standard output carries key material or cluster data, so
   * an error quotes only its standard error (the transport's errors would quote stdout too).
   */
  async sh(
    script: string,
    args: string[],
    o: { label: string; timeoutMs?: number; check?: boolean; maxOutputBytes?: number; secretOutput?: boolean },
  ): Promise<string> {
    const check = o.check ?? true;
    const r = await this.conn.run(['sh', '-c', script, 'hcb', ...args], {
      label: o.label,
      timeoutMs: o.timeoutMs ?? 120_000,
      check: check && !o.secretOutput,
      maxOutputBytes: o.maxOutputBytes,
    });
    if (check && r.code !== 0)
      throw new BackupError(
        `${this.where()}: ${o.label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(-800)}`,
      );
    if (r.stdoutTruncated) throw new BackupError(`${this.where()}: ${o.label}: the output was cut off`);
    return r.stdout;
  }

  /** The first container's `--flag=value` arguments of a static pod manifest on the host. */
  async staticPodFlags(name: (typeof STATIC_PODS)[number]): Promise<Map<string, string>> {
    const file = `${MANIFESTS_DIR}/${name}.yaml`;
    const out = await this.sh(
      'if [ -f "$2" ]; then echo "moved $(cat "$2")"; elif [ -f "$1" ]; then cat "$1"; else echo missing; fi',
      [file, IN_PROGRESS],
      { label: `read ${file}` },
    );
    if (out.startsWith('moved ')) {
      throw new BackupError(
        `${this.where()}: a restore did not finish: the static pod manifests are in ${out.slice(6).trim()}; move them back to ${MANIFESTS_DIR} (and remove ${IN_PROGRESS}) after checking the data directory`,
      );
    }
    if (out.trim() === 'missing')
      throw new BackupError(
        `${this.where()}: ${file} does not exist: is this a control plane made by kubeadm (hcb hosts target)?`,
      );
    const pod = parseYaml(out) as { spec?: { containers?: Array<{ command?: string[] }> } };
    const flags = new Map<string, string>();
    for (const a of pod?.spec?.containers?.[0]?.command?.slice(1) ?? []) {
      const m = /^--([^=]+)=(.*)$/.exec(a);
      if (m) flags.set(m[1], m[2]);
    }
    return flags;
  }

  /** The images of the static pods' containers (init containers too), as their manifests name them. */
  async staticPodImages(): Promise<string[]> {
    const images = new Set<string>();
    for (const name of STATIC_PODS) {
      const file = `${MANIFESTS_DIR}/${name}.yaml`;
      const out = await this.sh('[ -f "$1" ] && cat -- "$1" || true', [file], { label: `read ${file}` });
      if (!out.trim()) continue;
      const pod = parseYaml(out) as {
        spec?: { containers?: Array<{ image?: string }>; initContainers?: Array<{ image?: string }> };
      };
      for (const c of [...(pod?.spec?.initContainers ?? []), ...(pod?.spec?.containers ?? [])])
        if (typeof c.image === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/.test(c.image)) images.add(c.image);
    }
    return [...images];
  }

  /** Puts `local` at `remote` (mode 0755, root) unless the host has the same sha256 there. */
  async deliver(local: string, remote: string): Promise<void> {
    const want = sha256File(local);
    const have = (
      await this.sh('[ -f "$1" ] && sha256sum -- "$1" | cut -d" " -f1 || true', [remote], { label: `sha256 ${remote}` })
    ).trim();
    if (have === want) return;
    await this.sh('mkdir -p -- "$(dirname -- "$1")"', [remote], { label: `mkdir for ${remote}` });
    await this.conn.upload(fs.readFileSync(local), remote, { mode: '0755', owner: 'root:root', timeoutMs: 300_000 });
    this.log(`${this.where()}: delivered ${remote}`);
  }

  /** Copies a host file here in base64 chunks and checks size and sha256 against the host's. */
  async download(remote: string, local: string): Promise<{ bytes: number; sha256: string }> {
    const meta = (
      await this.sh('stat -c %s -- "$1" && sha256sum -- "$1" | cut -d" " -f1', [remote], { label: `stat ${remote}` })
    )
      .trim()
      .split('\n');
    const size = Number(meta[0]);
    const remoteSha = meta[1];
    if (!Number.isInteger(size) || !/^[0-9a-f]{64}$/.test(remoteSha ?? ''))
      throw new BackupError(`${this.where()}: cannot read the size and sha256 of ${remote}`);
    const fd = fs.openSync(local, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    const h = crypto.createHash('sha256');
    let got = 0;
    try {
      for (let i = 0; i * CHUNK_BYTES < size; i++) {
        const b64 = await this.sh(
          `dd if="$1" bs=${CHUNK_BYTES} skip="$2" count=1 2>/dev/null | base64 -w 0`,
          [remote, String(i)],
          {
            label: `read ${remote} part ${i + 1}/${Math.ceil(size / CHUNK_BYTES)}`,
            maxOutputBytes: Math.ceil((CHUNK_BYTES * 4) / 3) + 1024,
            timeoutMs: 300_000,
            secretOutput: true,
          },
        );
        const chunk = Buffer.from(b64.trim(), 'base64');
        fs.writeSync(fd, chunk);
        h.update(chunk);
        got += chunk.length;
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const sum = h.digest('hex');
    if (got !== size || sum !== remoteSha) {
      fs.rmSync(local, { force: true });
      throw new BackupError(
        `${this.where()}: ${remote} arrived as ${got} bytes, sha256 ${sum}; the host has ${size} bytes, sha256 ${remoteSha}`,
      );
    }
    return { bytes: got, sha256: sum };
  }

  /** Every regular file under `dirs` on the host with mode and content (small files: PKI, configuration, keys). */
  async readTree(dirs: string[]): Promise<Array<{ path: string; mode: number; content: Buffer }>> {
    const out = await this.sh(READ_TREE_SCRIPT, dirs, {
      label: `read ${dirs.join(', ')}`,
      maxOutputBytes: 32 * 1024 * 1024,
      secretOutput: true,
    });
    const files: Array<{ path: string; mode: number; content: Buffer }> = [];
    const lines = out.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^file ([0-7]+) ([0-9]+) ([0-9a-f]{64}) (\/.+)$/.exec(lines[i]);
      if (!m) continue;
      const [, mode, size, sum, p] = m;
      if (!/^\/[A-Za-z0-9._/@+-]+$/.test(p) || p.split('/').includes('..'))
        throw new BackupError(`${this.where()}: refusing to back up a file with an unusual name: ${JSON.stringify(p)}`);
      const content = Buffer.from(lines[++i] ?? '', 'base64');
      const got = crypto.createHash('sha256').update(content).digest('hex');
      if (content.length !== Number(size) || got !== sum)
        throw new BackupError(`${this.where()}: ${p} changed while it was read (or arrived damaged)`);
      files.push({ path: p, mode: parseInt(mode, 8), content });
    }
    return files;
  }
}

async function open(t: HostsBackupTarget): Promise<HostSession> {
  const conn = await SshConnection.connect(t.host, t.ssh);
  return new HostSession(conn, t.host, t.log ?? (() => undefined));
}

/** Directories a restore needs besides etcd's data, from the API server's flags. */
function configDirs(apiserver: Map<string, string>): string[] {
  const dirs = ['/etc/kubernetes/pki'];
  const enc = apiserver.get('encryption-provider-config');
  if (enc) dirs.push(path.posix.dirname(enc));
  dirs.push(HOST_SECRETS_DIR);
  return [...new Set(dirs)];
}

function requireFlag(flags: Map<string, string>, pod: string, name: string): string {
  const v = flags.get(name);
  if (!v) throw new BackupError(`${pod} runs without --${name}; cannot locate what a backup needs`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// backup

/** Takes an encrypted backup of the control-plane host's etcd, PKI and encryption configuration. */
export async function hostsBackupNow(opts: HostsBackupOptions): Promise<BackupManifest> {
  const log = opts.log ?? (() => undefined);
  const retain = opts.retain ?? 7;
  if (!Number.isInteger(retain) || retain < 1)
    throw new BackupError(`retain must be a whole number of at least 1, got ${retain}`);
  const etcdutl = path.join(opts.binDir, 'etcdutl');
  if (!fs.existsSync(etcdutl))
    throw new BackupError(`etcdutl not found in ${opts.binDir}: build the toolchain (npm run toolchain)`);
  const program = buildHostBackupProgram(undefined, log);
  const key = loadKey(opts.keyFile, true);
  const backupDir = path.resolve(opts.backupDir);
  fs.mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const work = fs.mkdtempSync(path.join(backupDir, '.work-'));
  const s = await open(opts);
  const remoteSnap = `${HOST_BACKUP_WORK_DIR}/snapshot-${crypto.randomBytes(6).toString('hex')}.db`;
  try {
    const apiserver = await s.staticPodFlags('kube-apiserver');
    await s.staticPodFlags('etcd'); // present, and no unfinished restore
    const endpoint = requireFlag(apiserver, 'kube-apiserver', 'etcd-servers')
      .split(',')
      .find((u) => u.startsWith('https://'));
    if (!endpoint) throw new BackupError('the API server reaches etcd over no https URL (--etcd-servers)');
    const remoteProgram = `${HOST_BACKUP_BIN_DIR}/hcb-host-backup`;
    await s.deliver(program, remoteProgram);
    await s.sh('umask 077; mkdir -p -- "$1"; chmod 0700 -- "$1"', [HOST_BACKUP_WORK_DIR], {
      label: 'backup work directory',
    });
    log(`${s.where()}: taking an etcd snapshot through the etcd API (${endpoint})`);
    const out = await s.sh(
      '"$1" snapshot --endpoint "$2" --cacert "$3" --cert "$4" --key "$5" --out "$6" --timeout "$7"',
      [
        remoteProgram,
        endpoint,
        requireFlag(apiserver, 'kube-apiserver', 'etcd-cafile'),
        requireFlag(apiserver, 'kube-apiserver', 'etcd-certfile'),
        requireFlag(apiserver, 'kube-apiserver', 'etcd-keyfile'),
        remoteSnap,
        `${Math.round((opts.snapshotTimeoutMs ?? 600_000) / 1000)}s`,
      ],
      { label: 'etcd snapshot on the host', timeoutMs: (opts.snapshotTimeoutMs ?? 600_000) + 30_000 },
    );
    const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      bytes?: number;
      sha256?: string;
      version?: string;
    };
    if (!result.bytes || !result.sha256)
      throw new BackupError(`${s.where()}: the snapshot program reported no result: ${out.slice(0, 300)}`);
    const snapPath = path.join(work, 'snapshot.db');
    const got = await s.download(remoteSnap, snapPath);
    if (got.sha256 !== result.sha256 || got.bytes !== result.bytes)
      throw new BackupError(
        `${s.where()}: the snapshot on the host is not what etcd streamed (${got.bytes} bytes ${got.sha256}, streamed ${result.bytes} bytes ${result.sha256})`,
      );
    const revision = snapshotRevision(etcdutl, snapPath);

    const configFiles: Array<{ name: string; abs: string; mode: number }> = [];
    for (const f of await s.readTree(configDirs(apiserver))) {
      const local = path.join(work, 'config', f.path);
      fs.mkdirSync(path.dirname(local), { recursive: true, mode: 0o700 });
      fs.writeFileSync(local, f.content, { mode: 0o600 });
      configFiles.push({ name: `config${f.path}`, abs: local, mode: f.mode });
    }
    if (!configFiles.some((f) => f.name.startsWith('config/etc/kubernetes/pki/')))
      throw new BackupError(`${s.where()}: /etc/kubernetes/pki holds no files`);
    return writeBackup({
      backupDir,
      key,
      cluster: opts.cluster,
      retain,
      snapshot: { path: snapPath, bytes: got.bytes, sha256: got.sha256, version: result.version, revision },
      configFiles,
      hcbVersion: opts.hcbVersion,
      source: { target: 'hosts', host: opts.host.name, address: opts.host.address },
      log,
    });
  } finally {
    await s
      .sh('rm -f -- "$1"', [remoteSnap], { label: 'remove the snapshot on the host', check: false })
      .catch(() => undefined);
    await s.conn.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// the schedule on the host

export interface HostsScheduleOptions extends HostsBackupTarget {
  /**
   * The local key file (32 bytes, 0600; created when missing) or the key itself (hcb:backupKey):
   * the host gets a copy, so `hcb backup verify|restore` read its backups.
   */
  keyFile: BackupKeySource;
  /**
   * Interval and retention (the stack's hcb:backup). Unset: read from the BackupConfiguration the
   * blueprint put on the host.
   */
  backup?: { interval: string; retain: number };
  /** Name in the backups (the stack or host name). */
  cluster: string;
  hcbVersion?: string;
  /** Enable the timer when the host runs systemd. @default true */
  enable?: boolean;
}

export interface HostsScheduleResult {
  /** Seconds between runs and backups kept, from the host's BackupConfiguration. */
  intervalSeconds: number;
  retain: number;
  /** What a scheduled run executes (the service's ExecStart), for cron or an init script without systemd. */
  command: string[];
  /** Where the backups and the key are on the host. */
  backupDir: string;
  hostKeyFile: string;
  /** Files written on the host. */
  files: string[];
  /** True when the host runs systemd and hcb-backup.timer was enabled and started. */
  timerEnabled: boolean;
}

/**
 * Installs the scheduled backup on the control-plane host: the host program and etcdutl (by
 * sha256), the HostBackupSchedule construct's files (program configuration, service, timer) with
 * interval and retention from the BackupConfiguration the blueprint put on the host
 * (/etc/kubernetes/backup/backup-config.yaml, i.e. what the stack deployed), etcd's endpoint and
 * client certificate from the API server's manifest, and a copy of the local backup key (0600,
 * root). With systemd the timer is enabled; without, nothing runs until cron or the init system
 * runs `command`.
 */
export async function installHostsSchedule(opts: HostsScheduleOptions): Promise<HostsScheduleResult> {
  const log = opts.log ?? (() => undefined);
  const etcdutl = path.join(opts.binDir, 'etcdutl');
  if (!fs.existsSync(etcdutl))
    throw new BackupError(`etcdutl not found in ${opts.binDir}: build the toolchain (npm run toolchain)`);
  const program = buildHostBackupProgram(undefined, log);
  const key = loadKey(opts.keyFile, true);
  // Loaded here: the construct library is not needed by the other backup paths.
  const { App } = await import('cdk8s');
  const { HostBackupSchedule } = await import('../../constructs/control-plane/host-backup-schedule');
  const { BACKUP_CONFIG_PATH } = await import('../../constructs/control-plane/paths');
  const s = await open(opts);
  try {
    const apiserver = await s.staticPodFlags('kube-apiserver');
    await s.staticPodFlags('etcd');
    const endpoint = requireFlag(apiserver, 'kube-apiserver', 'etcd-servers')
      .split(',')
      .find((u) => u.startsWith('https://'));
    if (!endpoint) throw new BackupError('the API server reaches etcd over no https URL (--etcd-servers)');
    let backup = opts.backup;
    if (!backup) {
      const cfgText = await s.sh('cat -- "$1"', [BACKUP_CONFIG_PATH], { label: `read ${BACKUP_CONFIG_PATH}` });
      const doc = parseAllDocuments(cfgText)
        .map((d) => d.toJS() as { kind?: string; spec?: { interval?: unknown; retain?: unknown } })
        .find((d) => d?.kind === 'BackupConfiguration');
      if (!doc?.spec || typeof doc.spec.interval !== 'string' || typeof doc.spec.retain !== 'number')
        throw new BackupError(
          `${s.where()}: ${BACKUP_CONFIG_PATH} holds no BackupConfiguration with spec.interval and spec.retain (set the control plane's backup prop and bring the host up again)`,
        );
      backup = { interval: doc.spec.interval, retain: doc.spec.retain };
    }
    const enc = apiserver.get('encryption-provider-config');
    const schedule = new HostBackupSchedule(new App({ outdir: '/nonexistent-hcb-synth' }), 'schedule', {
      backup,
      cluster: opts.cluster,
      hostName: opts.host.name,
      address: opts.host.address,
      etcd: {
        endpoint,
        caFile: requireFlag(apiserver, 'kube-apiserver', 'etcd-cafile'),
        certFile: requireFlag(apiserver, 'kube-apiserver', 'etcd-certfile'),
        keyFile: requireFlag(apiserver, 'kube-apiserver', 'etcd-keyfile'),
      },
      ...(enc ? { encryptionConfigDir: path.posix.dirname(enc) } : {}),
      secretsDir: HOST_SECRETS_DIR,
      hcbVersion: opts.hcbVersion,
      binDir: HOST_BACKUP_BIN_DIR,
    });
    await s.deliver(program, schedule.programPath);
    await s.deliver(etcdutl, schedule.etcdutlPath);
    await s.sh(
      'umask 077; for d; do mkdir -p -- "$d"; chmod 0700 -- "$d"; done',
      [schedule.workDir, schedule.backupDir, path.posix.dirname(schedule.keyFile)],
      { label: 'backup directories' },
    );
    await s.conn.upload(key, schedule.keyFile, { mode: '0600', owner: 'root:root', secret: true });
    const files: string[] = [schedule.keyFile];
    for (const f of schedule.nodeFiles) {
      await s.sh('mkdir -p -- "$(dirname -- "$1")"', [f.path], { label: `directory of ${f.path}` });
      await s.conn.upload(f.content!, f.path, {
        mode: `0${f.mode.toString(8)}`,
        owner: `${f.owner}:${f.group}`,
      });
      files.push(f.path);
    }
    let timerEnabled = false;
    const systemd = (await s.sh('[ -d /run/systemd/system ] && echo yes || echo no', [], { label: 'systemd?' })).trim();
    if (systemd === 'yes' && opts.enable !== false) {
      await s.sh('systemctl daemon-reload && systemctl enable --now hcb-backup.timer', [], {
        label: 'enable hcb-backup.timer',
      });
      timerEnabled = true;
      log(`${s.where()}: hcb-backup.timer enabled (every ${schedule.intervalSeconds}s, keeps ${schedule.retain})`);
    } else {
      log(
        `${s.where()}: ${systemd === 'yes' ? 'timer not enabled (enable: false)' : 'no systemd'}: run \`${schedule.command.join(' ')}\` every ${schedule.intervalSeconds}s from cron or the init system`,
      );
    }
    return {
      intervalSeconds: schedule.intervalSeconds,
      retain: schedule.retain,
      command: [...schedule.command],
      backupDir: schedule.backupDir,
      hostKeyFile: schedule.keyFile,
      files,
      timerEnabled,
    };
  } finally {
    await s.conn.close();
  }
}

/** What `removeHostsSchedule` takes off a host; backups already taken stay (/var/lib/hcb/backups). */
export const HOST_SCHEDULE_FILES = [
  '/etc/systemd/system/hcb-backup.timer',
  '/etc/systemd/system/hcb-backup.service',
  '/etc/hcb/backup/schedule.json',
  '/etc/hcb/backup/backup-key',
] as const;

/**
 * $@ the schedule's files. With systemd the timer is stopped and disabled first (a run under way
 * finishes: the service is oneshot and holds the run lock); then the files go. Prints "removed".
 */
const REMOVE_SCHEDULE_SCRIPT = `set -u
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now hcb-backup.timer >/dev/null 2>&1 || true
fi
rm -f -- "$@"
rmdir -- /etc/hcb/backup 2>/dev/null || true
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
for f; do if [ -e "$f" ]; then echo "left $f"; exit 1; fi; done
echo removed
`;

/**
 * Takes the scheduled backup off the control-plane host: the timer is disabled, the unit, timer,
 * program configuration and the host's copy of the key are removed. Backups already written stay
 * in /var/lib/hcb/backups (they are the operator's; the stack's key still reads them); the host
 * reset of `pulumi destroy` removes /var/lib/hcb with the rest.
 */
export async function removeHostsSchedule(t: HostsBackupTarget): Promise<void> {
  const s = await open(t);
  try {
    const out = await s.sh(REMOVE_SCHEDULE_SCRIPT, [...HOST_SCHEDULE_FILES], { label: 'remove the scheduled backup' });
    if (!/^removed$/m.test(out))
      throw new BackupError(`${s.where()}: the scheduled backup was not removed: ${out.trim()}`);
    (t.log ?? (() => undefined))(
      `${s.where()}: scheduled backup removed (backups taken so far stay in /var/lib/hcb/backups)`,
    );
  } finally {
    await s.conn.close();
  }
}

/** The schedule's files missing on the host, or with another mode or owner than installed (empty: all there). */
export async function hostsScheduleProblems(t: HostsBackupTarget): Promise<string[]> {
  const want: Record<string, string> = {
    '/etc/systemd/system/hcb-backup.timer': '644 root',
    '/etc/systemd/system/hcb-backup.service': '644 root',
    '/etc/hcb/backup/schedule.json': '600 root',
    '/etc/hcb/backup/backup-key': '600 root',
    [`${HOST_BACKUP_BIN_DIR}/hcb-host-backup`]: '755 root',
    [`${HOST_BACKUP_BIN_DIR}/etcdutl`]: '755 root',
  };
  const s = await open(t);
  try {
    const out = await s.sh(
      'for f; do if [ -f "$f" ]; then echo "$(stat -c \'%a %U\' -- "$f") $f"; else echo "missing $f"; fi; done',
      Object.keys(want),
      { label: "the scheduled backup's files" },
    );
    const problems: string[] = [];
    for (const line of out.trim().split('\n')) {
      const m = /^(\S+ \S+|missing) (\/.+)$/.exec(line);
      if (m && m[1] !== want[m[2]])
        problems.push(`${m[2]}: ${m[1] === 'missing' ? 'missing' : `${m[1]}, want ${want[m[2]]}`}`);
    }
    return problems;
  } finally {
    await s.conn.close();
  }
}

/** The manifests of the backups on the host (the scheduled ones), newest first. */
export async function hostsListBackups(t: HostsBackupTarget, dir = '/var/lib/hcb/backups'): Promise<BackupManifest[]> {
  const s = await open(t);
  try {
    const out = await s.sh(
      'for f in "$1"/*"$2"; do [ -f "$f.json" ] || continue; printf "manifest "; tr -d "\\n" < "$f.json"; echo; done; true',
      [dir, BACKUP_SUFFIX],
      { label: `list ${dir}`, maxOutputBytes: 8 * 1024 * 1024 },
    );
    const all: BackupManifest[] = [];
    for (const line of out.split('\n')) {
      if (!line.startsWith('manifest ')) continue;
      try {
        all.push(JSON.parse(line.slice('manifest '.length)) as BackupManifest);
      } catch {
        throw new BackupError(`${s.where()}: a manifest in ${dir} is not JSON`);
      }
    }
    return all.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.revision - a.revision));
  } finally {
    await s.conn.close();
  }
}

// ---------------------------------------------------------------------------------------------
// control-plane images kept from the kubelet's image GC

/** containerd's CRI label that marks an image pinned (containerd internal/cri/labels: PinnedImageLabelKey/Value). */
export const CRI_PINNED_LABEL = 'io.cri-containerd.pinned=pinned';
/** The bring-up's ctr and containerd socket (stacks/hosts/bringup.ts HOST_BIN_DIR, CONTAINERD_SOCKET). */
const HOST_CTR = `${HOST_BACKUP_BIN_DIR}/ctr`;
const HOST_CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

/**
 * $1 ctr, $2 containerd socket, then image references: labels each image pinned in containerd's
 * k8s.io namespace. Prints "pinned <ref>" per image, "absent <ref>" for one containerd does not
 * have, and exits non-zero when ctr fails.
 */
export const PIN_IMAGES_SCRIPT = `set -u
ctr=$1 sock=$2; shift 2
have=$("$ctr" --address "$sock" --namespace k8s.io images list --quiet) || { echo "ctr images list failed"; exit 1; }
for ref; do
  if ! printf '%s\\n' "$have" | grep -qxF -- "$ref"; then echo "absent $ref"; continue; fi
  "$ctr" --address "$sock" --namespace k8s.io images label "$ref" ${CRI_PINNED_LABEL} >/dev/null || { echo "label failed $ref"; exit 1; }
  echo "pinned $ref"
done
`;

/**
 * Labels the images of the static pods pinned before a restore stops them. containerd's CRI reports
 * an image with `io.cri-containerd.pinned=pinned` as pinned (internal/cri/store/image getImage, and
 * its ImageUpdate event refreshes that), and the kubelet's image GC and disk-pressure eviction skip
 * pinned images (pkg/kubelet/images image_gc_manager.go imagesInEvictionOrder). With the static pods
 * stopped their images are unused, and the lab (like any host without a registry) cannot pull them
 * again. The label stays: these images are never to be collected while the host is a control plane.
 */
async function pinStaticPodImages(s: HostSession, log: (l: string) => void): Promise<string[]> {
  const images = await s.staticPodImages();
  if (images.length === 0) return [];
  const out = await s.sh(PIN_IMAGES_SCRIPT, [HOST_CTR, HOST_CONTAINERD_SOCKET, ...images], {
    label: 'pin the control-plane images',
    check: false,
  });
  const pinned = [...out.matchAll(/^pinned (.+)$/gm)].map((m) => m[1]);
  const absent = [...out.matchAll(/^absent (.+)$/gm)].map((m) => m[1]);
  if (pinned.length + absent.length !== images.length)
    throw new BackupError(
      `${s.where()}: could not pin the control-plane images against the kubelet's image GC (nothing was changed): ${out.trim().split('\n').slice(-2).join(' | ')}`,
    );
  if (absent.length > 0)
    log(`${s.where()}: not in containerd, so not pinned (the kubelet pulls them): ${absent.join(', ')}`);
  return pinned;
}

// ---------------------------------------------------------------------------------------------
// restore

/**
 * Restores a backup onto the control-plane host it was taken from. The backup is authenticated
 * on this machine before the host is contacted; every check that can refuse runs before the
 * control plane is stopped.
 */
export async function hostsRestore(opts: HostsRestoreOptions): Promise<HostsRestoreResult> {
  const log = opts.log ?? (() => undefined);
  const etcdutl = path.join(opts.binDir, 'etcdutl');
  if (!fs.existsSync(etcdutl))
    throw new BackupError(`etcdutl not found in ${opts.binDir}: build the toolchain (npm run toolchain)`);
  const key = loadKey(opts.keyFile, false);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-hosts-restore-'));
  try {
    log(`authenticating ${path.basename(opts.file)}`);
    const { manifest, files } = decryptBackup(opts.file, key, work);
    if (manifest.source?.target !== 'hosts')
      throw new BackupError(
        `${path.basename(opts.file)} is a backup of a local cluster, not of a hosts control plane; restore it with hcb backup restore --state-dir`,
      );
    if (manifest.source.host !== opts.host.name)
      throw new BackupError(
        `${path.basename(opts.file)} was taken on host ${manifest.source.host}, not ${opts.host.name}; a restore goes back onto the host it was taken from`,
      );
    const program = buildHostBackupProgram(undefined, log);
    const snap = files.find((f) => f.name === 'etcd/snapshot.db')!;
    const config = files
      .filter((f) => f.name.startsWith('config/'))
      .map((f) => ({ ...f, remote: f.name.slice('config'.length) }));

    const s = await open(opts);
    try {
      return await restoreOnHost(s, opts, manifest, snap.path, config, program, etcdutl);
    } finally {
      await s.conn.close();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function restoreOnHost(
  s: HostSession,
  opts: HostsRestoreOptions,
  manifest: BackupManifest,
  snapshot: string,
  config: Array<{ name: string; path: string; mode: number; remote: string }>,
  program: string,
  etcdutl: string,
): Promise<HostsRestoreResult> {
  const log = opts.log ?? (() => undefined);
  const etcd = await s.staticPodFlags('etcd');
  const apiserver = await s.staticPodFlags('kube-apiserver');
  const dataDir = requireFlag(etcd, 'etcd', 'data-dir');
  if (!/^\/[A-Za-z0-9._/-]+$/.test(dataDir) || dataDir.split('/').includes('..') || dataDir === '/')
    throw new BackupError(`etcd's --data-dir ${dataDir} is not a plain absolute path`);

  // Plan the configuration files: nothing changes unless the whole restore can go ahead.
  const { writes, differs: differingConfig } = await planConfigWrites(s, config, !!opts.replaceConfig);
  const restoredConfig = writes.map((c) => c.remote);
  const encDirs = configDirs(apiserver).filter((d) => d !== '/etc/kubernetes/pki');
  const encryptionDiffers = differingConfig.filter((p) => encDirs.some((d) => p.startsWith(`${d}/`)));
  if (encryptionDiffers.length > 0) {
    throw new BackupError(
      `${s.where()}: the encryption configuration or key differs from the backup's (${encryptionDiffers.join(', ')}): Secrets in the restored data could not be read. ` +
        "Restore with --replace-config to put the backup's back (the current files are kept beside them); nothing was changed",
    );
  }

  // The new data directory, written beside the old one while the control plane still runs.
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const fresh = `${dataDir}.restore-${stamp}`;
  const remoteEtcdutl = `${HOST_BACKUP_BIN_DIR}/etcdutl`;
  const remoteProgram = `${HOST_BACKUP_BIN_DIR}/hcb-host-backup`;
  await s.deliver(etcdutl, remoteEtcdutl);
  await s.deliver(program, remoteProgram);
  await s.sh('umask 077; mkdir -p -- "$1"; chmod 0700 -- "$1"', [HOST_BACKUP_WORK_DIR], {
    label: 'backup work directory',
  });
  const remoteSnap = `${HOST_BACKUP_WORK_DIR}/restore-${stamp}.db`;
  let stopped = false;
  let swapped = false;
  try {
    await s.conn.upload(fs.readFileSync(snapshot), remoteSnap, {
      mode: '0600',
      owner: 'root:root',
      timeoutMs: 600_000,
    });
    const args = [
      'snapshot',
      'restore',
      remoteSnap,
      '--data-dir',
      fresh,
      '--bump-revision',
      String(RESTORE_REVISION_BUMP),
      '--mark-compacted',
    ];
    for (const f of ['name', 'initial-cluster', 'initial-cluster-token', 'initial-advertise-peer-urls']) {
      const v = etcd.get(f);
      if (v) args.push(`--${f}`, v);
    }
    log(`${s.where()}: etcdutl snapshot restore into ${fresh}`);
    const r = await s.conn.run([remoteEtcdutl, ...args], {
      label: 'etcdutl snapshot restore',
      timeoutMs: 600_000,
      check: false,
    });
    if (r.code !== 0) {
      await s.sh('rm -rf -- "$1"', [fresh], { label: 'remove the partial restore', check: false });
      throw new BackupError(
        `${s.where()}: etcdutl snapshot restore failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}; nothing was changed`,
      );
    }

    // The images stay while the pods are stopped (the kubelet's image GC skips pinned images).
    const pinned = await pinStaticPodImages(s, log);
    if (pinned.length) log(`${s.where()}: pinned ${pinned.join(', ')}`);
    // Kubernetes' procedure for kubeadm's static pods: stop them by moving their manifests out.
    const moved = `${HOST_BACKUP_WORK_DIR}/manifests-${stamp}`;
    log(`${s.where()}: stopping the control plane (manifests moved to ${moved})`);
    stopped = true;
    const stop = await s.sh(
      STOP_SCRIPT,
      [MANIFESTS_DIR, moved, IN_PROGRESS, String(Math.round((opts.stopTimeoutMs ?? 240_000) / 1000)), ...STATIC_PODS],
      {
        label: 'stop the static pods',
        timeoutMs: (opts.stopTimeoutMs ?? 240_000) + 30_000,
        check: false,
      },
    );
    if (!/^hcb-stopped$/m.test(stop))
      throw new BackupError(
        `${s.where()}: the control plane's containers did not stop: ${stop.trim().split('\n').slice(-3).join(' | ')}`,
      );

    for (const w of writes) {
      await s.sh(
        'mkdir -p -m 0700 -- "$(dirname -- "$1")"; [ -f "$1" ] && cp -p -- "$1" "$1.before-restore-$2"; true',
        [w.remote, stamp],
        { label: `keep ${w.remote}` },
      );
      await s.conn.upload(fs.readFileSync(w.path), w.remote, {
        mode: `0${(w.mode & 0o777).toString(8).padStart(3, '0')}`,
        owner: 'root:root',
        secret: true,
      });
    }
    const swap = await s.sh(SWAP_SCRIPT, [dataDir, fresh, stamp], { label: 'swap the data directory' });
    swapped = true;
    const previousDataDir = /^previous (.+)$/m.exec(swap)?.[1];

    log(`${s.where()}: starting the control plane`);
    await s.sh(START_SCRIPT, [MANIFESTS_DIR, moved, IN_PROGRESS], { label: 'start the static pods' });
    stopped = false;
    const ready = await s.sh(
      '"$1" wait-ready --kubeconfig /etc/kubernetes/admin.conf --path /readyz --timeout "$2"',
      [remoteProgram, `${Math.round((opts.readyTimeoutMs ?? 360_000) / 1000)}s`],
      {
        label: 'wait for the API server',
        timeoutMs: (opts.readyTimeoutMs ?? 360_000) + 30_000,
        check: false,
      },
    );
    if (!/^ready after/m.test(ready)) {
      throw new BackupError(
        `${s.where()}: the API server did not become ready after the restore${previousDataDir ? `; the previous data directory is kept in ${previousDataDir}` : ''}: ${ready.trim().slice(-300)}`,
      );
    }
    log(
      `${s.where()}: restored revision ${manifest.revision} from ${manifest.time}; API ${ready.trim()}${previousDataDir ? `; the previous data is kept in ${previousDataDir}` : ''}`,
    );
    return { manifest, previousDataDir, restoredConfig, differingConfig };
  } catch (e) {
    if (stopped) {
      // Put the control plane back as it was found (the data directory only when it was not yet swapped).
      if (!swapped)
        await s
          .sh('rm -rf -- "$1"', [fresh], { label: 'remove the unused restore', check: false })
          .catch(() => undefined);
      const back = await s
        .sh(START_SCRIPT, [MANIFESTS_DIR, `${HOST_BACKUP_WORK_DIR}/manifests-${stamp}`, IN_PROGRESS], {
          label: 'start the static pods again',
          check: false,
        })
        .catch((x: Error) => x.message);
      throw new BackupError(
        `${(e as Error).message}\n(static pod manifests put back: ${back.trim() || 'ok'}${swapped ? '' : '; the data directory was not changed'})`,
        { cause: e },
      );
    }
    if (!swapped)
      await s
        .sh('rm -rf -- "$1"', [fresh], { label: 'remove the unused restore', check: false })
        .catch(() => undefined);
    throw e;
  } finally {
    await s
      .sh('rm -f -- "$1"', [remoteSnap], { label: 'remove the uploaded snapshot', check: false })
      .catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// restore of several control planes (kubeadm's stacked etcd: one member on each control plane)
//
// Kubernetes' documented procedure for a cluster of several etcd members ("Operating etcd clusters
// for Kubernetes", restoring an etcd cluster; etcd's disaster-recovery guide): stop every API server
// first, restore every member from the SAME snapshot, each with its own --name and
// --initial-advertise-peer-urls and one --initial-cluster naming all of them, then start etcd and
// the API servers again. A snapshot restores a new cluster (new cluster ID, the membership given at
// restore), so no member may keep its old data: a member left out would not be let back in.

/** One etcd member as kubeadm's etcd manifest on its control-plane host configures it. */
export interface EtcdMember {
  /** The control-plane host (hcb:hosts name). */
  host: string;
  /** etcd's --name (kubeadm: the node name). */
  name: string;
  /** --initial-advertise-peer-urls (kubeadm: https://<address>:2380). */
  peerUrls: string[];
  /** --data-dir */
  dataDir: string;
  /** --initial-cluster-token, when kubeadm's manifest sets one. */
  token?: string;
}

/** The member's settings from its etcd manifest's flags; refused when a restore could not rely on them. */
export function etcdMemberFromFlags(host: string, flags: Map<string, string>): EtcdMember {
  const at = `host ${host}: etcd`;
  const name = flags.get('name');
  if (!name || !/^[A-Za-z0-9._-]{1,253}$/.test(name))
    throw new BackupError(
      `${at} runs without a plain --name (${JSON.stringify(name ?? null)}); cannot restore it as a member`,
    );
  const peer = flags.get('initial-advertise-peer-urls');
  if (!peer) throw new BackupError(`${at} runs without --initial-advertise-peer-urls; cannot restore it as a member`);
  const peerUrls = peer.split(',').map((u) => u.trim());
  for (const u of peerUrls)
    if (!/^https?:\/\/[^\s,=/]+$/.test(u))
      throw new BackupError(
        `${at}: --initial-advertise-peer-urls has ${JSON.stringify(u)}, not a URL like https://<address>:2380`,
      );
  const dataDir = flags.get('data-dir');
  if (!dataDir || !/^\/[A-Za-z0-9._/-]+$/.test(dataDir) || dataDir.split('/').includes('..') || dataDir === '/')
    throw new BackupError(`${at}'s --data-dir ${JSON.stringify(dataDir ?? null)} is not a plain absolute path`);
  const token = flags.get('initial-cluster-token');
  return { host, name, peerUrls, dataDir, ...(token ? { token } : {}) };
}

export interface MemberRestorePlan {
  host: string;
  name: string;
  dataDir: string;
  /** The new data directory, written beside the old one while the control plane still runs. */
  fresh: string;
  /** Arguments of `etcdutl` on that host. */
  etcdutlArgs: string[];
}

/**
 * One `etcdutl snapshot restore` per member, all from the same snapshot: each with its own --name
 * and --initial-advertise-peer-urls, and the same --initial-cluster naming every member (built from
 * the members, not copied from a manifest: kubeadm writes into each joining member's manifest only
 * the members that existed when it joined, so the first member's names only itself).
 */
export function planMemberRestores(members: EtcdMember[], o: { snapshot: string; stamp: string }): MemberRestorePlan[] {
  if (members.length === 0) throw new BackupError('no etcd member to restore');
  const seen = new Map<string, string>();
  for (const m of members) {
    for (const k of [`name ${m.name}`, ...m.peerUrls.map((u) => `peer URL ${u}`), `host ${m.host}`]) {
      const other = seen.get(k);
      if (other !== undefined)
        throw new BackupError(`hosts ${other} and ${m.host} both have etcd ${k}; each member needs its own`);
      seen.set(k, m.host);
    }
  }
  const tokens = new Set(members.map((m) => m.token ?? ''));
  if (tokens.size > 1)
    throw new BackupError(
      `the etcd members disagree on --initial-cluster-token (${members.map((m) => `${m.host}: ${m.token ?? 'none'}`).join(', ')}); a restored cluster needs one`,
    );
  const initialCluster = members.flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`)).join(',');
  return members.map((m) => {
    const fresh = `${m.dataDir}.restore-${o.stamp}`;
    return {
      host: m.host,
      name: m.name,
      dataDir: m.dataDir,
      fresh,
      etcdutlArgs: [
        'snapshot',
        'restore',
        o.snapshot,
        '--data-dir',
        fresh,
        '--name',
        m.name,
        '--initial-cluster',
        initialCluster,
        '--initial-advertise-peer-urls',
        m.peerUrls.join(','),
        ...(m.token ? ['--initial-cluster-token', m.token] : []),
        '--bump-revision',
        String(RESTORE_REVISION_BUMP),
        '--mark-compacted',
      ],
    };
  });
}

/** What the cluster restore does on one member's host; the real steps run over SSH (hostsRestoreCluster). */
export interface MemberRestoreSteps {
  host: string;
  /** The snapshot uploaded and restored into the fresh data directory (the control plane still runs). */
  prepare(): Promise<void>;
  /** The static pods' images pinned against the kubelet's image GC. */
  pin(): Promise<void>;
  /** These static pods stopped (their manifests moved out) and their containers gone. */
  stop(components: readonly string[]): Promise<void>;
  /** Configuration files written (replaceConfig or missing ones), the data directory swapped. */
  swap(): Promise<void>;
  /** The swap taken back (the old data directory in place again). */
  unswap(): Promise<void>;
  /** Every moved manifest back (etcd first). */
  start(): Promise<void>;
  /** The API server on this host answers /readyz. */
  waitReady(): Promise<void>;
  /** The fresh directory (unless swapped) and the uploaded snapshot removed. */
  discard(): Promise<void>;
}

/** The API side first: no API server may run while any member's data changes. */
export const API_STATIC_PODS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * The order of Kubernetes' procedure over every member: everything that can refuse runs while the
 * cluster still serves (prepare); then the API servers stop on every host, then etcd on every host;
 * the data directories are swapped on all of them, and all start again. A failure before the swap
 * puts every stopped host back as it was; a failure during the swap takes back the swaps done.
 */
export async function runClusterRestore(members: MemberRestoreSteps[], log: (l: string) => void): Promise<void> {
  const discardAll = async () => {
    for (const m of members) await m.discard().catch(() => undefined);
  };
  try {
    for (const m of members) await m.prepare();
  } catch (e) {
    await discardAll();
    throw new BackupError(`${(e as Error).message}; nothing was changed on any host`, { cause: e });
  }
  const stopped: MemberRestoreSteps[] = [];
  const swapped: MemberRestoreSteps[] = [];
  try {
    for (const m of members) await m.pin();
    log(`stopping the API servers on ${members.map((m) => m.host).join(', ')}`);
    for (const m of members) {
      if (!stopped.includes(m)) stopped.push(m);
      await m.stop(API_STATIC_PODS);
    }
    log(`stopping etcd on ${members.map((m) => m.host).join(', ')}`);
    for (const m of members) await m.stop(['etcd']);
    for (const m of members) {
      await m.swap();
      swapped.push(m);
    }
  } catch (e) {
    const notes: string[] = [];
    for (const m of [...swapped].reverse())
      await m.unswap().catch((x: Error) => notes.push(`${m.host}: the swap could not be taken back: ${x.message}`));
    for (const m of stopped) await m.start().catch((x: Error) => notes.push(`${m.host}: ${x.message}`));
    await discardAll();
    throw new BackupError(
      `${(e as Error).message}\n(every host put back as it was${notes.length ? `, except: ${notes.join('; ')}` : ''})`,
      { cause: e },
    );
  }
  log(`starting etcd and the control plane on ${members.map((m) => m.host).join(', ')}`);
  for (const m of members) await m.start();
  for (const m of members) await m.waitReady();
  await discardAll();
}

/** Certificates and keys every kubeadm control plane shares (the ones a further control plane is given). */
const SHARED_PKI = [
  'ca.crt',
  'ca.key',
  'sa.key',
  'sa.pub',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'etcd/ca.crt',
  'etcd/ca.key',
].map((f) => `/etc/kubernetes/pki/${f}`);

export interface HostsClusterRestoreOptions {
  /** Every control-plane host of the cluster (each runs one etcd member). */
  members: HostsBackupTarget[];
  file: string;
  keyFile: BackupKeySource;
  /** Put the backup's shared configuration back where it differs (kept as *.before-restore-<time>). */
  replaceConfig?: boolean;
  stopTimeoutMs?: number;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Restores a backup into every etcd member of a cluster of several control planes (runClusterRestore's
 * order, planMemberRestores' arguments). The backup must come from one of these hosts; that host
 * gets its configuration files compared as in a single restore, the others the files all control
 * planes share (the cluster CAs, the service-account key, the encryption configuration and keys);
 * per-host certificates are theirs and left alone.
 */
export async function hostsRestoreCluster(opts: HostsClusterRestoreOptions): Promise<HostsRestoreResult> {
  const log = opts.log ?? (() => undefined);
  if (opts.members.length === 0) throw new BackupError('no control-plane host to restore');
  const binDir = opts.members[0].binDir;
  const etcdutl = path.join(binDir, 'etcdutl');
  if (!fs.existsSync(etcdutl))
    throw new BackupError(`etcdutl not found in ${binDir}: build the toolchain (npm run toolchain)`);
  const key = loadKey(opts.keyFile, false);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-hosts-restore-'));
  const sessions: HostSession[] = [];
  try {
    log(`authenticating ${path.basename(opts.file)}`);
    const { manifest, files } = decryptBackup(opts.file, key, work);
    if (manifest.source?.target !== 'hosts')
      throw new BackupError(`${path.basename(opts.file)} is a backup of a local cluster, not of hosts control planes`);
    const source = manifest.source.host;
    if (!opts.members.some((m) => m.host.name === source))
      throw new BackupError(
        `${path.basename(opts.file)} was taken on host ${source}, which is not one of this cluster's control planes (${opts.members.map((m) => m.host.name).join(', ')})`,
      );
    const program = buildHostBackupProgram(undefined, log);
    const snap = files.find((f) => f.name === 'etcd/snapshot.db')!;
    const config = files
      .filter((f) => f.name.startsWith('config/'))
      .map((f) => ({ ...f, remote: f.name.slice('config'.length) }));
    for (const m of opts.members) sessions.push(await open(m));
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const members: EtcdMember[] = [];
    const apiservers: Array<Map<string, string>> = [];
    for (const s of sessions) {
      members.push(etcdMemberFromFlags(s.host.name, await s.staticPodFlags('etcd')));
      apiservers.push(await s.staticPodFlags('kube-apiserver'));
    }
    const remoteSnap = `${HOST_BACKUP_WORK_DIR}/restore-${stamp}.db`;
    const plans = planMemberRestores(members, { snapshot: remoteSnap, stamp });

    // The configuration each host gets: refused before anything changes when it differs (unless replaceConfig).
    const restoredConfig: string[] = [];
    const differingConfig: string[] = [];
    const writesByHost: Array<typeof config> = [];
    for (const [i, s] of sessions.entries()) {
      const own = s.host.name === source;
      const encDirs = configDirs(apiservers[i]).filter((d) => d !== '/etc/kubernetes/pki');
      const relevant = config.filter(
        (c) => own || SHARED_PKI.includes(c.remote) || encDirs.some((d) => c.remote.startsWith(`${d}/`)),
      );
      const { writes, differs } = await planConfigWrites(s, relevant, !!opts.replaceConfig);
      for (const c of writes) restoredConfig.push(`${s.host.name}:${c.remote}`);
      const refuse = differs.filter((p) => SHARED_PKI.includes(p) || encDirs.some((d) => p.startsWith(`${d}/`)));
      if (refuse.length > 0)
        throw new BackupError(
          `${s.where()}: ${refuse.join(', ')} differ from the backup's (the cluster's CAs, service-account key or encryption configuration): the restored data would not fit them. ` +
            "Restore with --replace-config to put the backup's back (the current files are kept beside them); nothing was changed",
        );
      differingConfig.push(...differs.map((p) => `${s.host.name}:${p}`));
      writesByHost.push(writes);
    }

    const steps = sessions.map((s, i): MemberRestoreSteps => {
      const plan = plans[i];
      const moved = `${HOST_BACKUP_WORK_DIR}/manifests-${stamp}`;
      let isSwapped = false;
      let previous: string | undefined;
      return {
        host: s.host.name,
        async prepare() {
          await s.deliver(etcdutl, `${HOST_BACKUP_BIN_DIR}/etcdutl`);
          await s.deliver(program, `${HOST_BACKUP_BIN_DIR}/hcb-host-backup`);
          await s.sh('umask 077; mkdir -p -- "$1"; chmod 0700 -- "$1"', [HOST_BACKUP_WORK_DIR], {
            label: 'backup work directory',
          });
          await s.conn.upload(fs.readFileSync(snap.path), remoteSnap, {
            mode: '0600',
            owner: 'root:root',
            timeoutMs: 600_000,
          });
          log(`${s.where()}: etcdutl snapshot restore as member ${plan.name} into ${plan.fresh}`);
          const r = await s.conn.run([`${HOST_BACKUP_BIN_DIR}/etcdutl`, ...plan.etcdutlArgs], {
            label: 'etcdutl snapshot restore',
            timeoutMs: 600_000,
            check: false,
          });
          if (r.code !== 0)
            throw new BackupError(
              `${s.where()}: etcdutl snapshot restore failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
            );
        },
        async pin() {
          const pinned = await pinStaticPodImages(s, log);
          if (pinned.length) log(`${s.where()}: pinned ${pinned.join(', ')}`);
        },
        async stop(components) {
          const secs = Math.round((opts.stopTimeoutMs ?? 240_000) / 1000);
          const out = await s.sh(STOP_SCRIPT, [MANIFESTS_DIR, moved, IN_PROGRESS, String(secs), ...components], {
            label: `stop ${components.join(', ')}`,
            timeoutMs: (opts.stopTimeoutMs ?? 240_000) + 30_000,
            check: false,
          });
          if (!/^hcb-stopped$/m.test(out))
            throw new BackupError(
              `${s.where()}: ${components.join(', ')} did not stop: ${out.trim().split('\n').slice(-3).join(' | ')}`,
            );
        },
        async swap() {
          for (const w of writesByHost[i]) {
            await s.sh(
              'mkdir -p -m 0700 -- "$(dirname -- "$1")"; [ -f "$1" ] && cp -p -- "$1" "$1.before-restore-$2"; true',
              [w.remote, stamp],
              { label: `keep ${w.remote}` },
            );
            await s.conn.upload(fs.readFileSync(w.path), w.remote, {
              mode: `0${(w.mode & 0o777).toString(8).padStart(3, '0')}`,
              owner: 'root:root',
              secret: true,
            });
          }
          const out = await s.sh(SWAP_SCRIPT, [plan.dataDir, plan.fresh, stamp], { label: 'swap the data directory' });
          isSwapped = true;
          previous = /^previous (.+)$/m.exec(out)?.[1];
        },
        async unswap() {
          if (!isSwapped) return;
          await s.sh(UNSWAP_SCRIPT, [plan.dataDir, plan.fresh, previous ?? ''], { label: 'take the swap back' });
          isSwapped = false;
        },
        async start() {
          await s.sh(START_SCRIPT, [MANIFESTS_DIR, moved, IN_PROGRESS], { label: 'start the static pods' });
        },
        async waitReady() {
          const ready = await s.sh(
            '"$1" wait-ready --kubeconfig /etc/kubernetes/admin.conf --path /readyz --timeout "$2"',
            [`${HOST_BACKUP_BIN_DIR}/hcb-host-backup`, `${Math.round((opts.readyTimeoutMs ?? 360_000) / 1000)}s`],
            { label: 'wait for the API server', timeoutMs: (opts.readyTimeoutMs ?? 360_000) + 30_000, check: false },
          );
          if (!/^ready after/m.test(ready))
            throw new BackupError(
              `${s.where()}: the API server did not become ready after the restore${previous ? `; the previous data directory is kept in ${previous}` : ''}: ${ready.trim().slice(-300)}`,
            );
          log(`${s.where()}: API ${ready.trim()}`);
        },
        async discard() {
          const dirs = isSwapped ? [remoteSnap] : [remoteSnap, plan.fresh];
          await s.sh('rm -rf -- "$@"', dirs, { label: 'remove the restore files', check: false });
        },
      };
    });
    await runClusterRestore(steps, log);
    log(`restored revision ${manifest.revision} from ${manifest.time} into ${plans.map((p) => p.name).join(', ')}`);
    return { manifest, restoredConfig, differingConfig };
  } finally {
    for (const s of sessions) await s.conn.close().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// host scripts (POSIX sh; arguments as $1...; nothing secret in them)

/** Per directory argument: "file <mode> <size> <sha256> <path>" then the content in base64 on one line. */
const READ_TREE_SCRIPT = `set -eu
for d; do
  [ -d "$d" ] || continue
  find "$d" -type f | LC_ALL=C sort | while IFS= read -r f; do
    printf 'file %s %s %s %s\\n' "$(stat -c %a -- "$f")" "$(stat -c %s -- "$f")" "$(sha256sum -- "$f" | cut -d' ' -f1)" "$f"
    base64 -w 0 -- "$f"; echo
  done
done
`;

/**
 * Which of a backup's configuration files a host needs written: those it lacks, and (with
 * `replaceConfig`) those that differ; the differing ones otherwise come back in `differs`.
 */
async function planConfigWrites<C extends { path: string; remote: string }>(
  s: HostSession,
  files: C[],
  replaceConfig: boolean,
): Promise<{ writes: C[]; differs: string[] }> {
  const have = new Map<string, string>();
  const out = await s.sh(
    SHA_SCRIPT,
    files.map((c) => c.remote),
    { label: 'sha256 of the configuration files' },
  );
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{64}|-) (.+)$/.exec(line);
    if (m) have.set(m[2], m[1]);
  }
  const writes: C[] = [];
  const differs: string[] = [];
  for (const c of files) {
    const current = have.get(c.remote);
    if (current === sha256File(c.path)) continue;
    if (current !== undefined && current !== '-' && !replaceConfig) differs.push(c.remote);
    else writes.push(c);
  }
  return { writes, differs };
}

/** Prints "<sha256|-> <path>" per argument. */
const SHA_SCRIPT = `for f; do
  if [ -f "$f" ]; then printf '%s %s\\n' "$(sha256sum -- "$f" | cut -d' ' -f1)" "$f"; else printf '%s %s\\n' - "$f"; fi
done
`;

/**
 * $1 manifests dir, $2 where they go, $3 in-progress marker, $4 seconds, then component names.
 * Moves the manifests out and waits until no process of those components runs in this network
 * namespace (static pods use the host network; other namespaces' processes are not ours).
 */
const STOP_SCRIPT = `set -eu
src=$1 dst=$2 marker=$3 secs=$4; shift 4
mkdir -p -m 0700 -- "$dst"
echo "$dst" > "$marker"
for c; do if [ -f "$src/$c.yaml" ]; then mv -- "$src/$c.yaml" "$dst/$c.yaml"; fi; done
me=$(readlink /proc/self/ns/net)
i=0
while :; do
  left=
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] || continue
    e=$(readlink "$p/exe" 2>/dev/null) || continue
    for c; do if [ "\${e##*/}" = "$c" ]; then left="$left \${e##*/}(\${p#/proc/})"; fi; done
  done
  [ -z "$left" ] && break
  if [ "$i" -ge "$((secs * 2))" ]; then echo "still running after $secs s:$left"; exit 1; fi
  sleep 0.5; i=$((i+1))
done
echo hcb-stopped
`;

/** $1 data dir, $2 restored dir, $3 stamp: keeps the old data dir beside it, moves the new one in with the old owner. */
const SWAP_SCRIPT = `set -eu
data=$1 fresh=$2 stamp=$3
owner=root:root
if [ -d "$data" ]; then
  owner=$(stat -c %u:%g -- "$data")
  mv -- "$data" "$data.before-restore-$stamp"
  echo "previous $data.before-restore-$stamp"
elif id etcd >/dev/null 2>&1; then owner=etcd:etcd
fi
mv -- "$fresh" "$data"
chown -R -- "$owner" "$data"
chmod 0700 -- "$data"
sync
`;

/** $1 data dir, $2 the restored dir, $3 the kept previous dir (may be empty): takes a swap back. */
const UNSWAP_SCRIPT = `set -eu
data=$1 fresh=$2 prev=$3
[ -d "$data" ] && mv -- "$data" "$fresh"
if [ -n "$prev" ] && [ -d "$prev" ]; then mv -- "$prev" "$data"; fi
`;

/** $1 manifests dir, $2 where they were moved, $3 in-progress marker: moves them back (etcd first). */
const START_SCRIPT = `set -eu
src=$1 moved=$2 marker=$3
[ -d "$moved" ] || { rm -f -- "$marker"; exit 0; }
for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
  if [ -f "$moved/$c.yaml" ]; then mv -- "$moved/$c.yaml" "$src/$c.yaml"; fi
done
for f in "$moved"/*; do if [ -e "$f" ]; then mv -- "$f" "$src/"; fi; done
rmdir -- "$moved"
rm -f -- "$marker"
`;
