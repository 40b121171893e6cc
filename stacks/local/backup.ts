/**
 * Encrypted backups of a local cluster's state (BSI APP.4.4.A5): an etcd snapshot taken through
 * etcd's own snapshot API, plus the files a restore needs (the cluster's PKI, the encryption
 * configuration and the keys it references), in one file encrypted with AES-256-GCM.
 *
 * The file format, keys, manifest, listing, retention and authentication are shared with the
 * hosts target and live in ./backup-archive.ts (re-exported here, so callers keep importing this
 * module). Backups are `<backup-dir>/<cluster>-<UTC time>-r<revision>.hcbbak` with a manifest
 * `<name>.json` beside them.
 *
 * Restore follows Kubernetes' documented etcd procedure: the control plane is stopped, `etcdutl
 * snapshot restore` writes a new data directory (with the member name and peer URLs the running
 * etcd used), and that directory replaces the old one, which is kept beside it, never deleted.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import {
  BackupError,
  BackupManifest,
  decryptBackup,
  loadKey,
  sha256File,
  snapshotRevision,
  writeBackup,
} from './backup-archive';

export {
  BACKUP_MAGIC,
  BACKUP_SUFFIX,
  BackupError,
  decryptBackup,
  listBackups,
  loadKey,
  readHeader,
  snapshotRevision,
  verifyBackup,
} from './backup-archive';
export type { BackupManifest } from './backup-archive';

// ---------------------------------------------------------------------------------------------
// the local cluster's layout

/**
 * etcd's flags from kubeadm's static pod manifest in the cluster's private root (present whether
 * or not the control plane runs). kubeadm mounts etcd's host paths at the same paths, so an
 * absolute path value lives at the same path under the private root.
 */
export function etcdFlags(stateDir: string): Map<string, string> {
  const rootfs = path.join(stateDir, 'rootfs');
  const manifest = path.join(rootfs, 'etc/kubernetes/manifests/etcd.yaml');
  if (!fs.existsSync(manifest))
    throw new BackupError(
      `${stateDir} has no etcd manifest (rootfs/etc/kubernetes/manifests/etcd.yaml): is it the state directory of a local cluster?`,
    );
  const pod = parseYaml(fs.readFileSync(manifest, 'utf8')) as { spec?: { containers?: Array<{ command?: string[] }> } };
  const command = pod.spec?.containers?.[0]?.command ?? [];
  const flags = new Map<string, string>();
  for (const a of command.slice(1)) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) continue;
    const hostValue = m[2].startsWith('/') ? path.join(rootfs, m[2]) : m[2];
    flags.set(m[1], hostValue);
  }
  return flags;
}

function requireFlag(flags: Map<string, string>, name: string): string {
  const v = flags.get(name);
  if (v === undefined || v === '')
    throw new BackupError(`etcd runs without --${name}; cannot locate what a backup needs`);
  return v;
}

/** Files a restore needs besides etcd's data: PKI, encryption configuration and the cluster's keys. */
function configFiles(stateDir: string): Array<{ name: string; abs: string }> {
  const out: Array<{ name: string; abs: string }> = [];
  const walk = (rel: string) => {
    const abs = path.join(stateDir, rel);
    if (!fs.existsSync(abs)) return;
    for (const e of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push({ name: `config/${r}`, abs: path.join(stateDir, r) });
    }
  };
  walk('rootfs/etc/kubernetes/pki');
  walk('rootfs/etc/kubernetes/encryption');
  walk('secrets');
  return out.filter((f) => !f.name.endsWith('/backup-key'));
}

// ---------------------------------------------------------------------------------------------
// snapshot through etcd's API

/**
 * Streams an etcd snapshot into `dest` through etcd's gRPC gateway (`POST /v3/maintenance/snapshot`),
 * authenticated with the API server's etcd client certificate. Returns etcd's storage version, size and sha256.
 */
export async function snapshotEtcd(
  stateDir: string,
  dest: string,
  timeoutMs = 120_000,
): Promise<{ version?: string; bytes: number; sha256: string }> {
  const flags = etcdFlags(stateDir);
  const url = requireFlag(flags, 'listen-client-urls')
    .split(',')
    .find((u) => u.startsWith('https://'));
  if (!url) throw new BackupError('etcd serves no https client URL');
  const pki = path.join(stateDir, 'rootfs/etc/kubernetes/pki');
  const tls: https.RequestOptions = {
    ca: fs.readFileSync(requireFlag(flags, 'trusted-ca-file')),
    cert: fs.readFileSync(path.join(pki, 'apiserver-etcd-client.crt')),
    key: fs.readFileSync(path.join(pki, 'apiserver-etcd-client.key')),
  };
  const target = new URL('/v3/maintenance/snapshot', url);
  const fd = fs.openSync(dest, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  let version: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const req = https.request(
        {
          ...tls,
          hostname: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          timeout: timeoutMs,
        },
        (res) => {
          if (res.statusCode !== 200) {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () =>
              reject(new BackupError(`etcd refused the snapshot: HTTP ${res.statusCode} ${body.slice(0, 200)}`)),
            );
            return;
          }
          // The gateway streams one JSON object per line: {"result":{"header":…,"remaining_bytes":…,"blob":base64}}.
          let pending = '';
          let remaining = -1;
          const line = (l: string) => {
            if (l.trim() === '') return;
            const msg = JSON.parse(l) as {
              result?: { remaining_bytes?: string; blob?: string; version?: string };
              error?: { message?: string };
            };
            if (msg.error)
              throw new BackupError(`etcd snapshot failed: ${msg.error.message ?? JSON.stringify(msg.error)}`);
            const r = msg.result ?? {};
            if (r.version) version = r.version;
            if (r.blob) {
              const chunk = Buffer.from(r.blob, 'base64');
              fs.writeSync(fd, chunk);
              hash.update(chunk);
              bytes += chunk.length;
            }
            remaining = Number(r.remaining_bytes ?? 0);
          };
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            pending += c;
            let i: number;
            try {
              while ((i = pending.indexOf('\n')) >= 0) {
                line(pending.slice(0, i));
                pending = pending.slice(i + 1);
              }
            } catch (e) {
              req.destroy();
              reject(e);
            }
          });
          res.on('end', () => {
            try {
              line(pending);
            } catch (e) {
              reject(e);
              return;
            }
            if (bytes === 0 || remaining !== 0)
              reject(new BackupError(`etcd snapshot ended early (${bytes} bytes received)`));
            else resolve();
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new BackupError(`etcd snapshot timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end('{}');
    });
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(dest, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return { version, bytes, sha256: hash.digest('hex') };
}

// ---------------------------------------------------------------------------------------------
// the operations

export interface BackupOptions {
  /** The local cluster's state directory. */
  stateDir: string;
  /** Where backups are written. @default <stateDir>/backups */
  backupDir?: string;
  /** Key file (32 bytes, mode 0600). @default <stateDir>/secrets/backup-key (created on first backup) */
  keyFile?: string;
  /** Name recorded in the manifest. @default the state directory's base name */
  cluster?: string;
  /** How many backups to keep; older backups of this cluster are removed. @default 7 */
  retain?: number;
  /** Directory holding etcdutl (reads the snapshot's revision). */
  binDir: string;
  hcbVersion?: string;
  log?: (line: string) => void;
}

export function defaultBackupDir(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'backups');
}
export function defaultKeyFile(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'secrets', 'backup-key');
}

/** Takes an encrypted backup of a running local cluster. */
export async function backupNow(opts: BackupOptions): Promise<BackupManifest> {
  const stateDir = path.resolve(opts.stateDir);
  const backupDir = path.resolve(opts.backupDir ?? defaultBackupDir(stateDir));
  const keyFile = opts.keyFile ?? defaultKeyFile(stateDir);
  const retain = opts.retain ?? 7;
  if (!Number.isInteger(retain) || retain < 1)
    throw new BackupError(`retain must be a whole number of at least 1, got ${retain}`);
  const log = opts.log ?? (() => undefined);
  etcdFlags(stateDir); // a clear error before anything is created when this is no cluster
  const key = loadKey(keyFile, true);
  fs.mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const work = fs.mkdtempSync(path.join(backupDir, '.work-'));
  try {
    const snapPath = path.join(work, 'snapshot.db');
    log('taking an etcd snapshot through the etcd API');
    const etcdutl = path.join(opts.binDir, 'etcdutl');
    if (!fs.existsSync(etcdutl))
      throw new BackupError(`etcdutl not found in ${opts.binDir}: build the toolchain (npm run toolchain)`);
    const snap = await snapshotEtcd(stateDir, snapPath);
    // The snapshot stream carries no revision; etcdutl reads it (and checks the snapshot's integrity).
    const revision = snapshotRevision(etcdutl, snapPath);
    return writeBackup({
      backupDir,
      key,
      cluster: opts.cluster ?? path.basename(stateDir),
      retain,
      snapshot: { path: snapPath, bytes: snap.bytes, sha256: snap.sha256, version: snap.version, revision },
      configFiles: configFiles(stateDir),
      hcbVersion: opts.hcbVersion,
      log,
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export interface RestoreOptions {
  stateDir: string;
  /** The backup file to restore. */
  file: string;
  keyFile?: string;
  /** Directory holding etcdutl. */
  binDir: string;
  /** True when the control plane's processes are running (restore refuses then). */
  running: boolean;
  /** Replace PKI/encryption files that differ from the backup's (the current ones are kept aside). */
  replaceConfig?: boolean;
  log?: (line: string) => void;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the data directory that was replaced now lives (kept, never deleted). */
  previousDataDir?: string;
  /** Config files written because they were missing, or replaced (with replaceConfig). */
  restoredConfig: string[];
  /** Config files that differ from the backup and were left as they are. */
  differingConfig: string[];
}

/**
 * Restores a backup into a stopped local control plane, following Kubernetes' etcd restore
 * procedure. The backup is authenticated completely before anything in the cluster changes.
 */
export function restoreBackup(opts: RestoreOptions): RestoreResult {
  const stateDir = path.resolve(opts.stateDir);
  const log = opts.log ?? (() => undefined);
  if (opts.running)
    throw new BackupError(
      'the control plane is running: stop it first (hcb cluster down --state-dir …), then restore, then start it again',
    );
  const etcdutl = path.join(opts.binDir, 'etcdutl');
  if (!fs.existsSync(etcdutl))
    throw new BackupError(`etcdutl not found in ${opts.binDir}: build the toolchain (npm run toolchain)`);
  const key = loadKey(opts.keyFile ?? defaultKeyFile(stateDir), false);
  const flags = etcdFlags(stateDir);
  const dataDir = requireFlag(flags, 'data-dir');
  const work = fs.mkdtempSync(path.join(stateDir, '.restore-'));
  try {
    log(`authenticating ${path.basename(opts.file)}`);
    const { manifest, files } = decryptBackup(opts.file, key, work);
    const snap = files.find((f) => f.name === 'etcd/snapshot.db')!;
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const restored = `${dataDir}.restore-${stamp}`;
    log(`etcdutl snapshot restore into ${restored}`);
    const args = ['snapshot', 'restore', snap.path, '--data-dir', restored];
    for (const f of ['name', 'initial-cluster', 'initial-cluster-token', 'initial-advertise-peer-urls']) {
      const v = flags.get(f);
      if (v) args.push(`--${f}`, v);
    }
    const r = spawnSync(etcdutl, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      fs.rmSync(restored, { recursive: true, force: true });
      throw new BackupError(
        `etcdutl snapshot restore failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    fs.chmodSync(restored, 0o700);
    // Plan the config files first: nothing changes unless the whole restore can go ahead.
    const restoredConfig: string[] = [];
    const differingConfig: string[] = [];
    const writes: Array<{ src: string; dest: string; mode: number; replace: boolean }> = [];
    for (const f of files.filter((x) => x.name.startsWith('config/'))) {
      const rel = f.name.slice('config/'.length);
      const dest = path.join(stateDir, rel);
      const exists = fs.existsSync(dest);
      if (exists && sha256File(dest) === sha256File(f.path)) continue;
      if (exists && !opts.replaceConfig) {
        differingConfig.push(rel);
        continue;
      }
      writes.push({ src: f.path, dest, mode: f.mode, replace: exists });
      restoredConfig.push(rel);
    }
    const encryptionDiffers = differingConfig.filter((c) => c.startsWith('secrets/') || c.includes('/encryption/'));
    if (encryptionDiffers.length > 0) {
      fs.rmSync(restored, { recursive: true, force: true });
      throw new BackupError(
        `the cluster's encryption key or configuration differs from the backup's (${encryptionDiffers.join(', ')}): Secrets in the restored data could not be read. ` +
          "Restore with --replace-config to put the backup's back (the current files are kept beside them); nothing was changed",
      );
    }
    for (const w of writes) {
      if (w.replace) fs.renameSync(w.dest, `${w.dest}.before-restore-${stamp}`);
      fs.mkdirSync(path.dirname(w.dest), { recursive: true, mode: 0o700 });
      fs.copyFileSync(w.src, w.dest);
      fs.chmodSync(w.dest, w.mode & 0o700);
    }
    let previousDataDir: string | undefined;
    if (fs.existsSync(dataDir)) {
      previousDataDir = `${dataDir}.before-restore-${stamp}`;
      fs.renameSync(dataDir, previousDataDir);
    }
    fs.renameSync(restored, dataDir);
    log(
      `restored revision ${manifest.revision} from ${manifest.time}${previousDataDir ? `; the previous data is kept in ${previousDataDir}` : ''}`,
    );
    return { manifest, previousDataDir, restoredConfig, differingConfig };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
