/**
 * stacks/local/stack-guard.ts, the parts that decide without a cluster: which Pulumi stack locks
 * are provably stale, and which pending operations are safe to repeat. The e2e test
 * test/e2e/faults-live.test.ts covers them on a real killed `pulumi up`.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { idempotent, repairCheckpointSidecars, stackLocks } from '../../../stacks/local/stack-guard';

function backendWith(locks: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-guard-'));
  const stackDir = path.join(dir, '.pulumi/locks/organization/hcb/local');
  fs.mkdirSync(stackDir, { recursive: true });
  for (const [name, content] of Object.entries(locks))
    fs.writeFileSync(path.join(stackDir, `${name}.json`), JSON.stringify(content));
  // another stack's lock is not ours
  fs.mkdirSync(path.join(dir, '.pulumi/locks/organization/hcb/other'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, '.pulumi/locks/organization/hcb/other/x.json'),
    JSON.stringify({ pid: 1, hostname: os.hostname(), timestamp: new Date().toISOString() }),
  );
  return dir;
}

describe('stackLocks', () => {
  test('stale only when the holder is provably gone on this host', async () => {
    const dead = spawnSync('true').pid!;
    const now = new Date().toISOString();
    // a live process that is no pulumi
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    // a live process named pulumi that started before the lock was written
    const fakeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-guard-bin-'));
    const fake = path.join(fakeDir, 'pulumi');
    fs.copyFileSync(fs.realpathSync('/bin/sleep'), fake);
    fs.chmodSync(fake, 0o755);
    const livePulumi = spawn(fake, ['30'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    const later = new Date(Date.now() + 1000).toISOString();
    const dir = backendWith({
      dead: { pid: dead, hostname: os.hostname(), timestamp: now },
      other: { pid: sleeper.pid, hostname: os.hostname(), timestamp: now },
      live: { pid: livePulumi.pid, hostname: os.hostname(), timestamp: later },
      newer: { pid: livePulumi.pid, hostname: os.hostname(), timestamp: '2020-01-01T00:00:00Z' },
      remote: { pid: dead, hostname: 'elsewhere.example', timestamp: now },
    });
    try {
      const byName = Object.fromEntries(
        stackLocks(dir, 'hcb', 'local').map((l) => [path.basename(l.file, '.json'), l.stale]),
      );
      expect(Object.keys(byName).sort()).toEqual(['dead', 'live', 'newer', 'other', 'remote']);
      expect(byName.dead).toBe(`pid ${dead} is not running`);
      expect(byName.other).toBe(`pid ${sleeper.pid} is now another program (sleep)`);
      expect(byName.live).toBeUndefined();
      expect(byName.newer).toBe(`pid ${livePulumi.pid} is a pulumi started after the lock was written`);
      expect(byName.remote).toBeUndefined();
    } finally {
      sleeper.kill('SIGKILL');
      livePulumi.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(fakeDir, { recursive: true, force: true });
    }
  });
});

describe('idempotent', () => {
  const op = (resourceType: string, name: string) => ({
    type: 'creating',
    resourceType,
    urn: `urn:pulumi:local::hcb::${resourceType}::${name}`,
  });
  test('server-side applied Kubernetes objects and the local control plane are safe to repeat', () => {
    expect(idempotent(op('kubernetes:core/v1:Namespace', 'a'), true)).toBe(true);
    expect(idempotent(op('pulumi-nodejs:dynamic/hcb:LocalControlPlane', 'local-control-plane'), true)).toBe(true);
  });
  test('anything else is not: client-side apply, Helm releases, other dynamic resources, other providers', () => {
    expect(idempotent(op('kubernetes:core/v1:Namespace', 'a'), false)).toBe(false);
    expect(idempotent(op('kubernetes:helm.sh/v3:Release', 'r'), true)).toBe(false);
    expect(idempotent(op('pulumi-nodejs:dynamic:Resource', 'x'), true)).toBe(false);
    expect(idempotent(op('aws:s3/bucket:Bucket', 'b'), true)).toBe(false);
  });
});

describe('repairCheckpointSidecars (a pulumi killed while saving its checkpoint)', () => {
  function stackDir(): { dir: string; stacks: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-guard-'));
    const stacks = path.join(dir, '.pulumi/stacks/hcb');
    fs.mkdirSync(stacks, { recursive: true });
    return { dir, stacks };
  }
  const checkpoint = JSON.stringify({ version: 3, checkpoint: { latest: { resources: [] } } });

  test('an empty or partial attribute file beside a whole checkpoint is removed, and the temporaries of the killed write', () => {
    const { dir, stacks } = stackDir();
    fs.writeFileSync(path.join(stacks, 'local.json'), checkpoint);
    fs.writeFileSync(path.join(stacks, 'local.json.attrs'), '');
    fs.writeFileSync(path.join(stacks, 'local.json.bak'), checkpoint);
    fs.writeFileSync(path.join(stacks, 'local.json.bak.attrs'), '{"user.content_type":"appl');
    fs.writeFileSync(path.join(stacks, 'local.json.18c2f3a9d0e1b2c3.tmp'), '{"version":3,"chec');
    // Other stacks' files are not touched.
    fs.writeFileSync(path.join(stacks, 'other.json'), checkpoint);
    fs.writeFileSync(path.join(stacks, 'other.json.attrs'), '');
    fs.writeFileSync(path.join(stacks, 'other.json.18c2f3a9d0e1b2c3.tmp'), 'x');
    const lines: string[] = [];
    const r = repairCheckpointSidecars(dir, 'hcb', 'local', (l) => lines.push(l));
    expect(r.problem).toBeUndefined();
    expect(r.removedSidecars.map((f) => path.basename(f)).sort()).toEqual(['local.json.attrs', 'local.json.bak.attrs']);
    expect(r.removedTemporaries.map((f) => path.basename(f))).toEqual(['local.json.18c2f3a9d0e1b2c3.tmp']);
    expect(fs.readdirSync(stacks).sort()).toEqual([
      'local.json',
      'local.json.bak',
      'other.json',
      'other.json.18c2f3a9d0e1b2c3.tmp',
      'other.json.attrs',
    ]);
    expect(fs.readFileSync(path.join(stacks, 'local.json'), 'utf8')).toBe(checkpoint);
    expect(lines.join('\n')).toMatch(/local\.json\.attrs \(empty\).*failed to load checkpoint: EOF/);
  });

  test('a sound attribute file stays, also beside a gzipped checkpoint', () => {
    const { dir, stacks } = stackDir();
    fs.writeFileSync(path.join(stacks, 'local.json.gz'), zlib.gzipSync(checkpoint));
    fs.writeFileSync(path.join(stacks, 'local.json.gz.attrs'), '{"user.content_type":"application/octet-stream"}\n');
    const r = repairCheckpointSidecars(dir, 'hcb', 'local', () => undefined);
    expect(r).toEqual({ removedSidecars: [], removedTemporaries: [] });
    fs.writeFileSync(path.join(stacks, 'local.json.gz.attrs'), '');
    expect(repairCheckpointSidecars(dir, 'hcb', 'local', () => undefined).removedSidecars).toHaveLength(1);
  });

  test('a damaged checkpoint is not touched: the run stops and names the backup to restore', () => {
    const { dir, stacks } = stackDir();
    fs.writeFileSync(path.join(stacks, 'local.json'), '{"version":3,"check');
    fs.writeFileSync(path.join(stacks, 'local.json.attrs'), '');
    const r = repairCheckpointSidecars(dir, 'hcb', 'local', () => undefined);
    expect(r.removedSidecars).toEqual([]);
    expect(r.problem).toMatch(/local\.json and its attribute file .*local\.json\.attrs are both damaged/);
    expect(r.problem).toMatch(/copy .*local\.json\.bak over .*local\.json and remove .*local\.json\.attrs/);
    expect(fs.readFileSync(path.join(stacks, 'local.json.attrs'), 'utf8')).toBe('');
  });

  test('a damaged backup beside a whole checkpoint does not stop the run and is never offered for restoring', () => {
    const { dir, stacks } = stackDir();
    fs.writeFileSync(path.join(stacks, 'local.json'), checkpoint);
    fs.writeFileSync(path.join(stacks, 'local.json.bak'), '{"version":3,"check');
    fs.writeFileSync(path.join(stacks, 'local.json.bak.attrs'), '');
    const r = repairCheckpointSidecars(dir, 'hcb', 'local', () => undefined);
    expect(r.problem).toBeUndefined();
    expect(r.removedSidecars).toEqual([]);
    expect(fs.readFileSync(path.join(stacks, 'local.json.bak.attrs'), 'utf8')).toBe('');
  });

  test('the older layout without the project directory is handled too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-guard-'));
    fs.mkdirSync(path.join(dir, '.pulumi/stacks'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.pulumi/stacks/local.json'), checkpoint);
    fs.writeFileSync(path.join(dir, '.pulumi/stacks/local.json.attrs'), '');
    expect(repairCheckpointSidecars(dir, 'hcb', 'local', () => undefined).removedSidecars).toHaveLength(1);
  });
});
