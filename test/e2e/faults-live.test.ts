/**
 * Faults on a running local cluster (issue 15), on the real binaries and the real Pulumi CLI:
 * stale state for `hcb cluster up` (dead processes with pid files, a lost record, records and a
 * lock naming live unrelated programs, which must survive), two `hcb cluster up` at once, and
 * etcd, kube-apiserver and the Pulumi CLI itself killed during an up. Every run that fails must
 * fail within a bound with a message naming what died, and the next run must converge: the same
 * object set, no pending operation or lock left in the Pulumi state, no orphan process.
 *
 * Ports 47643-47648 (API server, etcd client/peer/metrics, controller manager, scheduler).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { COMPONENTS } from '../../stacks/local/control-plane';
import { processAlive, REPO, tempDir, toolchainBin } from './support/env';

jest.setTimeout(1_800_000);

const BASE = 47643;
const CLI_PORTS = ['--api-server-port', String(BASE), '--etcd-port', String(BASE + 1), '--controller-manager-port', String(BASE + 4), '--scheduler-port', String(BASE + 5)];
const bin = toolchainBin();

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Starts a command; `done` resolves when it exits, killed after `timeoutMs` (a hang fails the test). */
function start(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): { child: ChildProcess; done: Promise<Run> } {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  const done = new Promise<Run>((resolve) =>
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, done };
}

function hcbCluster(stateDir: string, action: string, extra: string[] = []) {
  return start(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'cli/main.ts'), 'cluster', action, '--state-dir', stateDir, ...CLI_PORTS, ...extra], {
    env: { ...process.env, HCB_TOOLCHAIN_BIN: bin },
  });
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function record(stateDir: string, name: string): { pid: number; binary: string; args: string[] } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'run', `${name}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every control-plane process started from this state directory (its working directory), by component. */
function processesOf(stateDir: string): Array<{ pid: number; name: string }> {
  const found: Array<{ pid: number; name: string }> = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readlinkSync(`/proc/${e}/cwd`) !== stateDir) continue;
      const name = path.basename(fs.readlinkSync(`/proc/${e}/exe`));
      if ((COMPONENTS as readonly string[]).includes(name) && processAlive(Number(e))) found.push({ pid: Number(e), name });
    } catch {
      /* gone */
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The recorded pids equal the running processes: one per component, nothing else. */
function expectOneProcessPerComponent(stateDir: string): void {
  const running = processesOf(stateDir);
  expect(running.map((p) => p.name)).toEqual([...COMPONENTS].sort());
  for (const p of running) expect(record(stateDir, p.name)?.pid).toBe(p.pid);
}

async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await until(`pid ${pid} to exit`, () => (processAlive(pid) ? undefined : true), 10_000);
}

const timings: string[] = [];
afterAll(() => {
  process.stderr.write(`faults-live timings:\n  ${timings.join('\n  ')}\n`);
});

describe('hcb cluster up on stale and contended state', () => {
  const stateDir = fs.realpathSync(tempDir('faults-cli'));
  const unrelated: ChildProcess[] = [];

  afterAll(async () => {
    await hcbCluster(stateDir, 'down', ['--purge']).done;
    for (const p of processesOf(stateDir)) process.kill(p.pid, 'SIGKILL');
    for (const c of unrelated) c.kill('SIGKILL');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('recovers from dead processes with pid files, a lost record, and records and a lock naming live unrelated programs (left alone)', async () => {
    const first = await hcbCluster(stateDir, 'up').done;
    expect(first.stderr).toMatch(/kube-scheduler: healthy/);
    expect(first.status).toBe(0);
    timings.push(`hcb cluster up (fresh): ${first.ms} ms`);
    expectOneProcessPerComponent(stateDir);

    // Two unrelated live programs (pid reuse, a tampered record): they must not be signalled.
    const a = spawn('sleep', ['900'], { stdio: 'ignore' });
    const b = spawn('sleep', ['901'], { stdio: 'ignore' });
    unrelated.push(a, b);
    const sleepExe = fs.readlinkSync(`/proc/${b.pid}/exe`);
    const rec = (n: string) => record(stateDir, n)!;
    const write = (n: string, r: unknown) => fs.writeFileSync(path.join(stateDir, 'run', `${n}.json`), JSON.stringify(r));
    // etcd: still running, its record lost (it holds its ports).
    const etcd = rec('etcd');
    fs.rmSync(path.join(stateDir, 'run', 'etcd.json'));
    // kube-apiserver: killed, its pid file left behind.
    await killAndWait(rec('kube-apiserver').pid);
    // kube-controller-manager: killed, and its pid now belongs to another program (pid reuse).
    const cm = rec('kube-controller-manager');
    await killAndWait(cm.pid);
    write('kube-controller-manager', { ...cm, pid: a.pid, startTime: undefined });
    // kube-scheduler: killed, its record names another live program exactly (binary, arguments).
    const scheduler = rec('kube-scheduler');
    await killAndWait(scheduler.pid);
    write('kube-scheduler', { ...scheduler, pid: b.pid, binary: sleepExe, args: ['901'], startTime: undefined });
    // A stale lock file naming a live unrelated program.
    fs.writeFileSync(path.join(stateDir, 'lock'), JSON.stringify({ pid: a.pid, command: 'sleep 900' }));
    expect(processAlive(etcd.pid)).toBe(true);

    const again = await hcbCluster(stateDir, 'up').done;
    timings.push(`hcb cluster up (recovering stale state): ${again.ms} ms`);
    expect(again.stderr).toContain(`etcd: pid ${etcd.pid} runs from this state directory without a record`);
    for (const n of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) expect(again.stderr).toMatch(new RegExp(`${n}: not running \\(pid \\d+ .* is gone or another program\\), starting it`));
    expect(again.stderr).not.toContain('waiting for');
    expect(again.status).toBe(0);
    expect(processAlive(a.pid!)).toBe(true);
    expect(processAlive(b.pid!)).toBe(true);
    expect(processAlive(etcd.pid)).toBe(false);
    expectOneProcessPerComponent(stateDir);
    const status = await hcbCluster(stateDir, 'status', ['--json']).done;
    expect(status.status).toBe(0);
    expect((JSON.parse(status.stdout) as { ready: boolean }).ready).toBe(true);
  });

  test('two hcb cluster up at once: the second waits for the first (naming it), then finds it running; one control plane', async () => {
    expect((await hcbCluster(stateDir, 'down').done).status).toBe(0);
    expect(processesOf(stateDir)).toEqual([]);
    const one = hcbCluster(stateDir, 'up');
    // The second starts once the first holds the lock (it names itself in the lock file).
    await until('the first up to hold the lock', () => (fs.readFileSync(path.join(stateDir, 'lock'), 'utf8').includes(`"pid":${one.child.pid}`) ? true : undefined), 60_000);
    const two = hcbCluster(stateDir, 'up');
    const [r1, r2] = await Promise.all([one.done, two.done]);
    timings.push(`two hcb cluster up at once: ${r1.ms} ms and ${r2.ms} ms`);
    expect(r1.status).toBe(0);
    expect(r2.status).toBe(0);
    expect(r2.stderr).toContain(`waiting for pid ${one.child.pid}`);
    expect(r2.stderr).toContain('already running');
    expect(r2.stderr).not.toMatch(/started \(pid/);
    expectOneProcessPerComponent(stateDir);
  });

  test('etcd killed while kube-apiserver starts: up fails fast naming etcd; the next up converges', async () => {
    expect((await hcbCluster(stateDir, 'down').done).status).toBe(0);
    const up = hcbCluster(stateDir, 'up');
    const etcd = await until('etcd to be started', () => record(stateDir, 'etcd'), 60_000);
    await until('kube-apiserver to be started', () => record(stateDir, 'kube-apiserver'), 60_000);
    await killAndWait(etcd.pid);
    const r = await up.done;
    timings.push(`hcb cluster up with etcd killed: failed after ${r.ms} ms`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hcb: local control plane: etcd is not running any more \(while kube-apiserver was starting\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const again = await hcbCluster(stateDir, 'up').done;
    expect(again.status).toBe(0);
    expectOneProcessPerComponent(stateDir);
  });
});
