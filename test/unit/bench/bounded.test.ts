import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { boundPrefix, runBounded } from '../../../bench/bounded';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bench: a command under a time bound', () => {
  it('stops the command and what it started (the whole process group) at the bound', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bounded-'));
    const pidFile = path.join(dir, 'grandchild');
    // A shell that starts a long sleep in the background (as the Pulumi CLI starts its plugins),
    // writes its pid, and waits.
    const started = Date.now();
    const r = runBounded('/bin/sh', ['-c', `sleep 300 & echo $! > ${pidFile}; wait`], { timeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.timedOut).toBe(true);
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8').trim());
    expect(grandchild).toBeGreaterThan(1);
    // The signal is delivered before `timeout` exits; give the kernel a moment to reap.
    const deadline = Date.now() + 5000;
    while (alive(grandchild) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    expect(alive(grandchild)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes a command that ends in time through, with its exit status and output', () => {
    const r = runBounded('/bin/sh', ['-c', 'echo hi; exit 3'], { timeoutMs: 10_000 });
    expect(r.timedOut).toBe(false);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('hi\n');
  });

  it('does not call a command that exits 124 by itself timed out', () => {
    const r = runBounded('/bin/sh', ['-c', 'exit 124'], { timeoutMs: 10_000 });
    expect(r.status).toBe(124);
    expect(r.timedOut).toBe(false);
  });

  it('measures the whole group under /usr/bin/time when asked', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bounded-')), 'time');
    const r = runBounded('/bin/sh', ['-c', 'echo x'], {
      timeoutMs: 10_000,
      time: { bin: '/usr/bin/time', file, format: '%e' },
    });
    expect(r.status).toBe(0);
    expect(Number(fs.readFileSync(file, 'utf8').trim())).toBeGreaterThanOrEqual(0);
  });

  it('refuses a bound that is not a positive number of milliseconds', () => {
    expect(() => boundPrefix(0)).toThrow(/positive number of milliseconds, not 0/);
    expect(() => boundPrefix(Number.NaN)).toThrow(/not NaN/);
    expect(boundPrefix(1500)).toEqual(['timeout', '-k', '30s', '2s']);
  });
});
