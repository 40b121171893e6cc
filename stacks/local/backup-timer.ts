/**
 * The backup schedule of a local cluster: a small detached process (a node timer, since the
 * machine has no systemd or cron we may rely on) that runs `hcb backup now` every `interval` of
 * the cluster's BackupConfiguration node file. Started by `hcb backup timer start` (`npm run up`
 * does it), stopped by `hcb backup timer stop` (`npm run down` and `hcb cluster down` leave none
 * behind). Its pid is recorded in `<stateDir>/run/backup-timer.json`, its log is
 * `<stateDir>/logs/backup-timer.log`. A stale record (dead process) is replaced.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { BackupError } from './backup';

const CONFIG = 'rootfs/etc/kubernetes/backup/backup-config.yaml';

interface TimerRecord {
  pid: number;
  intervalSeconds: number;
  started: string;
}

function recordPath(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'run', 'backup-timer.json');
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Seconds of the interval the cluster's BackupConfiguration asks for. */
export function configuredInterval(stateDir: string): number {
  const file = path.join(path.resolve(stateDir), CONFIG);
  if (!fs.existsSync(file))
    throw new BackupError(`${file} does not exist: start the cluster first (it renders the backup configuration)`);
  const doc = parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as { kind?: string; spec?: { interval?: string } })
    .find((d) => d?.kind === 'BackupConfiguration');
  const v = doc?.spec?.interval ?? '';
  let total = 0;
  const m = /^((\d+(\.\d+)?)(h|m|s))+$/.test(v) ? [...v.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)] : [];
  for (const x of m) total += Number(x[1]) * (x[2] === 'h' ? 3600 : x[2] === 'm' ? 60 : 1);
  if (!(total > 0)) throw new BackupError(`${file}: spec.interval "${v}" is not a positive duration`);
  return total;
}

export function timerStatus(stateDir: string): { running: boolean; pid?: number; intervalSeconds?: number } {
  try {
    const rec = JSON.parse(fs.readFileSync(recordPath(stateDir), 'utf8')) as TimerRecord;
    return processAlive(rec.pid)
      ? { running: true, pid: rec.pid, intervalSeconds: rec.intervalSeconds }
      : { running: false };
  } catch {
    return { running: false };
  }
}

/**
 * Starts the timer (a no-op when one runs with the same interval). `cliEntry` is the command that
 * runs `hcb`, e.g. [process.execPath, '-r', 'ts-node/register/transpile-only', 'cli/main.ts'].
 */
export function startTimer(
  stateDir: string,
  cliEntry: string[],
  opts: { intervalSeconds?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { pid: number; started: boolean; intervalSeconds: number } {
  const dir = path.resolve(stateDir);
  const interval = opts.intervalSeconds ?? configuredInterval(dir);
  const st = timerStatus(dir);
  if (st.running && st.intervalSeconds === interval) return { pid: st.pid!, started: false, intervalSeconds: interval };
  if (st.running) stopTimerSync(dir);
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const log = fs.openSync(path.join(dir, 'logs', 'backup-timer.log'), 'a', 0o600);
  // The loop is a shell one-liner around hcb: nothing of ours stays in memory between backups.
  const hcb = cliEntry.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `while true; do sleep ${interval}; date -u +%FT%TZ; ${hcb} backup now --state-dir '${dir.replace(/'/g, `'\\''`)}' || echo "backup failed (exit $?)"; done`;
  const child = spawn('/bin/sh', ['-c', script], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: opts.cwd,
    env: opts.env ?? process.env,
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new BackupError('could not start the backup timer');
  child.unref();
  const rec: TimerRecord = { pid: child.pid, intervalSeconds: interval, started: new Date().toISOString() };
  const tmp = `${recordPath(dir)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(rec)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, recordPath(dir));
  return { pid: child.pid, started: true, intervalSeconds: interval };
}

function stopTimerSync(dir: string): void {
  const st = timerStatus(dir);
  if (st.running && st.pid) {
    try {
      process.kill(-st.pid, 'SIGTERM'); // the whole group: the shell, its sleep and a running backup
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(recordPath(dir), { force: true });
}

/** Stops the timer and whatever it runs; waits until the process is gone. */
export async function stopTimer(stateDir: string, timeoutMs = 15_000): Promise<boolean> {
  const dir = path.resolve(stateDir);
  const st = timerStatus(dir);
  stopTimerSync(dir);
  if (!st.running || !st.pid) return false;
  const deadline = Date.now() + timeoutMs;
  while (processAlive(st.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (processAlive(st.pid)) {
    try {
      process.kill(-st.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    // kill() returns before the process is gone: wait (bounded) until it is, so callers that check
    // processAlive right after stopTimer do not race the kernel.
    const killDeadline = Date.now() + 10_000;
    while (processAlive(st.pid) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
