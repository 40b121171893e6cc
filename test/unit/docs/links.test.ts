/**
 * The user documentation holds together: every relative link in README.md and docs/*.md names a
 * file (or folder) that exists, and every `#anchor` names a heading of the target document (as
 * GitHub derives anchors from headings). README.md stays short (issue 12): detail goes to docs/.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.resolve(__dirname, '../../..');
const README_LIMIT = 20_000;

/** The documents checked: README.md and every Markdown file in docs/. */
function documents(): string[] {
  const docs = fs
    .readdirSync(path.join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return ['README.md', ...docs.sort()];
}

/** The text with fenced code blocks and inline code blanked out (links and headings there do not count). */
function prose(text: string): string {
  return text
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/`[^`\n]*`/g, (m) => ' '.repeat(m.length));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text: one per heading, repeated headings numbered `-1`, `-2`, ... */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutFences = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative links `[text](target)` of a Markdown text (external and mail links left out). */
export function relativeLinks(text: string): Array<{ target: string; line: number }> {
  const body = prose(text);
  const links: Array<{ target: string; line: number }> = [];
  for (const m of body.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
    links.push({ target, line: body.slice(0, m.index).split('\n').length });
  }
  return links;
}

/** Every broken link of one document, as "file:line: target (reason)". */
function brokenLinks(doc: string, root = REPO): string[] {
  const text = fs.readFileSync(path.join(root, doc), 'utf8');
  const problems: string[] = [];
  for (const { target, line } of relativeLinks(text)) {
    const [file, anchor] = target.split('#', 2) as [string, string | undefined];
    const resolved =
      file === '' ? path.join(root, doc) : path.resolve(root, path.dirname(doc), decodeURIComponent(file));
    const where = `${doc}:${line}: ${target}`;
    if (!resolved.startsWith(root + path.sep)) {
      problems.push(`${where} (outside the repository)`);
      continue;
    }
    if (!fs.existsSync(resolved)) {
      problems.push(`${where} (no such file)`);
      continue;
    }
    if (anchor !== undefined) {
      if (!resolved.endsWith('.md') || !fs.statSync(resolved).isFile())
        problems.push(`${where} (anchor into a file that is not Markdown)`);
      else if (!anchors(fs.readFileSync(resolved, 'utf8')).has(anchor))
        problems.push(`${where} (no heading with this anchor)`);
    }
  }
  return problems;
}

describe('the link checker itself', () => {
  test('anchors follow GitHub: punctuation and code marks dropped, spaces to hyphens, repeats numbered', () => {
    const text =
      '# The CLI\n## The local control plane (`stacks/local/control-plane.ts`)\n## Give a pipeline access: platform chart and app chart\n## Notes\n## Notes\n```\n# not a heading\n```\n';
    expect([...anchors(text)]).toEqual([
      'the-cli',
      'the-local-control-plane-stackslocalcontrol-planets',
      'give-a-pipeline-access-platform-chart-and-app-chart',
      'notes',
      'notes-1',
    ]);
  });

  test('links in code are not links; external links are not checked', () => {
    const text =
      'see [a](docs/a.md#x) and [b](https://example.com)\n`[c](nope.md)`\n```\n[d](nope.md)\n```\n[e](#top)\n';
    expect(relativeLinks(text)).toEqual([
      { target: 'docs/a.md#x', line: 1 },
      { target: '#top', line: 6 },
    ]);
  });

  test('a missing file, a missing heading and a path outside the tree are reported', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-links-'));
    try {
      fs.mkdirSync(path.join(root, 'docs'));
      fs.writeFileSync(path.join(root, 'docs/a.md'), '# A\n## Known part\n');
      fs.writeFileSync(
        path.join(root, 'README.md'),
        '# R\n[ok](docs/a.md#known-part) [gone](docs/b.md) [bad](docs/a.md#unknown) [up](../x.md) [self](#r)\n',
      );
      expect(brokenLinks('README.md', root)).toEqual([
        'README.md:2: docs/b.md (no such file)',
        'README.md:2: docs/a.md#unknown (no heading with this anchor)',
        'README.md:2: ../x.md (outside the repository)',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('README.md and docs/*.md', () => {
  test.each(documents())('%s: every relative link points to an existing file and heading', (doc) => {
    expect(brokenLinks(doc)).toEqual([]);
  });

  test('the README links each task-oriented document', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const linked = new Set(relativeLinks(readme).map((l) => l.target.split('#')[0]));
    for (const doc of [
      'docs/constructs.md',
      'docs/cli.md',
      'docs/operations.md',
      'docs/controls.md',
      'docs/coverage.md',
      'docs/ARCHITECTURE.md',
    ]) {
      expect([doc, linked.has(doc)]).toEqual([doc, true]);
    }
  });

  test(`README.md stays under ${README_LIMIT} characters`, () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    expect(readme.length).toBeLessThan(README_LIMIT);
  });
});
