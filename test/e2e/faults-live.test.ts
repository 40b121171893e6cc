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
import * as os from 'os';
import * as path from 'path';
import { COMPONENTS } from '../../stacks/local/control-plane';
import { startCluster, TestCluster } from './support/cluster';
import {
  ApiClient,
  installProvider,
  mustRun,
  processAlive,
  pulumiEnv,
  REPO,
  run,
  tempDir,
  tempProject,
  toolchainBin,
} from './support/env';

jest.setTimeout(1_800_000);

const BASE = 47643;
const CLI_PORTS = [
  '--api-server-port',
  String(BASE),
  '--etcd-port',
  String(BASE + 1),
  '--controller-manager-port',
  String(BASE + 4),
  '--scheduler-port',
  String(BASE + 5),
];
const bin = toolchainBin();

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Starts a command; `done` resolves when it exits, killed after `timeoutMs` (a hang fails the test). */
function start(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): { child: ChildProcess; done: Promise<Run> } {
  const t0 = Date.now();
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? REPO,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  return start(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      path.join(REPO, 'cli/main.ts'),
      'cluster',
      action,
      '--state-dir',
      stateDir,
      ...CLI_PORTS,
      ...extra,
    ],
    {
      env: { ...process.env, HCB_TOOLCHAIN_BIN: bin },
    },
  );
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
      if ((COMPONENTS as readonly string[]).includes(name) && processAlive(Number(e)))
        found.push({ pid: Number(e), name });
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

/** Exit 0, or the failure shows the command's own stderr. */
function expectOk(r: { status: number | null; stderr: string }): void {
  expect(`${r.status}\n${r.stderr}`).toMatch(/^0\n/);
}

async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await until(`pid ${pid} to exit`, () => (processAlive(pid) ? undefined : true), 10_000);
}

/** Every *.json under a directory (Pulumi's lock files); [] when it does not exist. */
function lockFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? lockFiles(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : [],
    );
}

const timings: string[] = [];
afterAll(() => {
  process.stderr.write(`faults-live timings:\n  ${timings.join('\n  ')}\n`);
});

describe('hcb cluster up on stale and contended state', () => {
  // (made in beforeAll: a filtered run that skips this block creates nothing)
  let stateDir = '';
  const unrelated: ChildProcess[] = [];
  beforeAll(() => {
    stateDir = fs.realpathSync(tempDir('faults-cli'));
  });

  afterAll(async () => {
    if (!stateDir) return;
    await hcbCluster(stateDir, 'down', ['--purge']).done;
    for (const p of processesOf(stateDir)) process.kill(p.pid, 'SIGKILL');
    for (const c of unrelated) c.kill('SIGKILL');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('recovers from dead processes with pid files, a lost record, and records and a lock naming live unrelated programs (left alone)', async () => {
    const first = await hcbCluster(stateDir, 'up').done;
    expect(first.stderr).toMatch(/kube-scheduler: healthy/);
    expectOk(first);
    timings.push(`hcb cluster up (fresh): ${first.ms} ms`);
    expectOneProcessPerComponent(stateDir);

    // Two unrelated live programs (pid reuse, a tampered record): they must not be signalled.
    const a = spawn('sleep', ['900'], { stdio: 'ignore' });
    const b = spawn('sleep', ['901'], { stdio: 'ignore' });
    unrelated.push(a, b);
    const sleepExe = fs.readlinkSync(`/proc/${b.pid}/exe`);
    const rec = (n: string) => record(stateDir, n)!;
    const write = (n: string, r: unknown) =>
      fs.writeFileSync(path.join(stateDir, 'run', `${n}.json`), JSON.stringify(r));
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
    for (const n of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'])
      expect(again.stderr).toMatch(
        new RegExp(`${n}: not running \\(pid \\d+ .* is gone or another program\\), starting it`),
      );
    expect(again.stderr).not.toContain('waiting for');
    expect(`${again.status}\n${again.stderr}`).toMatch(/^0\n/);
    expect(processAlive(a.pid!)).toBe(true);
    expect(processAlive(b.pid!)).toBe(true);
    expect(processAlive(etcd.pid)).toBe(false);
    expectOneProcessPerComponent(stateDir);
    const status = await hcbCluster(stateDir, 'status', ['--json']).done;
    expect(`${status.status}\n${status.stderr}`).toMatch(/^0\n/);
    expect((JSON.parse(status.stdout) as { ready: boolean }).ready).toBe(true);
  });

  test('two hcb cluster up at once: one starts the control plane, the other waits for it (naming it) and finds it running', async () => {
    // Purged first, so the winner runs long enough (kubeadm renders everything again) for the other to meet its lock.
    const down = await hcbCluster(stateDir, 'down', ['--purge']).done;
    expect(`${down.status}\n${down.stderr}`).toMatch(/^0\n/);
    expect(processesOf(stateDir)).toEqual([]);
    const one = hcbCluster(stateDir, 'up');
    const two = hcbCluster(stateDir, 'up');
    const [r1, r2] = await Promise.all([one.done, two.done]);
    timings.push(`two hcb cluster up at once: ${r1.ms} ms and ${r2.ms} ms`);
    expect(`${r1.status}\n${r1.stderr}`).toMatch(/^0\n/);
    expect(`${r2.status}\n${r2.stderr}`).toMatch(/^0\n/);
    const [winner, waiter] = r1.stderr.includes('etcd: started') ? [one, two] : [two, one];
    const [rw, rx] = winner === one ? [r1, r2] : [r2, r1];
    expect(rw.stderr).toMatch(/etcd: started[\s\S]*kube-scheduler: healthy/);
    expect(rx.stderr).toContain(`waiting for pid ${winner.child.pid}`);
    expect(rx.stderr).toContain('already running');
    expect(rx.stderr).not.toMatch(/started \(pid/);
    expect(waiter.child.pid).not.toBe(winner.child.pid);
    expectOneProcessPerComponent(stateDir);
  });

  test('etcd killed while kube-apiserver starts: up fails fast naming etcd; the next up converges', async () => {
    expectOk(await hcbCluster(stateDir, 'down').done);
    const up = hcbCluster(stateDir, 'up');
    const etcd = await until('etcd to be started', () => record(stateDir, 'etcd'), 60_000);
    await until('kube-apiserver to be started', () => record(stateDir, 'kube-apiserver'), 60_000);
    await killAndWait(etcd.pid);
    const r = await up.done;
    timings.push(`hcb cluster up with etcd killed: failed after ${r.ms} ms`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /hcb: local control plane: etcd is not running any more \(while kube-apiserver was starting\)/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const again = await hcbCluster(stateDir, 'up').done;
    expectOk(again);
    expectOneProcessPerComponent(stateDir);
  });
});

describe('pulumi up of the local stack with etcd, kube-apiserver and the Pulumi CLI killed', () => {
  // (made in beforeAll: a filtered run that skips this block creates nothing)
  let home = '';
  let project = '';
  let stateDir = '';
  let env: NodeJS.ProcessEnv = {};
  const pulumiBin = path.join(bin, 'pulumi');
  const pulumi = (args: string[]) => mustRun(pulumiBin, [...args, '--non-interactive'], { cwd: project, env });
  const up = () =>
    start(pulumiBin, ['up', '--yes', '--skip-preview', '--non-interactive'], { cwd: project, env, timeoutMs: 900_000 });
  const guard = (action: string, arg: string) =>
    start(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'stacks/local/stack-guard.ts'), action, arg],
      { cwd: project, env, timeoutMs: 300_000 },
    ).done;
  const ns = (x: string) => `hcb-e2e-faults-${x}`;
  const api = () => new ApiClient(fs.readFileSync(path.join(stateDir, 'rootfs/etc/kubernetes/admin.conf'), 'utf8'));
  /** Object identities per namespace, the namespace's name replaced: every hardened namespace gets the same set. */
  let baseline: string[] = [];

  beforeAll(() => {
    home = fs.realpathSync(tempDir('faults-pulumi'));
    project = fs.realpathSync(tempProject());
    stateDir = path.join(home, 'cluster');
    env = pulumiEnv(home, bin);
    installProvider(bin, project, env);
    pulumi(['stack', 'init', 'local']);
    pulumi(['config', 'set', 'stateDir', stateDir]);
    pulumi(['config', 'set', 'node', 'false']);
    pulumi(['config', 'set', '--path', 'namespaces[0]', ns('a')]);
    const ports = {
      apiServerPort: BASE,
      etcdClientPort: BASE + 1,
      etcdPeerPort: BASE + 2,
      etcdMetricsPort: BASE + 3,
      controllerManagerPort: BASE + 4,
      schedulerPort: BASE + 5,
    };
    for (const [k, v] of Object.entries(ports)) pulumi(['config', 'set', k, String(v)]);
  });

  afterAll(async () => {
    if (!home) return;
    run(pulumiBin, ['cancel', '--yes', '--non-interactive'], { cwd: project, env });
    run(pulumiBin, ['destroy', '--yes', '--skip-preview', '--non-interactive'], {
      cwd: project,
      env,
      timeoutMs: 600_000,
    });
    for (const p of processesOf(stateDir)) process.kill(p.pid, 'SIGKILL');
    for (const p of pulumiProcesses()) process.kill(p, 'SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(project, { recursive: true, force: true });
  });

  /** Processes of this test's Pulumi (CLI, language host, program, providers: their environment has its PULUMI_HOME), not the cluster's. */
  function pulumiProcesses(): number[] {
    const found: number[] = [];
    const cluster = new Set(processesOf(stateDir).map((p) => p.pid));
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || Number(e) === process.pid || cluster.has(Number(e))) continue;
      try {
        const environ = fs.readFileSync(`/proc/${e}/environ`, 'utf8');
        if (environ.includes(`PULUMI_HOME=${env.PULUMI_HOME}\0`) && processAlive(Number(e))) found.push(Number(e));
      } catch {
        /* gone */
      }
    }
    return found;
  }

  function exported(): {
    resources: Array<{ urn: string; type: string; outputs?: Record<string, any> }>;
    pending_operations?: unknown[];
  } {
    return (JSON.parse(pulumi(['stack', 'export'])) as { deployment: any }).deployment;
  }

  function identities(namespace: string): string[] {
    return exported()
      .resources.filter((r) => r.type.startsWith('kubernetes:') && r.outputs?.metadata)
      .map((r) => ({ ...r.outputs!.metadata, kind: r.outputs!.kind, apiVersion: r.outputs!.apiVersion }))
      .filter((m) => m.namespace === namespace || m.name === namespace)
      .map((m) => `${m.apiVersion}/${m.kind}/${m.namespace ?? ''}/${m.name}`.split(namespace).join('NS'))
      .sort();
  }

  /** The next run converged: no change left, nothing pending or locked, one process per component, every namespace with the full object set. */
  async function expectConverged(namespaces: string[]): Promise<void> {
    const preview = run(pulumiBin, ['preview', '--expect-no-changes', '--non-interactive'], { cwd: project, env });
    expect(`${preview.status}\n${preview.stdout}${preview.stderr}`).toMatch(/^0\n/);
    const d = exported();
    expect(d.pending_operations ?? []).toEqual([]);
    const urns = d.resources.map((r) => r.urn);
    expect(new Set(urns).size).toBe(urns.length);
    expect(lockFiles(path.join(home, 'backend/.pulumi/locks'))).toEqual([]);
    expectOneProcessPerComponent(stateDir);
    const client = api();
    for (const n of namespaces) {
      expect((await client.get(`/api/v1/namespaces/${n}`)).status).toBe(200);
      expect(identities(n)).toEqual(baseline);
      // Each object the state names is on the cluster (read back through the API).
      for (const np of (
        await client.json<{ items: Array<{ metadata: { name: string } }> }>(
          `/apis/networking.k8s.io/v1/namespaces/${n}/networkpolicies`,
        )
      ).items)
        expect(np.metadata.name).toBeTruthy();
    }
    // Nothing of Pulumi's is left running once the run is over.
    expect(pulumiProcesses()).toEqual([]);
  }

  test('etcd killed while the first up starts kube-apiserver: the run fails naming etcd; the next converges', async () => {
    const u = up();
    const etcd = await until('etcd to be started', () => record(stateDir, 'etcd'), 600_000);
    await until('kube-apiserver to be started', () => record(stateDir, 'kube-apiserver'), 300_000);
    await killAndWait(etcd.pid);
    const r = await u.done;
    timings.push(`pulumi up, etcd killed: failed after ${r.ms} ms`);
    const out = r.stdout + r.stderr;
    process.stderr.write(
      `--- pulumi up output with etcd killed (errors) ---\n${out
        .split('\n')
        .filter((l) => /error|etcd/i.test(l))
        .slice(0, 20)
        .join('\n')}\n`,
    );
    expect(r.status).not.toBe(0);
    expect(out).toMatch(/local control plane: etcd is not running any more \(while kube-apiserver was starting\)/);
    const explained = await guard('explain', stateDir);
    expect(explained.stderr).toMatch(/\[up\] etcd is not running; last lines of/);

    expectOk(await guard('prepare', 'local'));
    const again = await up().done;
    timings.push(`pulumi up after it: ${again.ms} ms`);
    expect(`${again.status}\n${again.stdout}${again.stderr}`).toMatch(/^0\n/);
    baseline = identities(ns('a'));
    expect(baseline.length).toBeGreaterThan(3);
    await expectConverged([ns('a')]);
  });

  test('kube-apiserver killed while objects are applied: the run fails (bounded) and names it; the next converges', async () => {
    pulumi(['config', 'set', '--path', 'namespaces[1]', ns('b')]);
    const u = up();
    const client = api();
    const deadline = Date.now() + 300_000;
    while ((await client.get(`/api/v1/namespaces/${ns('b')}`).catch(() => ({ status: 0 }))).status !== 200) {
      if (Date.now() > deadline) throw new Error('namespace b was never created');
      await new Promise((r) => setTimeout(r, 100));
    }
    await killAndWait(record(stateDir, 'kube-apiserver')!.pid);
    const r = await u.done;
    timings.push(`pulumi up, kube-apiserver killed: failed after ${r.ms} ms`);
    const out = r.stdout + r.stderr;
    process.stderr.write(
      `--- pulumi up output with kube-apiserver killed (tail) ---\n${out.split('\n').slice(-40).join('\n')}\n`,
    );
    expect(r.status).not.toBe(0);
    const explained = await guard('explain', stateDir);
    expect(explained.stderr).toMatch(/\[up\] kube-apiserver is not running; last lines of/);

    expectOk(await guard('prepare', 'local'));
    const again = await up().done;
    timings.push(`pulumi up after it: ${again.ms} ms`);
    expect(`${again.status}\n${again.stdout}${again.stderr}`).toMatch(/^0\n/);
    await expectConverged([ns('a'), ns('b')]);
  });

  test('the Pulumi CLI killed mid-up: its lock and pending operations are cleared safely; the next run converges', async () => {
    pulumi(['config', 'set', '--path', 'namespaces[2]', ns('c')]);
    const u = up();
    const client = api();
    const deadline = Date.now() + 300_000;
    while ((await client.get(`/api/v1/namespaces/${ns('c')}`).catch(() => ({ status: 0 }))).status !== 200) {
      if (Date.now() > deadline) throw new Error('namespace c was never created');
      await new Promise((r) => setTimeout(r, 50));
    }
    u.child.kill('SIGKILL');
    const r = await u.done;
    expect(r.signal).toBe('SIGKILL');
    // What a killed CLI leaves: its lock file, pending operations, and (for a while) its plugins;
    // and, when the kill lands inside a checkpoint save, an empty attribute file beside the
    // checkpoint, which makes every pulumi command on the stack fail ("failed to load checkpoint:
    // EOF") until the guard removes it. So the checkpoint is read from its file here, not through
    // the CLI.
    const locks = lockFiles(path.join(home, 'backend/.pulumi/locks'));
    const checkpointFile = path.join(home, 'backend/.pulumi/stacks/hcb/local.json');
    const sidecar = `${checkpointFile}.attrs`;
    const sidecarDamaged = (() => {
      if (!fs.existsSync(sidecar)) return false;
      try {
        JSON.parse(fs.readFileSync(sidecar, 'utf8'));
        return false;
      } catch {
        return true;
      }
    })();
    const pendingAfterKill = (
      (
        JSON.parse(fs.readFileSync(checkpointFile, 'utf8')) as {
          checkpoint?: { latest?: { pending_operations?: unknown[] } };
        }
      ).checkpoint?.latest?.pending_operations ?? []
    ).length;
    const orphansAtKill = pulumiProcesses();
    await new Promise((r2) => setTimeout(r2, 10_000));
    const orphansLater = pulumiProcesses();
    const what = (pid: number) => {
      try {
        return `${path.basename(fs.readlinkSync(`/proc/${pid}/exe`))} (cwd ${fs.readlinkSync(`/proc/${pid}/cwd`)})`;
      } catch {
        return 'gone';
      }
    };
    process.stderr.write(
      `--- left running by the killed pulumi CLI after 10 s ---\n${orphansLater.map((p) => `${p} ${what(p)}`).join('\n')}\n`,
    );
    timings.push(
      `pulumi CLI killed: ${locks.length} lock file(s), ${pendingAfterKill} pending operation(s), checkpoint attribute file ${sidecarDamaged ? 'damaged' : 'sound'}, ${orphansAtKill.length} plugin process(es) at the kill, ${orphansLater.length} after 10 s`,
    );
    expect(locks.length).toBe(1);
    // A plain pulumi up refuses the stack (locked)...
    const plain = run(pulumiBin, ['up', '--yes', '--skip-preview', '--non-interactive'], {
      cwd: project,
      env,
      timeoutMs: 120_000,
    });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(
      sidecarDamaged ? /the stack is currently locked|failed to load checkpoint: EOF/ : /the stack is currently locked/,
    );
    // ...the guard removes the dead CLI's lock and clears the (idempotent) pending operations...
    const prep = await guard('prepare', 'local');
    expectOk(prep);
    expect(prep.stderr).toMatch(/removing the stale Pulumi lock of stack local \(pid \d+ is not running/);
    if (pendingAfterKill) expect(prep.stderr).toMatch(/pending operation\(s\) on stack local; each is safe to repeat/);
    if (sidecarDamaged) expect(prep.stderr).toContain(`removing ${sidecar} (`);
    expect(exported().resources.length).toBeGreaterThan(0);
    for (const p of orphansLater) expect(prep.stderr).toContain(`(pid ${p}), left running by the dead pulumi`);
    expect(pulumiProcesses()).toEqual([]);
    // ...and the next up converges.
    const again = await up().done;
    timings.push(`pulumi up after it: ${again.ms} ms`);
    expect(`${again.status}\n${again.stdout}${again.stderr}`).toMatch(/^0\n/);
    expect(again.stdout + again.stderr).not.toContain('pending operations from previous deployment');
    await expectConverged([ns('a'), ns('b'), ns('c')]);
  });

  test('a live Pulumi holding the stack is named, never removed', async () => {
    // A lock naming a running program called pulumi that started before the lock was written.
    const fake = path.join(home, 'pulumi');
    fs.copyFileSync(fs.realpathSync('/bin/sleep'), fake);
    fs.chmodSync(fake, 0o755);
    const holder = spawn(fake, ['120'], { stdio: 'ignore' });
    const stackDir = path.join(home, 'backend/.pulumi/locks/organization/hcb/local');
    fs.mkdirSync(stackDir, { recursive: true });
    const lock = path.join(stackDir, 'e2e-live.json');
    await new Promise((r) => setTimeout(r, 50));
    fs.writeFileSync(
      lock,
      JSON.stringify({
        pid: holder.pid,
        username: 'root',
        hostname: os.hostname(),
        timestamp: new Date(Date.now() + 1000).toISOString(),
      }),
    );
    try {
      const prep = await guard('prepare', 'local');
      expect(processAlive(holder.pid!)).toBe(true);
      expect(prep.status).toBe(1);
      expect(prep.stderr).toContain(`stack local is being updated by pulumi (pid ${holder.pid})`);
      expect(prep.stderr).toContain(`kill ${holder.pid}`);
      expect(fs.existsSync(lock)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      fs.rmSync(lock, { force: true });
    }
  });
});

describe('npm run up: one at a time per state directory', () => {
  test('a second run waits for the holder of up.lock, names it, and refuses after HCB_UP_LOCK_WAIT', async () => {
    const state = fs.realpathSync(tempDir('faults-up-lock'));
    const lock = path.join(state, 'up.lock');
    fs.writeFileSync(lock, 'pid 4242 (npm run up) since 2026-01-01T00:00:00Z\n');
    const holder = spawn('flock', [lock, 'sleep', '60'], { stdio: 'ignore' });
    try {
      await until(
        'the holder to take the lock',
        () => (spawnSync('flock', ['-n', lock, 'true']).status === 1 ? true : undefined),
        10_000,
      );
      const r = await start('bash', [path.join(REPO, 'scripts/up.sh')], {
        env: { ...process.env, HCB_STATE_DIR: state, HCB_UP_LOCK_WAIT: '2' },
        timeoutMs: 30_000,
      }).done;
      expect(r.stderr).toContain(
        '[up] another npm run up is running (pid 4242 (npm run up) since 2026-01-01T00:00:00Z); waiting up to 2s',
      );
      expect(r.stderr).toContain('[up] gave up waiting for the other npm run up');
      expect(r.status).toBe(75);
      expect(r.ms).toBeLessThan(15_000);
    } finally {
      holder.kill('SIGKILL');
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});

describe('the node: containerd and the kubelet killed', () => {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await startCluster('faults-node', BASE, {}, { node: true });
    timings.push(`cluster with node started: ${Date.now() - t0} ms`);
  }, 1_200_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const nodeRecord = (name: string) =>
    JSON.parse(fs.readFileSync(path.join(cluster!.stateDir, 'node', 'run', `${name}.json`), 'utf8')) as {
      pid: number;
      exe: string;
    };
  /** Processes running a binary inside the node's network namespace (the holder's). */
  const inNode = (exe: string): number[] => {
    const netns = fs.readlinkSync(`/proc/${nodeRecord('holder').pid}/ns/net`);
    return fs
      .readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        try {
          return (
            fs.readlinkSync(`/proc/${e}/exe`) === exe &&
            fs.readlinkSync(`/proc/${e}/ns/net`) === netns &&
            processAlive(Number(e))
          );
        } catch {
          return false;
        }
      })
      .map(Number);
  };

  test('the cluster is not ready while they are down; the next up restarts both, once, and the node is Ready again', async () => {
    const c = cluster!;
    const containerd = nodeRecord('containerd');
    const kubelet = nodeRecord('kubelet');
    await killAndWait(kubelet.pid);
    await killAndWait(containerd.pid);
    const down = await c.cp.status();
    expect(down.ready).toBe(false);
    expect(down.node?.message).toMatch(/containerd, kubelet not running/);
    const t0 = Date.now();
    await c.cp.up();
    timings.push(`up after containerd and kubelet were killed: ${Date.now() - t0} ms`);
    const after = await c.cp.status();
    expect(after.ready).toBe(true);
    expect(after.node?.ready).toBe(true);
    expect(nodeRecord('containerd').pid).not.toBe(containerd.pid);
    expect(nodeRecord('kubelet').pid).not.toBe(kubelet.pid);
    expect(inNode(containerd.exe)).toEqual([nodeRecord('containerd').pid]);
    expect(inNode(kubelet.exe)).toEqual([nodeRecord('kubelet').pid]);
    expectOneProcessPerComponent(c.stateDir);
  });
});
