/**
 * `hcb cluster up|down|status` on the real binaries: start waits for health, a second start is
 * a no-op (same processes), logs go to files in the state directory, stop leaves no process.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { processAlive, REPO, tempDir, toolchainBin } from './support/env';

jest.setTimeout(300_000);

const stateDir = tempDir('cluster-cli');
// Every port inside 56443-56460, which npm test reserves (ip_local_reserved_ports): etcd's client port
// 56445 (its peer and metrics ports follow), the controller manager 56448, the scheduler 56449.
// Ports outside it in the ephemeral range can be taken by any outgoing connection of a test
// running beside this one: etcd was on 52379 and the controller manager on 50257 when, in a run of
// three files at a time, `up` exited 1 here (its output was not kept; those ports are the likely
// cause, and the status check below now prints hcb's errors).
const ports = [
  '--api-server-port',
  '56443',
  '--etcd-port',
  '56445',
  '--controller-manager-port',
  '56448',
  '--scheduler-port',
  '56449',
];

function hcb(args: string[]) {
  return spawnSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'cli/main.ts'), 'cluster', ...args],
    {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, HCB_TOOLCHAIN_BIN: toolchainBin() },
    },
  );
}

function pids(): number[] {
  const run = path.join(stateDir, 'run');
  return fs
    .readdirSync(run)
    .map((f) => (JSON.parse(fs.readFileSync(path.join(run, f), 'utf8')) as { pid: number }).pid)
    .sort();
}

afterAll(() => {
  hcb(['down', '--purge', '--state-dir', stateDir]);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test('up starts healthy processes; up again is a no-op; status reports them; down stops them all', () => {
  const up = hcb(['up', '--state-dir', stateDir, ...ports]);
  // The exit status with what hcb printed, so a failed start shows why.
  expect(`exit ${up.status}\n${up.stderr}`).toMatch(/^exit 0\n/);
  expect(up.stdout).toContain('API server https://127.0.0.1:56443 (v1.36.3)');
  expect(up.stderr).toMatch(
    /etcd: healthy[\s\S]*kube-apiserver: healthy[\s\S]*kube-controller-manager: healthy[\s\S]*kube-scheduler: healthy/,
  );
  const first = pids();
  expect(first).toHaveLength(4);
  for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    expect(fs.statSync(path.join(stateDir, 'logs', `${c}.log`)).size).toBeGreaterThan(0);
  }

  const again = hcb(['up', '--state-dir', stateDir, ...ports]);
  expect(again.status).toBe(0);
  expect(again.stderr).toContain('already running');
  expect(again.stderr).not.toContain('started');
  expect(pids()).toEqual(first);

  const status = hcb(['status', '--state-dir', stateDir, '--json']);
  expect(status.status).toBe(0);
  const st = JSON.parse(status.stdout) as { ready: boolean; components: Array<{ healthy: boolean; pid: number }> };
  expect(st.ready).toBe(true);
  expect(st.components.map((c) => c.pid).sort()).toEqual(first);

  const down = hcb(['down', '--state-dir', stateDir]);
  expect(down.status).toBe(0);
  for (const pid of first) expect(processAlive(pid)).toBe(false);
  const after = hcb(['status', '--state-dir', stateDir]);
  expect(after.status).toBe(1);
  expect(after.stdout).toMatch(/kube-apiserver\s+stopped/);
});

test('bad options are refused with a clear message', () => {
  const r = hcb(['up', '--api-server-port', 'abc']);
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--api-server-port must be a port number');
});
