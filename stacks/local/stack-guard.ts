/**
 * What `npm run up` does around `pulumi up` so that a run interrupted by a fault is followed by
 * one that converges (scripts/up.sh calls this file; the faults e2e test calls it the same way).
 *
 *   stack-guard.ts prepare <stack>      before `pulumi up`
 *   stack-guard.ts explain <stateDir>   after a failed `pulumi up`
 *
 * `prepare` handles what a killed Pulumi CLI leaves in a file backend:
 * - the stack's lock file (`.pulumi/locks/<org>/<project>/<stack>/<id>.json`, holding pid, host
 *   and time): removed when its holder is provably gone (this host, and the pid is not running,
 *   or is running another program, or a process that started after the lock was written); a live
 *   holder is named and the run refuses; a lock of another host is never touched;
 * - pending operations in the checkpoint (an operation begun, its result never recorded): Pulumi
 *   keeps pending creates forever and asks for an interactive `pulumi refresh`. They are cleared
 *   (`pulumi stack export` + `pulumi stack import`, which drops pending operations) only when every
 *   one is on a resource whose create is idempotent: Kubernetes objects created by server-side
 *   apply (an upsert: a create that did happen is applied again, nothing is duplicated) and the
 *   local control plane (its `up` is a no-op for what already runs). Anything else: the run stops
 *   with the exact command to resolve it.
 *
 * - a checkpoint's attribute file emptied by the kill. The file backend stores each checkpoint
 *   through gocloud's fileblob (v0.37.0, the version the Pulumi CLI here is built with): the
 *   checkpoint itself is written to a temporary file and renamed (atomic), but its sidecar
 *   `<checkpoint>.attrs` is truncated and rewritten in place (attrs.go `setAttrs`: os.Create, then
 *   a JSON encode). A CLI killed between the two leaves an empty or partial `.attrs`, and every
 *   later command on the stack fails with "failed to load checkpoint: EOF" (fileblob decodes the
 *   sidecar on each read). The checkpoint next to it is whole (the old one: the rename comes after
 *   the sidecar), and a missing sidecar is read as default attributes, so the broken sidecar is
 *   removed, with the checkpoint's temporary files the kill left; a checkpoint that does not parse
 *   stops the run with the backup to restore instead.
 *
 * `explain` names the control-plane components that are not running or not healthy, with the
 * end of their logs, so a failed run says what died and that the next run restarts it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

export interface GuardContext {
  /** The project directory (Pulumi.yaml). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface StackLock {
  file: string;
  pid: number;
  hostname: string;
  timestamp: string;
  /** Why the holder is gone, or undefined when it may still run. */
  stale?: string;
}

/** Result of `prepare`: ok to run `pulumi up`, or the reason (with the command to run) why not. */
export interface PrepareResult {
  ok: boolean;
  message?: string;
  removedLocks: StackLock[];
  clearedOperations: PendingOperation[];
  /** Plugin processes a dead Pulumi CLI left running (stopped). */
  stoppedOrphans: Array<{ pid: number; what: string }>;
  /** Checkpoint attribute files a killed save left empty or partial (removed). */
  repairedSidecars?: string[];
}

export interface PendingOperation {
  type: string;
  urn: string;
  resourceType: string;
}

/** The lock files of one stack in a file backend. */
export function stackLocks(backendDir: string, project: string, stack: string): StackLock[] {
  const root = path.join(backendDir, '.pulumi', 'locks');
  const out: StackLock[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth < 4) walk(p, depth + 1);
      else if (
        e.isFile() &&
        e.name.endsWith('.json') &&
        path.basename(dir) === stack &&
        path.basename(path.dirname(dir)) === project
      ) {
        try {
          const c = JSON.parse(fs.readFileSync(p, 'utf8')) as { pid?: number; hostname?: string; timestamp?: string };
          out.push({
            file: p,
            pid: Number(c.pid),
            hostname: String(c.hostname ?? ''),
            timestamp: String(c.timestamp ?? ''),
          });
        } catch {
          out.push({ file: p, pid: NaN, hostname: '', timestamp: '' });
        }
      }
    }
  };
  walk(root, 0);
  for (const l of out) l.stale = whyStale(l);
  return out;
}

/**
 * The checkpoint files of one stack in a file backend (project-scoped layout, and the older one
 * without the project directory), plain or gzipped, with their `.bak` copies.
 */
function checkpointFiles(backendDir: string, project: string, stack: string): string[] {
  const dirs = [path.join(backendDir, '.pulumi', 'stacks', project), path.join(backendDir, '.pulumi', 'stacks')];
  const names = [`${stack}.json`, `${stack}.json.gz`, `${stack}.json.bak`, `${stack}.json.gz.bak`];
  return dirs.flatMap((d) => names.map((n) => path.join(d, n))).filter((f) => fs.existsSync(f));
}

/** A checkpoint that parses (JSON, or gzip whose content is JSON). */
function checkpointReadable(file: string): boolean {
  try {
    const raw = fs.readFileSync(file);
    const text = raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export interface SidecarRepair {
  /** Sidecars removed (empty or not JSON), next to a readable checkpoint. */
  removedSidecars: string[];
  /** Temporary checkpoint files a killed write left (`<checkpoint>.<hex>.tmp`), removed. */
  removedTemporaries: string[];
  /** Set when a checkpoint itself does not parse: what to do (nothing was changed for it). */
  problem?: string;
}

/**
 * Repairs what a Pulumi CLI killed while saving a checkpoint leaves in a file backend (see the
 * file comment). Call it only when no Pulumi process holds the stack's lock.
 */
export function repairCheckpointSidecars(
  backendDir: string,
  project: string,
  stack: string,
  log: (line: string) => void,
): SidecarRepair {
  const out: SidecarRepair = { removedSidecars: [], removedTemporaries: [] };
  for (const file of checkpointFiles(backendDir, project, stack)) {
    // Temporaries of this checkpoint: fileblob names them <file>.<nanoseconds in hex>.tmp.
    const dir = path.dirname(file);
    const tmp = new RegExp(`^${path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[0-9a-f]+\\.tmp$`);
    for (const n of fs.readdirSync(dir).filter((x) => tmp.test(x))) {
      const t = path.join(dir, n);
      log(`removing ${t}: a checkpoint write the killed pulumi did not finish (never renamed into place)`);
      fs.rmSync(t, { force: true });
      out.removedTemporaries.push(t);
    }
    const sidecar = `${file}.attrs`;
    if (!fs.existsSync(sidecar)) continue;
    let sound = true;
    try {
      JSON.parse(fs.readFileSync(sidecar, 'utf8'));
    } catch {
      sound = false;
    }
    if (sound) continue;
    if (!checkpointReadable(file)) {
      // A damaged backup is not read by pulumi: left as it is (never offered as the thing to restore).
      if (file.endsWith('.bak')) {
        log(`leaving ${file} and ${sidecar} as they are: this backup is damaged too, and pulumi does not read it`);
        continue;
      }
      out.problem =
        `the checkpoint ${file} and its attribute file ${sidecar} are both damaged (a pulumi killed while writing them). ` +
        `Nothing was changed. Restore the previous checkpoint: copy ${file}.bak over ${file} ` +
        `and remove ${sidecar}, then run again.`;
      continue;
    }
    const size = fs.statSync(sidecar).size;
    log(
      `removing ${sidecar} (${size === 0 ? 'empty' : `${size} bytes, not JSON`}): a pulumi killed while saving left it so, and every ` +
        `command on stack ${stack} would fail with "failed to load checkpoint: EOF"; the checkpoint beside it is whole`,
    );
    fs.rmSync(sidecar, { force: true });
    out.removedSidecars.push(sidecar);
  }
  return out;
}

/** Why a lock's holder is provably gone; undefined when it may still run (or cannot be judged). */
function whyStale(l: StackLock): string | undefined {
  if (l.hostname !== os.hostname()) return undefined;
  if (!Number.isInteger(l.pid) || l.pid <= 0) return undefined;
  const started = processStartMs(l.pid);
  if (started === undefined) return `pid ${l.pid} is not running`;
  let exe = '';
  try {
    exe = path.basename(fs.readlinkSync(`/proc/${l.pid}/exe`).replace(/ \(deleted\)$/, ''));
  } catch {
    return undefined;
  }
  if (exe !== 'pulumi') return `pid ${l.pid} is now another program (${exe})`;
  const locked = Date.parse(l.timestamp);
  // (start times have a granularity of one clock tick; allow a few seconds)
  if (Number.isFinite(locked) && started > locked + 5_000)
    return `pid ${l.pid} is a pulumi started after the lock was written`;
  return undefined;
}

/** When a process started (ms since the epoch), from /proc; undefined when it does not run (or is a zombie). */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))![1]);
    const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    return btime * 1000 + (ticks / hz) * 1000;
  } catch {
    return undefined;
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  exe: string;
  cmdline: string[];
  cwd: string;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return {
      pid,
      ppid: Number(fields[1]),
      exe: path.basename(fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '')),
      cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean),
      cwd: fs.readlinkSync(`/proc/${pid}/cwd`),
    };
  } catch {
    return undefined;
  }
}

/** A Pulumi plugin or Pulumi-run Node.js process (language host, program, providers, policy analyzer). */
function isPulumiPart(p: ProcInfo): boolean {
  if (/^pulumi-(language|resource|analyzer)-/.test(p.exe)) return true;
  // Node.js programs of the SDK (the program, the dynamic provider) and the SDK's shell wrappers.
  return ['node', 'sh', 'dash', 'bash'].includes(p.exe) && p.cmdline.some((a) => a.includes('/@pulumi/pulumi/'));
}

/**
 * Pulumi's processes of this project (working directory: the project's, or that of its `main`,
 * where the language host runs the program) whose parent is no Pulumi process any more (the
 * CLI that started them is dead), with their Pulumi descendants. A live CLI's plugins have the
 * CLI (or one of its plugins) as parent and are never included.
 */
export function pulumiOrphans(cwd: string): Array<{ pid: number; what: string }> {
  const all = fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .map((e) => procInfo(Number(e)))
    .filter((p): p is ProcInfo => p !== undefined);
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const dirs = new Set([cwd, realpathOr(cwd)]);
  const main = /^main:\s*(\S+)/m
    .exec(fs.readFileSync(path.join(cwd, 'Pulumi.yaml'), 'utf8'))?.[1]
    ?.replace(/^["']|["']$/g, '');
  if (main) {
    const m = path.join(cwd, main);
    for (const d of [m, path.dirname(m)]) dirs.add(realpathOr(d));
  }
  const parts = all.filter((p) => isPulumiPart(p) && dirs.has(p.cwd));
  const pulumiParent = (p: ProcInfo) => {
    const parent = byPid.get(p.ppid);
    return parent !== undefined && (parent.exe === 'pulumi' || isPulumiPart(parent));
  };
  const roots = new Set(parts.filter((p) => !pulumiParent(p)).map((p) => p.pid));
  // descendants of an orphan root that are Pulumi parts too
  const orphan = (p: ProcInfo): boolean =>
    roots.has(p.pid) || (byPid.has(p.ppid) && isPulumiPart(byPid.get(p.ppid)!) && orphan(byPid.get(p.ppid)!));
  return all
    .filter((p) => isPulumiPart(p) && orphan(p))
    .map((p) => ({ pid: p.pid, what: /^pulumi-/.test(p.exe) ? p.exe : `${p.exe} ${p.cmdline.slice(1, 2).join(' ')}` }));
}

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function stopProcess(pid: number): void {
  const started = procInfo(pid);
  if (!started) return;
  const same = () => {
    const now = procInfo(pid);
    return now !== undefined && now.exe === started.exe;
  };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (same() && Date.now() < deadline) spawnSync('sleep', ['0.2']);
  if (same()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function projectName(cwd: string): string {
  const m = /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(cwd, 'Pulumi.yaml'), 'utf8'));
  if (!m) throw new Error(`no project name in ${path.join(cwd, 'Pulumi.yaml')}`);
  return m[1].replace(/^["']|["']$/g, '');
}

function backendDir(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.PULUMI_BACKEND_URL ?? '';
  return url.startsWith('file://') ? url.slice('file://'.length) : undefined;
}

function pulumi(ctx: GuardContext, args: string[]) {
  return spawnSync('pulumi', [...args, '--non-interactive'], {
    cwd: ctx.cwd,
    env: ctx.env,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** A pending operation whose repetition is safe (see the file comment). */
export function idempotent(op: PendingOperation, kubernetesSsa: boolean): boolean {
  // The local control plane (stacks/local/resource.ts): its create and update run `up`, a no-op for what runs.
  if (op.resourceType === 'pulumi-nodejs:dynamic/hcb:LocalControlPlane' && /::local-control-plane$/.test(op.urn))
    return true;
  // Kubernetes objects (not the provider itself) created and updated by server-side apply.
  // (Helm releases are installs, not applies: not repeated automatically.)
  if (op.resourceType.startsWith('kubernetes:') && !op.resourceType.startsWith('kubernetes:helm.sh/') && kubernetesSsa)
    return true;
  return false;
}

export function prepare(stack: string, ctx: GuardContext): PrepareResult {
  const result: PrepareResult = { ok: true, removedLocks: [], clearedOperations: [], stoppedOrphans: [] };
  const backend = backendDir(ctx.env);
  if (!backend) return result; // only the file backend is handled here
  const project = projectName(ctx.cwd);
  for (const l of stackLocks(backend, project, stack)) {
    if (l.stale) {
      ctx.log(`removing the stale Pulumi lock of stack ${stack} (${l.stale}; written ${l.timestamp}): ${l.file}`);
      fs.rmSync(l.file, { force: true });
      result.removedLocks.push(l);
      // Its language host, program and providers may still run (a dynamic provider may still be
      // starting the cluster): stop them, so the next run is the only one.
      for (const o of pulumiOrphans(ctx.cwd)) {
        ctx.log(`stopping ${o.what} (pid ${o.pid}), left running by the dead pulumi`);
        stopProcess(o.pid);
        result.stoppedOrphans.push(o);
      }
      continue;
    }
    const who =
      l.hostname === os.hostname()
        ? `pulumi (pid ${l.pid}) since ${l.timestamp}`
        : `a pulumi on host ${l.hostname} (pid ${l.pid}) since ${l.timestamp}`;
    return {
      ...result,
      ok: false,
      message:
        `stack ${stack} is being updated by ${who} (lock ${l.file}). Wait for it to finish. ` +
        `If that process is stuck, stop it first (kill ${l.pid}), then run this again; only when it is gone: pulumi cancel --stack ${stack} --yes`,
    };
  }

  // No live holder of the lock from here on: nothing writes the checkpoint while it is repaired.
  const repaired = repairCheckpointSidecars(backend, project, stack, ctx.log);
  result.repairedSidecars = repaired.removedSidecars;
  if (repaired.problem) return { ...result, ok: false, message: repaired.problem };

  const exported = pulumi(ctx, ['stack', 'export', '--stack', stack]);
  if (exported.status !== 0) {
    // A stack without a checkpoint yet has nothing pending.
    if (/no stack named|could not find|does not exist/i.test(exported.stderr)) return result;
    return { ...result, ok: false, message: `pulumi stack export --stack ${stack} failed: ${exported.stderr.trim()}` };
  }
  const deployment =
    (
      JSON.parse(exported.stdout || '{}') as {
        deployment?: {
          resources?: Array<{ type: string; inputs?: Record<string, unknown> }>;
          pending_operations?: Array<{ type: string; resource: { urn: string; type: string } }>;
        };
      }
    ).deployment ?? {};
  const pending: PendingOperation[] = (deployment.pending_operations ?? []).map((o) => ({
    type: o.type,
    urn: o.resource.urn,
    resourceType: o.resource.type,
  }));
  if (!pending.length) return result;
  const list = pending.map((o) => `  ${o.type} ${o.urn}`).join('\n');
  // Server-side apply is the Kubernetes provider's default; a provider that turned it off creates with POST (not idempotent).
  const ssa = !(deployment.resources ?? []).some(
    (r) => r.type === 'pulumi:providers:kubernetes' && String(r.inputs?.enableServerSideApply) === 'false',
  );
  const unsafe = pending.filter((o) => !idempotent(o, ssa));
  if (unsafe.length) {
    return {
      ...result,
      ok: false,
      message:
        `stack ${stack} has operations an interrupted run left pending:\n${list}\n` +
        `Some are not safe to repeat automatically. Check them, then run: pulumi refresh --stack ${stack} (interactive: it asks about each pending create).`,
    };
  }
  ctx.log(
    `an interrupted run left ${pending.length} pending operation(s) on stack ${stack}; each is safe to repeat (server-side apply, local control plane up), clearing them:\n${list}`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-stack-'));
  try {
    const file = path.join(dir, 'deployment.json');
    fs.writeFileSync(file, exported.stdout, { mode: 0o600 });
    const imported = pulumi(ctx, ['stack', 'import', '--stack', stack, '--file', file]);
    if (imported.status !== 0) {
      return {
        ...result,
        ok: false,
        message: `clearing the pending operations failed (pulumi stack import): ${imported.stderr.trim()}`,
      };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  result.clearedOperations = pending;
  return result;
}

/** After a failed up: which components are not running or not healthy, with the end of their logs. */
export async function explain(stateDir: string, log: (line: string) => void): Promise<boolean> {
  const { COMPONENTS, LocalControlPlane } = await import('./control-plane');
  if (!fs.existsSync(path.join(stateDir, 'run'))) {
    log(`the local control plane in ${stateDir} has not been started`);
    return false;
  }
  const cp = new LocalControlPlane({ stateDir, binDir: '', nodeFiles: [], log: () => undefined });
  const bad = (await cp.status()).components.filter((c) => !c.healthy);
  if (!bad.length) {
    log(
      `the local control plane (${COMPONENTS.join(', ')}) runs and is healthy: the failure is elsewhere (see the Pulumi output above)`,
    );
    return true;
  }
  for (const c of bad) {
    log(`${c.name} is ${c.running ? 'running but not healthy' : 'not running'}; last lines of ${c.log}:`);
    let text = '(no log)';
    try {
      text = fs.readFileSync(c.log, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
    } catch {
      /* keep the placeholder */
    }
    for (const line of text.split('\n')) log(`    ${line}`);
  }
  log('run the same command again: the next up restarts what stopped and completes the update');
  return false;
}

async function main(argv: string[]): Promise<number> {
  const [action, arg] = argv;
  const log = (line: string) => process.stderr.write(`[up] ${line}\n`);
  try {
    if (action === 'prepare' && arg) {
      const r = prepare(arg, { cwd: process.cwd(), env: process.env, log });
      if (!r.ok) {
        log(r.message ?? 'cannot run pulumi up');
        return 1;
      }
      return 0;
    }
    if (action === 'explain' && arg) {
      await explain(path.resolve(arg), log);
      return 0;
    }
  } catch (e) {
    log(`stack guard: ${(e as Error).message}`);
    return 1;
  }
  process.stderr.write('usage: stack-guard.ts prepare <stack> | explain <stateDir>\n');
  return 2;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
