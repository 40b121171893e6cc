/**
 * ts-jest only transpiles (isolatedModules), so type errors would not fail any test. This one
 * runs the compiler over the whole project (strict mode) and fails with its diagnostics.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

jest.setTimeout(180_000);

test('the project type-checks (tsc --noEmit, strict)', () => {
  const root = path.resolve(__dirname, '../..');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], {
    encoding: 'utf8',
  });
  expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
  expect(r.status).toBe(0);
});
