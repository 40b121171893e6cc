// cli/package-paths.ts: the package root is found by its package.json, in a checkout and under
// node_modules alike; <repo> is the checkout or the project that installed the package.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isInstalled, packageRoot, packageVersion, projectDir } from '../../../cli/package-paths';

const ROOT = path.resolve(__dirname, '../../..');

describe('package paths', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-paths-')));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('from source: the checkout, not installed, its own version', () => {
    expect(packageRoot()).toBe(ROOT);
    expect(isInstalled(ROOT)).toBe(false);
    expect(projectDir(ROOT)).toBe(ROOT);
    expect(packageVersion()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  test('installed: found from dist/cli/commands; <repo> is the project holding node_modules', () => {
    const app = path.join(tmp, 'app');
    const pkg = path.join(app, 'node_modules', 'hardened-cluster-blueprint');
    fs.mkdirSync(path.join(pkg, 'dist', 'cli', 'commands'), { recursive: true });
    fs.writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'hardened-cluster-blueprint', version: '9.8.7' }),
    );
    // A package.json of another package on the way up is passed over.
    fs.writeFileSync(
      path.join(pkg, 'dist', 'package.json'),
      JSON.stringify({ name: 'something-else', version: '1.0.0' }),
    );
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app' }));
    const root = packageRoot(path.join(pkg, 'dist', 'cli', 'commands'));
    expect(root).toBe(pkg);
    expect(isInstalled(root)).toBe(true);
    expect(packageVersion(root)).toBe('9.8.7');
    expect(projectDir(root, '/elsewhere')).toBe(app);
  });

  test('installed where no project owns node_modules (global, npx cache): the working directory', () => {
    const pkg = path.join(tmp, 'global', 'lib', 'node_modules', 'hardened-cluster-blueprint');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'hardened-cluster-blueprint', version: '1.2.3' }),
    );
    expect(projectDir(pkg, '/work/some-repo')).toBe('/work/some-repo');
  });

  test('no package.json of the package above: an error naming the start, not a guess', () => {
    expect(() => packageRoot(tmp)).toThrow(/cannot find the package.json of hardened-cluster-blueprint/);
  });
});
