/**
 * File access of the CLI that can neither lose a user's files nor hang or exhaust memory:
 * bounded reads of regular files only, and report writes that replace only regular files.
 */
import { randomBytes } from 'crypto';
import * as fsSync from 'fs';
import { promises as fs } from 'fs';
import * as path from 'path';

/** A refusal the user can fix (wrong kind of file, too large): the CLI exits 2 with the message. */
export class FileRefused extends Error {}

/**
 * The largest configuration file the CLI reads (--stack-config, --exceptions, hcb report's
 * --base/--head), in bytes. HCB_MAX_CONFIG_BYTES overrides it. @default 64 MiB
 */
export function maxConfigBytes(env: Record<string, string | undefined> = process.env): number {
  const v = Number(env.HCB_MAX_CONFIG_BYTES);
  return Number.isInteger(v) && v > 0 ? v : 64 * 1024 * 1024;
}

/**
 * Reads a regular file as UTF-8 text, at most `limit` bytes. A FIFO (which would block), a
 * device such as /dev/zero (which never ends), a directory or a socket is refused, as is a file
 * larger than the limit or one that is not valid UTF-8. Symbolic links are followed.
 */
export async function readBoundedFile(file: string, what: string, limit = maxConfigBytes()): Promise<string> {
  let st: fsSync.Stats;
  try {
    st = await fs.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileRefused(
      `cannot read ${what}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? String(e))}`,
    );
  }
  if (!st.isFile()) throw new FileRefused(`${what} is not a regular file (${kindOf(st)}); give a file`);
  if (st.size > limit)
    throw new FileRefused(`${what} is ${st.size} bytes, larger than the ${limit}-byte limit (HCB_MAX_CONFIG_BYTES)`);
  // O_NONBLOCK: should the path be swapped for a FIFO after the check, open does not block.
  const handle = await fs.open(file, fsSync.constants.O_RDONLY | fsSync.constants.O_NONBLOCK);
  try {
    const again = await handle.stat();
    if (!again.isFile()) throw new FileRefused(`${what} is not a regular file (${kindOf(again)}); give a file`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(1024 * 1024, limit + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit)
        throw new FileRefused(`${what} grew beyond the ${limit}-byte limit while being read (HCB_MAX_CONFIG_BYTES)`);
      chunks.push(chunk.subarray(0, bytesRead));
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch {
      throw new FileRefused(`${what} is not valid UTF-8 text`);
    }
  } finally {
    await handle.close();
  }
}

function kindOf(st: fsSync.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N name a descriptor this process already has. */
function ownDescriptor(file: string): number | undefined {
  const named: Record<string, number> = { '/dev/stdout': 1, '/dev/stderr': 2 };
  if (file in named) return named[file];
  const m = /^\/(?:dev|proc\/self|proc\/thread-self)\/fd\/(\d+)$/.exec(file);
  return m ? Number(m[1]) : undefined;
}

/** The descriptor a path names, following symbolic links (e.g. out → /dev/stdout → /proc/self/fd/1). */
async function descriptorBehind(file: string): Promise<number | undefined> {
  let p = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    const fd = ownDescriptor(p);
    if (fd !== undefined) return fd;
    let target: string;
    try {
      target = await fs.readlink(p);
    } catch {
      return undefined; // not a link (or missing): no descriptor behind it
    }
    p = path.resolve(path.dirname(p), target);
  }
  return undefined;
}

async function writeAll(fd: number, content: string): Promise<void> {
  const buf = Buffer.from(content, 'utf8');
  let off = 0;
  while (off < buf.length) {
    let n: number;
    try {
      n = fsSync.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      // The reader went away (`| head -1`): the rest has nowhere to go, which is not a failure.
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return;
      // A non-blocking pipe that is full: wait for the reader.
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      throw e;
    }
    off += n;
  }
}

/**
 * Writes a report file so that readers see the old content or the new, never a part, and never
 * replaces what is not a plain file:
 * - a regular file, or a path that does not exist yet: a temporary file beside it is written,
 *   flushed and renamed over it, mode 0644 whatever the umask;
 * - /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N, or a link to one: written to that
 *   descriptor (a shell's `>> log` keeps appending; a pipe or socket stays what it is);
 * - a symbolic link: never replaced; written through (opened and written, as a shell's `>` does);
 * - a character device (/dev/null, a terminal) or a FIFO: written through;
 * - a directory, socket or block device, or a link to nothing: refused (FileRefused).
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const fdNum = await descriptorBehind(file);
  if (fdNum !== undefined) {
    await writeAll(fdNum, content);
    return;
  }
  let lst: fsSync.Stats | undefined;
  try {
    lst = await fs.lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (lst && (lst.isSymbolicLink() || lst.isCharacterDevice() || lst.isFIFO())) {
    let st: fsSync.Stats;
    try {
      st = await fs.stat(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new FileRefused(`${file} is a symbolic link to nothing; refusing to create its target`);
      throw e;
    }
    if (st.isDirectory()) throw new FileRefused(`${file} is a directory; give a file path`);
    if (!st.isFile() && !st.isCharacterDevice() && !st.isFIFO())
      throw new FileRefused(`${file} is ${kindOf(st)}; refusing to write to it`);
    // Write through: the link, device node or pipe stays what it is.
    const handle = await fs.open(file, fsSync.constants.O_WRONLY | (st.isFile() ? fsSync.constants.O_TRUNC : 0));
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    return;
  }
  if (lst && lst.isDirectory()) throw new FileRefused(`${file} is a directory; give a file path`);
  if (lst && !lst.isFile()) throw new FileRefused(`${file} is ${kindOf(lst)}; refusing to replace it`);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', 0o644);
    await handle.chmod(0o644);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, file);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * A name or message as it may reach a terminal: control characters (escape sequences, carriage
 * returns, newlines), C1 controls and bidirectional overrides are shown as \xNN or \u{NNNN}.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.codePointAt(0) as number;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/** A file-system error as a short text: the errno code when there is one, else the message. */
export function ioError(e: unknown): string {
  if (e instanceof FileRefused) return e.message;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const known: Record<string, string> = {
    EACCES: 'permission denied',
    ENOENT: 'no such file or directory',
    EISDIR: 'is a directory',
    ENOSPC: 'no space left on device',
    EROFS: 'read-only file system',
    EPERM: 'operation not permitted',
  };
  if (typeof code === 'string') return known[code] ?? code;
  return printable(e instanceof Error ? e.message : String(e));
}
