// Builds the package and packs it, for the tests that install the tarball. Two of them run at
// the same time in `npm test`: `npm run build` rewrites dist/ in place, so one test could pack
// while the other's build had written part of a file. The build and the pack run under one
// exclusive lock (flock(1) on a file in node_modules/, shared by every test process).
import { execFileSync } from 'child_process';
import * as path from 'path';

const LOCK_TIMEOUT_S = 600;

/** Runs `npm run build` then `npm pack` into `dest` under the lock; returns the tarball's path. */
export function buildAndPack(root: string, dest: string): string {
  const lock = path.join(root, 'node_modules', '.hcb-build-pack.lock');
  const script = 'npm run build 1>&2 && npm pack --json --pack-destination "$1"';
  try {
    const out = execFileSync('flock', ['-w', String(LOCK_TIMEOUT_S), lock, 'sh', '-c', script, 'sh', dest], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    const packed = JSON.parse(out) as Array<{ filename: string }>;
    return path.join(dest, packed[0].filename);
  } catch (e: any) {
    throw new Error(`build and pack (under ${lock}) failed in ${root}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
      cause: e,
    });
  }
}
