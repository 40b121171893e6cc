/**
 * Paths → Documents: files, directories (recursive, sorted) and `-` for standard input.
 * Every problem ends up in the result; nothing here throws for bad input.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import { parseText } from './parse';
import { LoadProblem, LoadResult, STDIN_NAME } from './types';

export interface LoadOptions {
  /** Directory that file names in SourceRefs are relative to. @default process.cwd() */
  cwd?: string;
  /** Reads all of standard input. @default reads process.stdin */
  readStdin?: () => Promise<string>;
  /** The most documents read. @default maxDocuments() (HCB_MAX_DOCUMENTS) */
  maxDocuments?: number;
  /** Heap in use and the heap's limit, in bytes. @default V8's heap statistics */
  heap?: () => { used: number; limit: number };
}

/**
 * The most documents one audit reads (HCB_MAX_DOCUMENTS overrides it). Everything read is kept
 * until the report is written (the checks relate objects across files: bindings to roles,
 * namespaces to their policies), and so are the findings (about six per document) until the
 * report is written. Measured on the generated corpus (BENCHMARKS.md, "Large inputs"): 125,000
 * documents peak at 3.4 GiB of Node.js's default 4 GiB heap and give a 529 MB JSON report, just
 * under the longest string V8 holds; the default leaves room for both. Beyond it the audit stops
 * reading with an error that names the limit, instead of running out of memory minutes later.
 * @default 100,000
 */
export function maxDocuments(): number {
  const v = Number(process.env.HCB_MAX_DOCUMENTS);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_MAX_DOCUMENTS;
}
export const DEFAULT_MAX_DOCUMENTS = 100_000;

/**
 * Share of the heap limit the documents read may fill before reading stops: the checks, their
 * findings and the report need the rest (a safety net for few, very large documents; the
 * document limit is what normally applies).
 */
export const HEAP_SHARE_FOR_INPUT = 0.5;

function v8Heap(): { used: number; limit: number } {
  const h = v8.getHeapStatistics();
  return { used: h.used_heap_size, limit: h.heap_size_limit };
}

const MIB = 1024 * 1024;

/** File names picked up inside directories (a file named explicitly is read whatever its name). */
export const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** The file `hcb synth` writes into its output directory to mark it as its own (not a manifest). */
export const SYNTH_MARKER = '.hcb-synth.json';

/**
 * The largest input file (and standard input) read, in bytes: larger input is an error, not a
 * read that grows until memory runs out. HCB_MAX_INPUT_BYTES overrides it. @default 64 MiB
 */
export function maxInputBytes(): number {
  const v = Number(process.env.HCB_MAX_INPUT_BYTES);
  return Number.isInteger(v) && v > 0 ? v : 64 * 1024 * 1024;
}

export async function loadInputs(paths: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const result: LoadResult = { documents: [], errors: [], warnings: [], files: [], missing: [] };
  const seen = new Set<string>();
  let stdinRead = false;
  const limit = options.maxDocuments ?? maxDocuments();
  const heap = options.heap ?? v8Heap;
  // Set once reading stopped at a limit: nothing after that point is read.
  let stopped = false;

  /** Before reading `name`: stop when the documents read so far fill the heap's share for input. */
  const heapFull = (name: string): boolean => {
    if (stopped) return true;
    const h = heap();
    if (h.used <= h.limit * HEAP_SHARE_FOR_INPUT) return false;
    const read = result.documents.length;
    stop();
    result.errors.push({
      file: name,
      message:
        `not read, nor anything after it: the ${read} documents read before it fill ${Math.round(h.used / MIB)} MiB ` +
        `of the ${Math.round(h.limit / MIB)} MiB heap, and the checks and the report need the rest; ${NOTHING_CHECKED} Audit the input in parts, ` +
        'or give Node.js more memory (NODE_OPTIONS=--max-old-space-size=<MiB>)',
      remediation: LIMIT_REMEDIATION,
    });
    return true;
  };

  /**
   * Stops reading and releases what was read: the checks relate objects across the whole input
   * (bindings to roles, namespaces to their policies), so a part of it would give partial answers.
   */
  const stop = (): void => {
    stopped = true;
    result.documents = [];
  };

  /** Adds what one input holds, up to the document limit; past it, reading stops with an error. */
  const add = (
    parsed: { documents: LoadResult['documents']; errors: LoadProblem[]; warnings: LoadProblem[] },
    name: string,
  ): void => {
    const room = limit - result.documents.length;
    if (parsed.documents.length <= room) {
      addParsed(result, parsed);
      return;
    }
    const first = parsed.documents[room];
    addParsed(result, { documents: [], errors: parsed.errors, warnings: parsed.warnings });
    stop();
    result.errors.push({
      file: first.source.file ?? name,
      ...(first.source.line !== undefined ? { line: first.source.line } : {}),
      message:
        `the input holds more than ${limit} documents, the limit of one audit (HCB_MAX_DOCUMENTS): reading stopped at this one; ${NOTHING_CHECKED} ` +
        `Audit the input in parts, or raise HCB_MAX_DOCUMENTS (about ${KIB_PER_DOCUMENT} KiB of memory per document; ` +
        'NODE_OPTIONS=--max-old-space-size=<MiB> gives Node.js more)',
      remediation: LIMIT_REMEDIATION,
    });
  };

  const readFile = async (abs: string): Promise<void> => {
    if (stopped) return;
    const real = await realpathOr(abs);
    if (seen.has(real)) return;
    seen.add(real);
    const name = displayName(cwd, abs);
    if (heapFull(name)) return;
    result.files.push(name);
    let text: string;
    try {
      // Regular files only: a FIFO would block forever, a device (/dev/zero) never ends.
      const st = await fs.stat(abs);
      if (!st.isFile()) {
        result.errors.push({
          file: name,
          message: 'not a regular file (a pipe, device or socket is not read; use - for standard input)',
        });
        return;
      }
      if (st.size > maxInputBytes()) {
        result.errors.push({
          file: name,
          message: `is ${st.size} bytes, larger than the ${maxInputBytes()}-byte input limit (HCB_MAX_INPUT_BYTES)`,
        });
        return;
      }
      const bytes = await fs.readFile(abs);
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        result.errors.push({ file: name, message: 'is not valid UTF-8 text (kubectl refuses it)' });
        return;
      }
    } catch (err) {
      result.errors.push({ file: name, message: `cannot read: ${ioMessage(err)}` });
      return;
    }
    add(parseText(text, name), name);
  };

  // What a directory walk passes over, named once per walked path so nothing is skipped unseen
  // (except `hcb synth`'s own marker file in its output directory).
  let skipped: { hidden: string[]; other: string[] } = { hidden: [], other: [] };
  const walk = async (dir: string, ancestors: Set<string>): Promise<number> => {
    const real = await realpathOr(dir);
    if (ancestors.has(real)) {
      result.warnings.push({ file: displayName(cwd, dir), message: 'symbolic link loop skipped' });
      return 0;
    }
    const inside = new Set(ancestors).add(real);
    let entries: string[];
    try {
      entries = await fs.readdir(dir);
    } catch (err) {
      result.errors.push({ file: displayName(cwd, dir), message: `cannot read directory: ${ioMessage(err)}` });
      return 0;
    }
    let count = 0;
    // Code-unit order, not locale order: the same tree reads the same way on every machine.
    for (const entry of entries.sort(compareCodeUnits)) {
      if (stopped) break;
      const abs = path.join(dir, entry);
      if (entry.startsWith('.') || entry === 'node_modules') {
        // .git, .github workflows, editor files, an app's installed packages: not its manifests
        // (not entered; named in one warning)
        if (entry !== SYNTH_MARKER) skipped.hidden.push(displayName(cwd, abs));
        continue;
      }
      let stat;
      try {
        stat = await fs.stat(abs);
      } catch (err) {
        result.warnings.push({ file: displayName(cwd, abs), message: `skipped: ${ioMessage(err)}` });
        continue;
      }
      if (stat.isDirectory()) {
        count += await walk(abs, inside);
      } else if (stat.isFile() && MANIFEST_FILE.test(entry)) {
        await readFile(abs);
        count += 1;
      } else {
        skipped.other.push(displayName(cwd, abs));
      }
    }
    return count;
  };

  for (const p of paths) {
    if (stopped) break;
    if (p === '-') {
      if (stdinRead) continue;
      stdinRead = true;
      if (heapFull(STDIN_NAME)) break;
      result.files.push(STDIN_NAME);
      let text: string;
      try {
        text = await (options.readStdin ?? readProcessStdin)();
      } catch (err) {
        result.errors.push({ file: STDIN_NAME, message: `cannot read: ${ioMessage(err)}` });
        continue;
      }
      add(parseText(text, STDIN_NAME), STDIN_NAME);
      continue;
    }
    const abs = path.resolve(cwd, p);
    let stat;
    try {
      stat = await fs.stat(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        result.missing.push(p);
      } else {
        result.errors.push({ file: displayName(cwd, abs), message: `cannot read: ${ioMessage(err)}` });
      }
      continue;
    }
    if (stat.isDirectory()) {
      skipped = { hidden: [], other: [] };
      const n = await walk(abs, new Set());
      if (n === 0)
        result.warnings.push({ file: displayName(cwd, abs), message: 'directory holds no .yaml, .yml or .json file' });
      const named = (l: string[]) => `${l.slice(0, 5).join(', ')}${l.length > 5 ? `, and ${l.length - 5} more` : ''}`;
      const parts = [
        ...(skipped.hidden.length
          ? [`${skipped.hidden.length} hidden or node_modules (${named(skipped.hidden)})`]
          : []),
        ...(skipped.other.length ? [`${skipped.other.length} not .yaml, .yml or .json (${named(skipped.other)})`] : []),
      ];
      if (parts.length)
        result.warnings.push({
          file: displayName(cwd, abs),
          message: `not read: ${parts.join('; ')}. Name a file or directory as an argument to read it.`,
        });
    } else {
      await readFile(abs);
    }
  }
  return result;
}

/** Measured on the generated corpora (BENCHMARKS.md, "Large inputs"): documents, findings and report. */
const KIB_PER_DOCUMENT = 28;

const NOTHING_CHECKED =
  'no document was checked (the controls relate objects across the whole input, so a part would give partial answers).';

const LIMIT_REMEDIATION =
  'Audit the input in parts (e.g. one directory or release at a time), or raise the limit named in the message.';

function addParsed(
  result: LoadResult,
  parsed: { documents: LoadResult['documents']; errors: LoadProblem[]; warnings: LoadProblem[] },
): void {
  // One at a time: push(...array) overflows the call stack for very large arrays.
  for (const d of parsed.documents) result.documents.push(d);
  for (const e of parsed.errors) result.errors.push(e);
  for (const w of parsed.warnings) result.warnings.push(w);
}

/** Relative to cwd with forward slashes, the form reports and SARIF use. */
export function displayName(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  return (rel === '' ? path.basename(abs) : rel).split(path.sep).join('/');
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function realpathOr(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    return p;
  }
}

function ioMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') {
    const known: Record<string, string> = {
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
      ENOENT: 'no such file or directory',
      EMFILE: 'too many open files',
    };
    return known[e.code] ?? e.code;
  }
  return err instanceof Error ? err.message : String(err);
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const limit = maxInputBytes();
  for await (const chunk of process.stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limit)
      throw new Error(`standard input is larger than the ${limit}-byte input limit (HCB_MAX_INPUT_BYTES)`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
