/**
 * Encrypted backups of a local cluster's state (BSI APP.4.4.A5): an etcd snapshot taken through
 * etcd's own snapshot API, plus the files a restore needs (the cluster's PKI, the encryption
 * configuration and the keys it references), in one file encrypted with AES-256-GCM.
 *
 * File layout (`<backup-dir>/<cluster>-<UTC time>-r<revision>.hcbbak`):
 *
 *   "HCBBAK1\n"                 magic
 *   uint32 BE n, n bytes        header JSON: { format, cipher, iv, manifest } (authenticated as AAD)
 *   ciphertext                  the payload, encrypted
 *   16 bytes                    GCM authentication tag
 *
 * The payload is `uint32 BE n, n bytes index JSON [{ name, mode, size, sha256 }]` followed by the
 * files' bytes in index order. The manifest (cluster, revision, time, checksums, versions) is also
 * written beside the backup as `<name>.json` so `list` never needs the key. Nothing is trusted before
 * the tag is verified: `verify` and `restore` decrypt into a private temporary directory first and
 * use the result only after the whole file authenticated and every checksum matched.
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

export const BACKUP_MAGIC = Buffer.from('HCBBAK1\n', 'ascii');
export const BACKUP_SUFFIX = '.hcbbak';
const TAG_LENGTH = 16;
const KEY_LENGTH = 32;

export interface BackupManifest {
  format: 1;
  cluster: string;
  /** etcd revision the snapshot was taken at. */
  revision: number;
  /** ISO time the snapshot was taken (UTC). */
  time: string;
  /** sha256 of the etcd snapshot (hex). */
  snapshotSha256: string;
  snapshotBytes: number;
  /** Every file in the payload, with its checksum. */
  files: Array<{ name: string; mode: number; size: number; sha256: string }>;
  versions: { etcd?: string; hcb: string };
  /** The backup file's own name. */
  file: string;
}

export class BackupError extends Error {}

// ---------------------------------------------------------------------------------------------
// keys

/**
 * The backup key: 32 random bytes in a file of mode 0600 (or stricter). Created on first use when
 * `create` is true; an existing key file that others may read is refused.
 */
export function loadKey(keyFile: string, create: boolean): Buffer {
  if (!fs.existsSync(keyFile)) {
    if (!create) throw new BackupError(`backup key ${keyFile} does not exist (the key the backup was made with is needed; pass --key FILE)`);
    fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(keyFile, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.writeSync(fd, crypto.randomBytes(KEY_LENGTH));
    } finally {
      fs.closeSync(fd);
    }
  }
  const st = fs.lstatSync(keyFile);
  if (!st.isFile()) throw new BackupError(`backup key ${keyFile} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new BackupError(`backup key ${keyFile} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; it must not be readable by group or others (chmod 600 ${keyFile})`);
  }
  const key = fs.readFileSync(keyFile);
  if (key.length !== KEY_LENGTH) throw new BackupError(`backup key ${keyFile} must hold exactly ${KEY_LENGTH} bytes, it has ${key.length}`);
  return key;
}

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
  if (!fs.existsSync(manifest)) throw new BackupError(`${stateDir} has no etcd manifest (rootfs/etc/kubernetes/manifests/etcd.yaml): is it the state directory of a local cluster?`);
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
  if (v === undefined || v === '') throw new BackupError(`etcd runs without --${name}; cannot locate what a backup needs`);
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
export async function snapshotEtcd(stateDir: string, dest: string, timeoutMs = 120_000): Promise<{ version?: string; bytes: number; sha256: string }> {
  const flags = etcdFlags(stateDir);
  const url = requireFlag(flags, 'listen-client-urls').split(',').find((u) => u.startsWith('https://'));
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
        { ...tls, hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json' }, timeout: timeoutMs },
        (res) => {
          if (res.statusCode !== 200) {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => reject(new BackupError(`etcd refused the snapshot: HTTP ${res.statusCode} ${body.slice(0, 200)}`)));
            return;
          }
          // The gateway streams one JSON object per line: {"result":{"header":…,"remaining_bytes":…,"blob":base64}}.
          let pending = '';
          let remaining = -1;
          const line = (l: string) => {
            if (l.trim() === '') return;
            const msg = JSON.parse(l) as { result?: { remaining_bytes?: string; blob?: string; version?: string }; error?: { message?: string } };
            if (msg.error) throw new BackupError(`etcd snapshot failed: ${msg.error.message ?? JSON.stringify(msg.error)}`);
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
            if (bytes === 0 || remaining !== 0) reject(new BackupError(`etcd snapshot ended early (${bytes} bytes received)`));
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
// writing and reading backup files

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Encrypts `files` (name → path on disk) into `dest` (written to a temp file, then renamed). */
function writeEncrypted(dest: string, key: Buffer, manifest: BackupManifest, files: Array<{ name: string; abs: string; mode: number; size: number; sha256: string }>): void {
  const iv = crypto.randomBytes(12);
  const header = Buffer.from(JSON.stringify({ format: 1, cipher: 'aes-256-gcm', iv: iv.toString('base64'), manifest }), 'utf8');
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.concat([BACKUP_MAGIC, u32(header.length), header]));
  const tmp = `${dest}.partial-${process.pid}`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, Buffer.concat([BACKUP_MAGIC, u32(header.length), header]));
    const index = Buffer.from(JSON.stringify(files.map(({ name, mode, size, sha256 }) => ({ name, mode, size, sha256 }))), 'utf8');
    fs.writeSync(fd, cipher.update(Buffer.concat([u32(index.length), index])));
    const buf = Buffer.alloc(1 << 20);
    for (const f of files) {
      const src = fs.openSync(f.abs, 'r');
      let total = 0;
      try {
        for (;;) {
          const n = fs.readSync(src, buf, 0, buf.length, null);
          if (n === 0) break;
          total += n;
          fs.writeSync(fd, cipher.update(buf.subarray(0, n)));
        }
      } finally {
        fs.closeSync(src);
      }
      if (total !== f.size) throw new BackupError(`${f.name} changed while it was being backed up`);
    }
    fs.writeSync(fd, cipher.final());
    fs.writeSync(fd, cipher.getAuthTag());
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, dest);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Reads a backup's header (no key needed; not yet authenticated). */
export function readHeader(file: string): { manifest: BackupManifest; iv: Buffer; aad: Buffer; bodyStart: number; size: number } {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new BackupError(`${file} is not a regular file`);
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(BACKUP_MAGIC.length + 4);
    if (fs.readSync(fd, head, 0, head.length, 0) !== head.length || !head.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) {
      throw new BackupError(`${file} is not an hcb backup (bad magic)`);
    }
    const n = head.readUInt32BE(BACKUP_MAGIC.length);
    if (n > 1 << 20 || head.length + n + TAG_LENGTH > st.size) throw new BackupError(`${file} is damaged (header length ${n})`);
    const header = Buffer.alloc(n);
    fs.readSync(fd, header, 0, n, head.length);
    let parsed: { format?: number; cipher?: string; iv?: string; manifest?: BackupManifest };
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch {
      throw new BackupError(`${file} is damaged (header is not JSON)`);
    }
    if (parsed.format !== 1 || parsed.cipher !== 'aes-256-gcm' || !parsed.iv || !parsed.manifest) throw new BackupError(`${file}: unsupported backup format`);
    return { manifest: parsed.manifest, iv: Buffer.from(parsed.iv, 'base64'), aad: Buffer.concat([head, header]), bodyStart: head.length + n, size: st.size };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Decrypts and authenticates a backup into `outDir` (created, mode 0700). Throws before anything
 * is returned when the key is wrong, the file was changed, or a checksum does not match.
 */
export function decryptBackup(file: string, key: Buffer, outDir: string): { manifest: BackupManifest; files: Array<{ name: string; path: string; mode: number }> } {
  const { manifest, iv, aad, bodyStart, size } = readHeader(file);
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'r');
  const plain = path.join(outDir, 'payload');
  const out = fs.openSync(plain, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
  try {
    const tag = Buffer.alloc(TAG_LENGTH);
    fs.readSync(fd, tag, 0, TAG_LENGTH, size - TAG_LENGTH);
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const buf = Buffer.alloc(1 << 20);
    let pos = bodyStart;
    const end = size - TAG_LENGTH;
    while (pos < end) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) break;
      pos += n;
      fs.writeSync(out, decipher.update(buf.subarray(0, n)));
    }
    try {
      fs.writeSync(out, decipher.final());
    } catch {
      throw new BackupError(`${path.basename(file)} failed authentication: it was changed after it was written, or the key is not the one it was made with`);
    }
  } catch (e) {
    fs.closeSync(out);
    fs.rmSync(plain, { force: true });
    throw e;
  } finally {
    fs.closeSync(fd);
  }
  fs.closeSync(out);
  // Split the authenticated payload into its files and check each checksum.
  const pfd = fs.openSync(plain, 'r');
  const files: Array<{ name: string; path: string; mode: number }> = [];
  try {
    const lenBuf = Buffer.alloc(4);
    fs.readSync(pfd, lenBuf, 0, 4, 0);
    const indexLen = lenBuf.readUInt32BE();
    const indexBuf = Buffer.alloc(indexLen);
    fs.readSync(pfd, indexBuf, 0, indexLen, 4);
    const index = JSON.parse(indexBuf.toString('utf8')) as BackupManifest['files'];
    let pos = 4 + indexLen;
    const buf = Buffer.alloc(1 << 20);
    for (const entry of index) {
      if (entry.name.includes('..') || path.isAbsolute(entry.name)) throw new BackupError(`backup entry ${entry.name} has an unsafe name`);
      const dest = path.join(outDir, 'files', entry.name);
      fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
      const w = fs.openSync(dest, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
      const h = crypto.createHash('sha256');
      let left = entry.size;
      try {
        while (left > 0) {
          const n = fs.readSync(pfd, buf, 0, Math.min(buf.length, left), pos);
          if (n === 0) throw new BackupError(`backup entry ${entry.name} is truncated`);
          fs.writeSync(w, buf.subarray(0, n));
          h.update(buf.subarray(0, n));
          pos += n;
          left -= n;
        }
      } finally {
        fs.closeSync(w);
      }
      if (h.digest('hex') !== entry.sha256) throw new BackupError(`backup entry ${entry.name} does not match its checksum`);
      files.push({ name: entry.name, path: dest, mode: entry.mode });
    }
  } finally {
    fs.closeSync(pfd);
    fs.rmSync(plain, { force: true });
  }
  const snap = files.find((f) => f.name === 'etcd/snapshot.db');
  if (!snap || sha256File(snap.path) !== manifest.snapshotSha256) throw new BackupError(`${path.basename(file)}: the etcd snapshot does not match the manifest`);
  return { manifest, files };
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
  if (!Number.isInteger(retain) || retain < 1) throw new BackupError(`retain must be a whole number of at least 1, got ${retain}`);
  const log = opts.log ?? (() => undefined);
  etcdFlags(stateDir); // a clear error before anything is created when this is no cluster
  const key = loadKey(keyFile, true);
  fs.mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const work = fs.mkdtempSync(path.join(backupDir, '.work-'));
  try {
    const snapPath = path.join(work, 'snapshot.db');
    log('taking an etcd snapshot through the etcd API');
    const etcdutl = path.join(opts.binDir, 'etcdutl');
    if (!fs.existsSync(etcdutl)) throw new BackupError(`etcdutl not found in ${opts.binDir}: build the toolchain (npm run toolchain)`);
    const snap = { ...(await snapshotEtcd(stateDir, snapPath)), revision: 0 };
    // The snapshot stream carries no revision; etcdutl reads it (and checks the snapshot's integrity).
    snap.revision = snapshotRevision(etcdutl, snapPath);
    const files = [{ name: 'etcd/snapshot.db', abs: snapPath, mode: 0o600, size: snap.bytes, sha256: snap.sha256 }];
    for (const f of configFiles(stateDir)) {
      const st = fs.statSync(f.abs);
      files.push({ name: f.name, abs: f.abs, mode: st.mode & 0o777, size: st.size, sha256: sha256File(f.abs) });
    }
    const time = new Date();
    const stamp = time.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const cluster = opts.cluster ?? path.basename(stateDir);
    const name = `${cluster}-${stamp}-r${snap.revision}${BACKUP_SUFFIX}`;
    const manifest: BackupManifest = {
      format: 1,
      cluster,
      revision: snap.revision,
      time: time.toISOString(),
      snapshotSha256: snap.sha256,
      snapshotBytes: snap.bytes,
      files: files.map(({ name: n, mode, size, sha256 }) => ({ name: n, mode, size, sha256 })),
      versions: { etcd: snap.version, hcb: opts.hcbVersion ?? 'unknown' },
      file: name,
    };
    const dest = path.join(backupDir, name);
    if (fs.existsSync(dest)) throw new BackupError(`${dest} exists already`);
    writeEncrypted(dest, key, manifest, files);
    writeManifestFile(path.join(backupDir, `${name}.json`), manifest);
    log(`wrote ${dest} (revision ${snap.revision}, ${snap.bytes} bytes of etcd data, ${files.length - 1} config files)`);
    prune(backupDir, cluster, retain, log);
    return manifest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The revision an etcd snapshot file holds, from `etcdutl snapshot status`. */
export function snapshotRevision(etcdutl: string, db: string): number {
  const r = spawnSync(etcdutl, ['snapshot', 'status', db, '--write-out', 'json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new BackupError(`etcdutl snapshot status failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-2).join(' | ')}`);
  const revision = Number((JSON.parse(r.stdout) as { revision?: number }).revision);
  if (!Number.isInteger(revision) || revision <= 0) throw new BackupError(`etcdutl reported no revision for the snapshot: ${r.stdout.trim()}`);
  return revision;
}

function writeManifestFile(file: string, manifest: BackupManifest): void {
  const tmp = `${file}.partial-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The backups in a directory, newest first (from the manifests beside them). */
export function listBackups(backupDir: string): BackupManifest[] {
  if (!fs.existsSync(backupDir)) return [];
  const out: BackupManifest[] = [];
  for (const f of fs.readdirSync(backupDir)) {
    if (!f.endsWith(BACKUP_SUFFIX)) continue;
    const mf = path.join(backupDir, `${f}.json`);
    try {
      out.push(JSON.parse(fs.readFileSync(mf, 'utf8')) as BackupManifest);
    } catch {
      out.push(readHeader(path.join(backupDir, f)).manifest);
    }
  }
  return out.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.revision - a.revision));
}

/** Removes the oldest backups of `cluster` beyond `retain` (only files this module wrote). */
function prune(backupDir: string, cluster: string, retain: number, log: (l: string) => void): void {
  const mine = listBackups(backupDir).filter((m) => m.cluster === cluster);
  for (const m of mine.slice(retain)) {
    if (path.basename(m.file) !== m.file || !m.file.endsWith(BACKUP_SUFFIX)) continue;
    fs.rmSync(path.join(backupDir, m.file), { force: true });
    fs.rmSync(path.join(backupDir, `${m.file}.json`), { force: true });
    log(`removed ${m.file} (retention keeps the newest ${retain})`);
  }
}

/** Decrypts and checks a backup completely; nothing is written outside a temporary directory. */
export function verifyBackup(file: string, keyFile: string): BackupManifest {
  const key = loadKey(keyFile, false);
  const tmp = fs.mkdtempSync(path.join(path.dirname(path.resolve(file)), '.verify-'));
  try {
    return decryptBackup(file, key, tmp).manifest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
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
  if (opts.running) throw new BackupError('the control plane is running: stop it first (hcb cluster down --state-dir …), then restore, then start it again');
  const etcdutl = path.join(opts.binDir, 'etcdutl');
  if (!fs.existsSync(etcdutl)) throw new BackupError(`etcdutl not found in ${opts.binDir}: build the toolchain (npm run toolchain)`);
  const key = loadKey(opts.keyFile ?? defaultKeyFile(stateDir), false);
  const flags = etcdFlags(stateDir);
  const dataDir = requireFlag(flags, 'data-dir');
  const work = fs.mkdtempSync(path.join(stateDir, '.restore-'));
  try {
    log(`authenticating ${path.basename(opts.file)}`);
    const { manifest, files } = decryptBackup(opts.file, key, work);
    const snap = files.find((f) => f.name === 'etcd/snapshot.db')!;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
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
      throw new BackupError(`etcdutl snapshot restore failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`);
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
    log(`restored revision ${manifest.revision} from ${manifest.time}${previousDataDir ? `; the previous data is kept in ${previousDataDir}` : ''}`);
    return { manifest, previousDataDir, restoredConfig, differingConfig };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
