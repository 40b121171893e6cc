// The README names the TypeScript release apps are supported with; the scratch-app test is what
// installs and runs it. This keeps the sentence and the test's pin from drifting apart.
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.resolve(__dirname, '../../..');

test("README's supported TypeScript release is the one the scratch-app test installs", () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const claimed = /TypeScript (\d+\.\d+) with `strict`/.exec(readme);
  expect(claimed).not.toBeNull();
  const scratch = fs.readFileSync(path.join(REPO, 'test/unit/examples/install-scratch.test.ts'), 'utf8');
  const pinned = /const TYPESCRIPT = '~(\d+\.\d+)\.0';/.exec(scratch);
  expect(pinned).not.toBeNull();
  expect(claimed![1]).toBe(pinned![1]);
  // The project itself builds with the same minor release.
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  expect(pkg.devDependencies.typescript.replace(/^[~^]/, '')).toMatch(
    new RegExp(`^${claimed![1].replace('.', '\\.')}\\.`),
  );
});
