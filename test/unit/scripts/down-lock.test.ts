/**
 * `npm run down` takes the same lock as `npm run up` (<state>/up.lock): while an up (or another
 * down) holds it, down waits, names the holder, and gives up with exit 75 after HCB_UP_LOCK_WAIT —
 * before it touches anything (no toolchain, no pulumi destroy).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.resolve(__dirname, '../../..');

test('down refuses while the up lock is held, naming the holder', async () => {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-down-lock-'));
  fs.writeFileSync(path.join(state, 'up.lock'), 'pid 4242 (npm run up) since 2026-11-29T00:00:00Z\n');
  const holder = spawn('flock', [path.join(state, 'up.lock'), 'sleep', '20'], { stdio: 'ignore' });
  try {
    // Wait until the holder has the lock.
    for (let i = 0; i < 100 && spawnSync('flock', ['-n', path.join(state, 'up.lock'), 'true']).status === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    const r = spawnSync('bash', [path.join(REPO, 'scripts/down.sh')], {
      encoding: 'utf8',
      env: { ...process.env, HCB_STATE_DIR: state, HCB_UP_LOCK_WAIT: '1', HCB_UP_LOCKED: '' },
      timeout: 30_000,
    });
    expect(r.status).toBe(75);
    expect(r.stderr).toContain('[down] npm run up or down is running (pid 4242 (npm run up)');
    expect(r.stderr).toContain('gave up waiting');
    expect(r.stderr).not.toMatch(/pulumi|toolchain/i);
  } finally {
    holder.kill('SIGKILL');
    fs.rmSync(state, { recursive: true, force: true });
  }
}, 60_000);
