// Issue 12's standing limits on what a new user reads and creates: the README stays short (the
// generated tables live in docs/coverage.md), and every Pulumi stack file the docs tell users to
// create is ignored by git (stack settings hold a cluster's addresses and encrypted secrets).
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const README_LIMIT = 20_000;

const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** Stack names the docs create or select: `pulumi stack init NAME`, `--stack NAME`, `pulumi stack select NAME`. */
function documentedStacks(): string[] {
  const docs = ['README.md', 'docs/operations.md', 'docs/cli.md', 'docs/constructs.md'].map(read).join('\n');
  const names = new Set<string>();
  for (const m of docs.matchAll(/(?:pulumi stack (?:init|select)|--stack)\s+([A-Za-z0-9][\w.-]*)/g)) names.add(m[1]);
  return [...names].sort();
}

/** True when git ignores the path (as if it existed). */
function ignored(rel: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '--no-index', '-q', rel], { cwd: ROOT, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('README size', () => {
  test(`README.md stays under ${README_LIMIT} characters`, () => {
    expect([...read('README.md')].length).toBeLessThan(README_LIMIT);
  });
});

describe('.gitignore and the Pulumi stacks the docs create', () => {
  test('the docs name stacks, and every Pulumi.<stack>.yaml of them is ignored; Pulumi.yaml is not', () => {
    const stacks = documentedStacks();
    expect(stacks).toEqual(expect.arrayContaining(['prod', 'local']));
    for (const stack of stacks)
      expect({ stack, ignored: ignored(`Pulumi.${stack}.yaml`) }).toEqual({ stack, ignored: true });
    // The project file and the example app's project file stay tracked.
    expect(ignored('Pulumi.yaml')).toBe(false);
  });
});
