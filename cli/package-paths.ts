/**
 * Where the CLI finds its own files and where it keeps state, the same from source (cli/…, run with
 * ts-node), compiled in a checkout (dist/cli/…) and installed from npm
 * (<project>/node_modules/hardened-cluster-blueprint/dist/cli/…). Nothing here counts `..` from
 * __dirname: the package root is the nearest directory upwards whose package.json names this package.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const PACKAGE_NAME = 'hardened-cluster-blueprint';

function readPackageJson(dir: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  } catch {
    return undefined;
  }
}

/** The package's root directory (holds its package.json), searched upwards from `from`. */
export function packageRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (readPackageJson(dir)?.name === PACKAGE_NAME) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package.json of ${PACKAGE_NAME} above ${from}`);
    dir = up;
  }
}

/** The package's version from its package.json, undefined when it cannot be read. */
export function packageVersion(root?: string): string | undefined {
  try {
    return readPackageJson(root ?? packageRoot())?.version || undefined;
  } catch {
    return undefined;
  }
}

/** True when the package was installed into a node_modules folder (not a checkout of its repository). */
export function isInstalled(root: string = packageRoot()): boolean {
  return root.split(path.sep).includes('node_modules');
}

/**
 * The `<repo>` of the help texts: the checkout itself, or, installed, the project that installed the
 * package (the folder holding the outermost node_modules, when it has a package.json; else the
 * working directory, e.g. for a global install or npx's cache).
 */
export function projectDir(root: string = packageRoot(), cwd: string = process.cwd()): string {
  if (!isInstalled(root)) return root;
  const parts = root.split(path.sep);
  const project = parts.slice(0, parts.indexOf('node_modules')).join(path.sep) || path.sep;
  return readPackageJson(project) ? project : cwd;
}

/** Default state directory of the local cluster: `<repo>/.hcb/clusters/local`. */
export function defaultStateDir(): string {
  return path.join(projectDir(), '.hcb', 'clusters', 'local');
}

/**
 * The toolchain's bin directory: HCB_TOOLCHAIN_BIN when it holds `marker`, else what the checkout's
 * tools/build-toolchain.sh names. The published package ships no toolchain sources, so installed
 * from npm only HCB_TOOLCHAIN_BIN works; `fail` builds the error to throw otherwise.
 */
export function toolchainBinDir(marker: string, fail: (message: string) => Error): string {
  const env = process.env.HCB_TOOLCHAIN_BIN;
  if (env && fs.existsSync(path.join(env, marker))) return env;
  const script = path.join(packageRoot(), 'tools', 'build-toolchain.sh');
  if (!fs.existsSync(script)) {
    throw fail(
      `the toolchain is not available: set HCB_TOOLCHAIN_BIN to a directory with its binaries (${marker} among them), built by \`npm run toolchain\` in a checkout of ${PACKAGE_NAME}`,
    );
  }
  const res = spawnSync('bash', [script, '--bin-dir'], { encoding: 'utf8' });
  if (res.status !== 0) throw fail('the toolchain is not built: run `npm run toolchain` first');
  return res.stdout.trim();
}
