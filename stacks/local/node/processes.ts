/**
 * The node's long-running processes (containerd, the kubelet, forwarders, kube-proxy): started
 * detached with a log file, recorded in `<runDir>/<name>.json` (pid, program, fingerprint of
 * program + arguments + configuration), restarted only when the fingerprint changes, stopped with
 * SIGTERM then SIGKILL. A record counts only while its pid runs the recorded program, so a reused
 * pid is never signalled. Shared by LocalNode (node.ts) and NodeServices (services.ts).
 */
import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { alive, signal, sleep, tail, writeJson } from './sandbox';

export interface ProcRecord {
  pid: number;
  exe: string;
  fingerprint: string;
  args: string[];
}

/** The program a pid runs (`(deleted)` dropped), or '' when it is gone. */
export function readExe(pid: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return '';
  }
}

export interface ProcessSupervisorOptions {
  runDir: string;
  logDir: string;
  binDir: string;
  log: (line: string) => void;
}

export interface StartSpec {
  binary: string;
  args: string[];
  /** Configuration the process reads (part of the fingerprint). */
  config: string;
  /** The command line to spawn (e.g. the binary wrapped in nsenter). @default [binary, ...args] */
  argv?: string[];
  /** The arguments written to the log (secrets left out). @default args */
  shown?: string[];
}

export class ProcessSupervisor {
  constructor(private readonly opts: ProcessSupervisorOptions) {}

  logFile(name: string): string {
    return path.join(this.opts.logDir, `node-${name}.log`);
  }

  recordPath(name: string): string {
    return path.join(this.opts.runDir, `${name}.json`);
  }

  readRecord(name: string): ProcRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.recordPath(name), 'utf8')) as ProcRecord;
    } catch {
      return undefined;
    }
  }

  isAlive(rec: ProcRecord): boolean {
    return alive(rec.pid) && readExe(rec.pid) === rec.exe;
  }

  /** Starts the process unless it runs with the same fingerprint (then a no-op). */
  async ensure(name: string, spec: StartSpec): Promise<void> {
    const { binary, args, config } = spec;
    const exe = fs.realpathSync(binary);
    const fingerprint = crypto
      .createHash('sha256')
      .update(JSON.stringify([exe, args, config]))
      .digest('hex');
    const rec = this.readRecord(name);
    if (rec && this.isAlive(rec)) {
      if (rec.fingerprint === fingerprint) return;
      this.opts.log(`${name}: configuration changed, restarting`);
      await this.stop(name);
    }
    const logFile = this.logFile(name);
    fs.mkdirSync(this.opts.logDir, { recursive: true, mode: 0o700 });
    const fd = fs.openSync(logFile, 'a', 0o600);
    fs.writeSync(fd, `\n=== ${name} starting: ${binary} ${(spec.shown ?? args).join(' ')}\n`);
    const [cmd, ...rest] = spec.argv ?? [binary, ...args];
    const child = spawn(cmd, rest, {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: '/',
      env: {
        PATH: `${this.opts.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        HOME: '/root',
        LANG: 'C.UTF-8',
      },
    });
    fs.closeSync(fd);
    if (child.pid === undefined) throw new Error(`${name}: could not start ${binary}`);
    child.unref();
    const pid = child.pid;
    // nsenter replaces itself with the program: wait until the pid runs the program itself.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      let current = '';
      try {
        current = fs.readlinkSync(`/proc/${pid}/exe`);
      } catch {
        throw new Error(`${name} exited at once; last lines of ${logFile}:\n${tail(logFile, 20)}`);
      }
      if (current === exe) break;
      await sleep(20);
    }
    writeJson(this.recordPath(name), { pid, exe, fingerprint, args } satisfies ProcRecord);
    this.opts.log(`${name}: started (pid ${pid}, log ${logFile})`);
  }

  async stop(name: string): Promise<void> {
    const rec = this.readRecord(name);
    if (!rec) return;
    if (this.isAlive(rec)) {
      signal(rec.pid, 'SIGTERM');
      const deadline = Date.now() + 15_000;
      while (this.isAlive(rec) && Date.now() < deadline) await sleep(100);
      if (this.isAlive(rec)) signal(rec.pid, 'SIGKILL');
      for (let i = 0; i < 50 && this.isAlive(rec); i++) await sleep(100);
    }
    fs.rmSync(this.recordPath(name), { force: true });
  }
}
