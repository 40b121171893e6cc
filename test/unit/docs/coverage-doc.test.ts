/**
 * The coverage tables of docs/coverage.md are the output of `hcb controls --format markdown`, never
 * edited by hand: this test fails as soon as the catalogue and the document differ (run
 * `bash scripts/update-coverage-doc.sh`), and checks that the script does the update. The README
 * keeps a short summary that links there.
 */
import { execFile } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { renderControls } from '../../../cli/commands/controls';

const REPO = path.resolve(__dirname, '../../..');
const START = '<!-- coverage:start -->\n';
const END = '<!-- coverage:end -->';
const run = promisify(execFile);

function section(text: string): string {
  const a = text.indexOf(START);
  const b = text.indexOf(END, a + START.length);
  expect(a).toBeGreaterThanOrEqual(0);
  expect(b).toBeGreaterThan(a);
  expect(text.indexOf(START, a + 1)).toBe(-1);
  return text.slice(a + START.length, b);
}

function withSection(text: string, content: string): string {
  const a = text.indexOf(START) + START.length;
  return text.slice(0, a) + content + text.slice(text.indexOf(END, a));
}

describe('docs/coverage.md', () => {
  const readme = readFileSync(path.join(REPO, 'docs/coverage.md'), 'utf8');

  it('is exactly the current output of hcb controls --format markdown (run scripts/update-coverage-doc.sh)', () => {
    expect(section(readme)).toBe(renderControls('markdown'));
  });

  it('carries the per-framework coverage table under its title', () => {
    const heading = readme.indexOf('# Controls and framework coverage\n');
    expect(heading).toBeGreaterThanOrEqual(0);
    expect(readme.indexOf(START)).toBeGreaterThan(heading);
    expect(section(readme)).toMatch(
      /^## Framework coverage\n\n\| Framework \| Requirements \| Automated \| Manual \| Organisational \| Not covered \|/,
    );
  });

  it('scripts/update-coverage-doc.sh (and its old name) rewrites a stale section and leaves the rest alone', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcb-readme-'));
    try {
      const file = path.join(dir, 'README.md');
      const stale = withSection(readme, '| stale | table |\n');
      expect(stale).not.toBe(readme);
      await fs.writeFile(file, stale);
      await run('bash', [path.join(REPO, 'scripts/update-coverage-doc.sh'), file], { cwd: dir });
      expect(await fs.readFile(file, 'utf8')).toBe(withSection(readme, renderControls('markdown')));
      await fs.writeFile(file, stale);
      await run('bash', [path.join(REPO, 'scripts/update-readme-coverage.sh'), file], { cwd: dir });
      expect(await fs.readFile(file, 'utf8')).toBe(withSection(readme, renderControls('markdown')));

      await fs.writeFile(file, '# no markers\n');
      const failed = await run('bash', [path.join(REPO, 'scripts/update-coverage-doc.sh'), file], { cwd: dir }).then(
        () => undefined,
        (e: { code?: number; stderr?: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/needs exactly one "<!-- coverage:start -->"/);
      expect(await fs.readFile(file, 'utf8')).toBe('# no markers\n');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('README.md', () => {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');

  it('links the coverage document instead of carrying the generated tables', () => {
    expect(readme).toContain('(docs/coverage.md)');
    expect(readme).not.toContain(START.trim());
  });
});
