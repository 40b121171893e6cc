/**
 * A measured command under a time bound that stops everything the command started.
 *
 * Node's own `timeout` (spawnSync, execFile) signals the direct child only. The bench's children
 * start their own: the Pulumi CLI runs a language host, Node.js and the Kubernetes provider; the
 * kubesec step is a shell that runs kubesec. When the bound hit, those were left running. Here the
 * command runs under coreutils `timeout`, which puts itself and the command in a new process group
 * and, at the bound, sends SIGTERM to the whole group, then SIGKILL after a grace period.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';

/** coreutils timeout's exit status when the bound was reached (SIGTERM sufficed). */
export const TIMED_OUT = 124;
/** ... and when the grace period ran out too (SIGKILL: 128 + 9). */
export const KILLED_AFTER_TIMEOUT = 137;
const GRACE_S = 30;

/** The argv prefix: `timeout -k <grace>s <bound>s`. The bound is rounded up to whole seconds. */
export function boundPrefix(timeoutMs: number): string[] {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new Error(`bench: a time bound must be a positive number of milliseconds, not ${timeoutMs}`);
  return ['timeout', '-k', `${GRACE_S}s`, `${Math.ceil(timeoutMs / 1000)}s`];
}

export interface BoundedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxBuffer?: number;
  /** Put /usr/bin/time -o FILE -f FORMAT in front (outside the bound, so it waits for the whole group). */
  time?: { bin: string; file: string; format: string };
}

export interface BoundedResult extends SpawnSyncReturns<string> {
  /** The bound was reached (the group was signalled), or the backstop below fired. */
  timedOut: boolean;
}

/**
 * Runs `cmd argv` under the bound and waits. `timedOut` is true when `timeout` reports that it
 * signalled the group; Node's own timeout stays as a backstop (bound + grace + 30 s) in case
 * `timeout` itself hangs.
 */
export function runBounded(cmd: string, argv: string[], o: BoundedOptions): BoundedResult {
  const inner = [...boundPrefix(o.timeoutMs), cmd, ...argv];
  const [bin, args] = o.time
    ? [o.time.bin, ['-o', o.time.file, '-f', o.time.format, ...inner]]
    : [inner[0], inner.slice(1)];
  const started = Date.now();
  const r = spawnSync(bin, args, {
    cwd: o.cwd,
    env: o.env,
    encoding: 'utf8',
    maxBuffer: o.maxBuffer ?? 256 * 1024 * 1024,
    timeout: o.timeoutMs + (GRACE_S + 30) * 1000,
  });
  const backstop = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  // /usr/bin/time passes the command's exit status on; `timeout` uses 124, or 137 after SIGKILL.
  // A command can exit with those itself (137: killed by the kernel's OOM killer), so the bound
  // counts as reached only if the time has run out too.
  const timedOut =
    backstop || ((r.status === TIMED_OUT || r.status === KILLED_AFTER_TIMEOUT) && Date.now() - started >= o.timeoutMs);
  return { ...r, timedOut };
}
