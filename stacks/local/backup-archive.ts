/**
 * The encrypted backup file of `hcb backup`, shared by the local target (stacks/local/backup.ts)
 * and the hosts target (stacks/hosts/backup.ts): key files, the AES-256-GCM file format, the
 * manifest beside each backup, listing, retention, and complete authentication before use.
 * How the etcd snapshot and the configuration files are obtained, and how a restore is applied,
 * belongs to each target.
 *
 * File layout (`<backup-dir>/<cluster>-<UTC time>-r<revision>.hcbbak`):
 *
 *   "HCBBAK1\n"                 magic
 *   uint32 BE n, n bytes        header JSON: { format, cipher, iv, manifest } (authenticated as AAD)
 *   ciphertext                  the payload, encrypted
 *   16 bytes                    GCM authentication tag
 *
 * The payload is `uint32 BE n, n bytes index JSON [{ name, mode, size, sha256 }]` followed by the
 * files' bytes in index order; `etcd/snapshot.db` is the snapshot, `config/<path>` the files a
 * restore needs. The manifest (cluster, revision, time, checksums, versions) is also written
 * beside the backup as `<name>.json` so `list` never needs the key. Nothing is trusted before the
 * tag is verified: `decryptBackup` writes into a private directory and returns only after the
 * whole file authenticated and every checksum matched.
 *
 * Lives under stacks/local/ because the packaged CLI ships dist/stacks/local (package.json files).
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

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
  /** Where the backup was taken when not from a local cluster's state directory (hosts target). */
  source?: { target: 'hosts'; host: string; address: string };
}

export class BackupError extends Error {}

// ---------------------------------------------------------------------------------------------
// keys

/** A key file's path, or the key's 32 bytes themselves (the hosts stack's secret hcb:backupKey). */
export type BackupKeySource = string | Buffer;

/**
 * The backup key: 32 random bytes in a file of mode 0600 (or stricter), or given as bytes. Created on first use when
 * `create` is true; an existing key file that others may read is refused.
 */
export function loadKey(keyFile: BackupKeySource, create: boolean): Buffer {
  if (Buffer.isBuffer(keyFile)) {
    // The key itself (a stack secret, hcb:backupKey): never quoted.
    if (keyFile.length !== KEY_LENGTH)
      throw new BackupError(`the backup key must hold exactly ${KEY_LENGTH} bytes, it has ${keyFile.length}`);
    return keyFile;
  }
  if (!fs.existsSync(keyFile)) {
    if (!create)
      throw new BackupError(
        `backup key ${keyFile} does not exist (the key the backup was made with is needed; pass --key FILE)`,
      );
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
    throw new BackupError(
      `backup key ${keyFile} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; it must not be readable by group or others (chmod 600 ${keyFile})`,
    );
  }
  const key = fs.readFileSync(keyFile);
  if (key.length !== KEY_LENGTH)
    throw new BackupError(`backup key ${keyFile} must hold exactly ${KEY_LENGTH} bytes, it has ${key.length}`);
  return key;
}

// ---------------------------------------------------------------------------------------------
// writing and reading backup files

export function sha256File(file: string): string {
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
export function writeEncrypted(
  dest: string,
  key: Buffer,
  manifest: BackupManifest,
  files: Array<{ name: string; abs: string; mode: number; size: number; sha256: string }>,
): void {
  const iv = crypto.randomBytes(12);
  const header = Buffer.from(
    JSON.stringify({ format: 1, cipher: 'aes-256-gcm', iv: iv.toString('base64'), manifest }),
    'utf8',
  );
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.concat([BACKUP_MAGIC, u32(header.length), header]));
  const tmp = `${dest}.partial-${process.pid}`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, Buffer.concat([BACKUP_MAGIC, u32(header.length), header]));
    const index = Buffer.from(
      JSON.stringify(files.map(({ name, mode, size, sha256 }) => ({ name, mode, size, sha256 }))),
      'utf8',
    );
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
export function readHeader(file: string): {
  manifest: BackupManifest;
  iv: Buffer;
  aad: Buffer;
  bodyStart: number;
  size: number;
} {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new BackupError(`${file} is not a regular file`);
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(BACKUP_MAGIC.length + 4);
    if (
      fs.readSync(fd, head, 0, head.length, 0) !== head.length ||
      !head.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)
    ) {
      throw new BackupError(`${file} is not an hcb backup (bad magic)`);
    }
    const n = head.readUInt32BE(BACKUP_MAGIC.length);
    if (n > 1 << 20 || head.length + n + TAG_LENGTH > st.size)
      throw new BackupError(`${file} is damaged (header length ${n})`);
    const header = Buffer.alloc(n);
    fs.readSync(fd, header, 0, n, head.length);
    let parsed: { format?: number; cipher?: string; iv?: string; manifest?: BackupManifest };
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch {
      throw new BackupError(`${file} is damaged (header is not JSON)`);
    }
    if (parsed.format !== 1 || parsed.cipher !== 'aes-256-gcm' || !parsed.iv || !parsed.manifest)
      throw new BackupError(`${file}: unsupported backup format`);
    return {
      manifest: parsed.manifest,
      iv: Buffer.from(parsed.iv, 'base64'),
      aad: Buffer.concat([head, header]),
      bodyStart: head.length + n,
      size: st.size,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Decrypts and authenticates a backup into `outDir` (created, mode 0700). Throws before anything
 * is returned when the key is wrong, the file was changed, or a checksum does not match.
 */
export function decryptBackup(
  file: string,
  key: Buffer,
  outDir: string,
): { manifest: BackupManifest; files: Array<{ name: string; path: string; mode: number }> } {
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
      throw new BackupError(
        `${path.basename(file)} failed authentication: it was changed after it was written, or the key is not the one it was made with`,
      );
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
      if (entry.name.includes('..') || path.isAbsolute(entry.name))
        throw new BackupError(`backup entry ${entry.name} has an unsafe name`);
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
      if (h.digest('hex') !== entry.sha256)
        throw new BackupError(`backup entry ${entry.name} does not match its checksum`);
      files.push({ name: entry.name, path: dest, mode: entry.mode });
    }
  } finally {
    fs.closeSync(pfd);
    fs.rmSync(plain, { force: true });
  }
  const snap = files.find((f) => f.name === 'etcd/snapshot.db');
  if (!snap || sha256File(snap.path) !== manifest.snapshotSha256)
    throw new BackupError(`${path.basename(file)}: the etcd snapshot does not match the manifest`);
  return { manifest, files };
}

// ---------------------------------------------------------------------------------------------
// writing, listing and checking backups

export interface WriteBackupInput {
  backupDir: string;
  key: Buffer;
  cluster: string;
  /** How many backups of `cluster` to keep; older ones are removed. */
  retain: number;
  /** The etcd snapshot on local disk (read by `etcdutl snapshot status` for its revision already). */
  snapshot: { path: string; bytes: number; sha256: string; version?: string; revision: number };
  /** Files a restore needs, named `config/<path>`; `mode` defaults to the local file's mode. */
  configFiles: Array<{ name: string; abs: string; mode?: number }>;
  hcbVersion?: string;
  source?: BackupManifest['source'];
  log?: (line: string) => void;
}

/**
 * Writes one encrypted backup of a snapshot and configuration files, the manifest beside it,
 * then applies retention. The directory is created with mode 0700.
 */
export function writeBackup(input: WriteBackupInput): BackupManifest {
  const log = input.log ?? (() => undefined);
  if (!Number.isInteger(input.retain) || input.retain < 1)
    throw new BackupError(`retain must be a whole number of at least 1, got ${input.retain}`);
  const snap = input.snapshot;
  const files = [{ name: 'etcd/snapshot.db', abs: snap.path, mode: 0o600, size: snap.bytes, sha256: snap.sha256 }];
  for (const f of input.configFiles) {
    if (!f.name.startsWith('config/') || f.name.includes('..'))
      throw new BackupError(`backup entry ${f.name} must be config/<relative path>`);
    const st = fs.statSync(f.abs);
    files.push({ name: f.name, abs: f.abs, mode: f.mode ?? st.mode & 0o777, size: st.size, sha256: sha256File(f.abs) });
  }
  const time = new Date();
  const stamp = time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const name = `${input.cluster}-${stamp}-r${snap.revision}${BACKUP_SUFFIX}`;
  const manifest: BackupManifest = {
    format: 1,
    cluster: input.cluster,
    revision: snap.revision,
    time: time.toISOString(),
    snapshotSha256: snap.sha256,
    snapshotBytes: snap.bytes,
    files: files.map(({ name: n, mode, size, sha256 }) => ({ name: n, mode, size, sha256 })),
    versions: { etcd: snap.version, hcb: input.hcbVersion ?? 'unknown' },
    file: name,
    ...(input.source ? { source: input.source } : {}),
  };
  fs.mkdirSync(input.backupDir, { recursive: true, mode: 0o700 });
  const dest = path.join(input.backupDir, name);
  if (fs.existsSync(dest)) throw new BackupError(`${dest} exists already`);
  writeEncrypted(dest, input.key, manifest, files);
  writeManifestFile(path.join(input.backupDir, `${name}.json`), manifest);
  log(`wrote ${dest} (revision ${snap.revision}, ${snap.bytes} bytes of etcd data, ${files.length - 1} config files)`);
  prune(input.backupDir, input.cluster, input.retain, log);
  return manifest;
}

/** The revision an etcd snapshot file holds, from `etcdutl snapshot status`. */
export function snapshotRevision(etcdutl: string, db: string): number {
  const r = spawnSync(etcdutl, ['snapshot', 'status', db, '--write-out', 'json'], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new BackupError(
      `etcdutl snapshot status failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-2).join(' | ')}`,
    );
  const revision = Number((JSON.parse(r.stdout) as { revision?: number }).revision);
  if (!Number.isInteger(revision) || revision <= 0)
    throw new BackupError(`etcdutl reported no revision for the snapshot: ${r.stdout.trim()}`);
  return revision;
}

export function writeManifestFile(file: string, manifest: BackupManifest): void {
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
export function prune(backupDir: string, cluster: string, retain: number, log: (l: string) => void): void {
  const mine = listBackups(backupDir).filter((m) => m.cluster === cluster);
  for (const m of mine.slice(retain)) {
    if (path.basename(m.file) !== m.file || !m.file.endsWith(BACKUP_SUFFIX)) continue;
    fs.rmSync(path.join(backupDir, m.file), { force: true });
    fs.rmSync(path.join(backupDir, `${m.file}.json`), { force: true });
    log(`removed ${m.file} (retention keeps the newest ${retain})`);
  }
}

/** Decrypts and checks a backup completely; nothing is written outside a temporary directory. */
export function verifyBackup(file: string, keyFile: BackupKeySource): BackupManifest {
  const key = loadKey(keyFile, false);
  const tmp = fs.mkdtempSync(path.join(path.dirname(path.resolve(file)), '.verify-'));
  try {
    return decryptBackup(file, key, tmp).manifest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
