import { promises as fs } from 'fs';
import * as path from 'path';
import { runReport } from '../../../cli/commands/report';
import { Finding } from '../../../policies/model';
import { renderJson, summarizeFindings } from '../../../policies/report';
import { fakeIo, tempTree } from './io';

const finding = (control: string, name: string, status: Finding['status'], line = 1): Finding => ({
  control,
  status,
  severity: 'high',
  frameworks: { stig: ['V-242390'] },
  object: { kind: 'Deployment', namespace: 'a', name, file: 'app.yaml', line },
  message: `${control} on ${name}`,
});
const json = (findings: Finding[]) => renderJson(findings, summarizeFindings(findings));

const BASE = json([finding('C-1', 'web', 'fail'), finding('C-2', 'web', 'fail'), finding('C-3', 'web', 'pass')]);
const HEAD = json([finding('C-1', 'web', 'pass'), finding('C-2', 'web', 'fail', 40), finding('C-3', 'web', 'fail')]);

async function report(args: string[], files: Record<string, string> = { 'base.json': BASE, 'head.json': HEAD }) {
  const dir = await tempTree(files);
  const io = fakeIo(dir);
  const code = await runReport(args, io);
  return { code, out: io.out(), err: io.errText(), dir };
}

describe('hcb report', () => {
  it('shows new, fixed and unchanged failures and exits 0', async () => {
    const r = await report(['--base', 'base.json', '--head', 'head.json']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/New failures \(1\)\n {2}\+ C-3 \[high\] Deployment a\/web \(app\.yaml:1\): C-3 on web/);
    expect(r.out).toMatch(/Fixed \(1\)\n {2}- C-1 .*→ pass/);
    expect(r.out).toMatch(/Unchanged failures \(1\)\n {2}= C-2 .*app\.yaml:40/);
    expect(r.out).toContain('Controls: 1 newly failing (C-3), 1 fixed (C-1), 1 still failing.');
    expect(r.err).toContain('1 new, 1 fixed, 1 unchanged failures');
  });

  it('exits 1 with --fail-on-new when head has a new failure, 0 when it has none', async () => {
    expect((await report(['--base', 'base.json', '--head', 'head.json', '--fail-on-new'])).code).toBe(1);
    expect((await report(['--base', 'head.json', '--head', 'head.json', '--fail-on-new'])).code).toBe(0);
  });

  it('writes Markdown and JSON, to a file when asked', async () => {
    const md = await report(['--base', 'base.json', '--head', 'head.json', '--format', 'markdown']);
    expect(md.out).toMatch(/^## Compliance changes/);
    expect(md.out).toContain('### New failures (1)');
    const r = await report(['--base', 'base.json', '--head', 'head.json', '--format=json', '-o', 'diff.json']);
    expect(r.out).toBe('');
    const written = JSON.parse(await fs.readFile(path.join(r.dir, 'diff.json'), 'utf8'));
    expect(written.controls).toEqual({ newlyFailing: ['C-3'], fixed: ['C-1'], stillFailing: ['C-2'] });
  });

  it.each([
    [['--head', 'head.json'], /--base is required/],
    [
      ['--base', 'base.json', '--head', 'head.json', '--format', 'sarif'],
      /--format must be one of terminal, markdown, json/,
    ],
    [['--base', 'base.json', '--head', 'head.json', 'extra'], /unexpected argument "extra"/],
    [['--base', 'nope.json', '--head', 'head.json'], /cannot read nope\.json: no such file/],
    [['--base', 'bad.json', '--head', 'head.json'], /bad\.json: not JSON/],
  ])('exits 2 with a clear message for %j', async (args, message) => {
    const r = await report(args as string[], { 'base.json': BASE, 'head.json': HEAD, 'bad.json': '{"results": ' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('prints help', async () => {
    const r = await report(['-h']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: hcb report --base OLD\.json --head NEW\.json/);
  });
});
