/**
 * Issue 15, scale: reports and `hcb report` complete on inputs far beyond what a call's argument
 * list holds (push(...array) and f(...array) overflow the call stack above ~120k elements), and
 * the diff pairs findings without a search per finding (one subject can carry ~100k of them).
 */
import { runReport } from '../../../cli/commands/report';
import { Finding } from '../../../policies/model';
import {
  diffResults,
  RENDERERS,
  REPORT_FORMATS,
  renderDiffMarkdown,
  renderDiffTerminal,
  renderJson,
  summarizeFindings,
  toJsonResult,
} from '../../../policies/report';
import { fakeIo, tempTree } from '../cli/io';

jest.setTimeout(240_000);

/** Above the ~120k elements where a spread into a call overflows V8's stack. */
const N = 140_000;

const finding = (i: number, status: Finding['status'] = 'fail', control = 'HCB-WORKLOAD-PRIVILEGED'): Finding => ({
  control,
  status,
  severity: 'high',
  frameworks: { cis: ['5.2.2'] },
  object: { apiVersion: 'v1', kind: 'Pod', namespace: 'bulk', name: `p${i}`, file: 'bulk.yaml', line: i * 10 + 1 },
  message: 'web: privileged: true.',
});

describe('reports at scale', () => {
  const findings = Array.from({ length: N }, (_, i) => finding(i, i % 2 === 0 ? 'fail' : 'pass'));
  const summary = summarizeFindings(findings);
  for (const format of REPORT_FORMATS) {
    it(`${format}: one control with 140k findings`, () => {
      const text = RENDERERS[format](findings, summary, { generatedAt: '2026-01-01T00:00:00Z' });
      expect(text).toContain('p139998'); // the last failure
    });
  }

  it('a report longer than a string can be stops with a message, not an unexplained RangeError', () => {
    // Stands in for a ~512 MiB report: reading the message fails as V8 fails to build the string.
    const huge = { ...finding(0) } as Finding;
    Object.defineProperty(huge, 'message', {
      get: () => {
        throw new RangeError('Invalid string length');
      },
    });
    for (const format of REPORT_FORMATS) {
      expect(() => RENDERERS[format]([huge], summarizeFindings([finding(0)]), {})).toThrow(
        new RegExp(
          `the ${format} report of 1 findings is longer than the longest string Node.js can hold .*audit the input in parts`,
        ),
      );
    }
  });

  it('the terminal report prints a message of 200k lines', () => {
    const f: Finding = { ...finding(0, 'error'), message: 'line\n'.repeat(200_000) };
    const text = RENDERERS.terminal([f], summarizeFindings([f]), {});
    expect(text.split('\n').length).toBeGreaterThan(200_000);
  });
});

describe('hcb report at scale', () => {
  it('140k new failures: terminal, markdown and json complete', async () => {
    const base = renderJson([], summarizeFindings([]));
    const headFindings = Array.from({ length: N }, (_, i) => finding(i));
    const head = renderJson(headFindings, summarizeFindings(headFindings));
    const dir = await tempTree({ 'base.json': base, 'head.json': head });
    // The result is larger than the default limit on a --head file: a clear stop naming the option.
    expect(head.length).toBeGreaterThan(64 * 1024 * 1024);
    const refused = fakeIo(dir);
    expect(await runReport(['--base', 'base.json', '--head', 'head.json'], refused)).toBe(2);
    expect(refused.errText()).toMatch(
      /head\.json is \d+ bytes, larger than the 67108864-byte limit \(HCB_MAX_CONFIG_BYTES\)/,
    );
    for (const format of ['terminal', 'markdown', 'json']) {
      const io = fakeIo(dir, { env: { HCB_MAX_CONFIG_BYTES: String(256 * 1024 * 1024) } });
      const code = await runReport(
        ['--base', 'base.json', '--head', 'head.json', '--format', format, '--fail-on-new'],
        io,
      );
      expect(io.errText()).toContain(`${N} new, 0 fixed, 0 unchanged failures`);
      expect(code).toBe(1);
      expect(io.out()).toContain('p139999');
    }
  });

  it('140k failures of one subject pair in linear time, the same way as before', () => {
    // One file, no object names: every parse error has the same subject key.
    const err = (i: number, message: string): ReturnType<typeof toJsonResult> =>
      toJsonResult({
        control: 'HCB-INPUT-PARSE',
        status: 'error',
        severity: 'high',
        frameworks: {},
        object: { file: 'big.yaml', line: i },
        message,
      });
    const base = { results: Array.from({ length: N }, (_, i) => err(i, `m${i % 1000}`)) };
    const head = { results: Array.from({ length: N + 10 }, (_, i) => err(i, i < 5 ? 'new' : `m${(i + 7) % 1000}`)) };
    const t0 = Date.now();
    const d = diffResults(base, head);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(d.unchanged.length).toBe(N);
    expect(d.newFailures.length).toBe(10);
    expect(d.fixed.length).toBe(0);
    expect(renderDiffTerminal(d, { base: 'b', head: 'h' })).toContain('New failures (10)');
    expect(renderDiffMarkdown(d, { base: 'b', head: 'h' })).toContain(`Unchanged failures (${N})`);
  });

  it('pairs same-message failures first, then the rest in order (small case, exact)', () => {
    const r = (message: string, line: number) =>
      toJsonResult({
        control: 'C',
        status: 'fail',
        severity: 'low',
        frameworks: {},
        object: { file: 'f.yaml', line },
        message,
      });
    const d = diffResults(
      { results: [r('a', 1), r('b', 2), r('a', 3), r('c', 4)] },
      { results: [r('a', 5), r('d', 6)] },
    );
    expect(d.unchanged.map((x) => `${x.message}${x.object.line}`).sort()).toEqual(['a5', 'd6']);
    expect(d.fixed.map((x) => `${x.result.message}${x.result.object.line}`)).toEqual(['a3', 'c4']);
    expect(d.newFailures).toEqual([]);
  });
});
