import { promises as fs } from 'fs';
import * as path from 'path';
import { AuditEngine, DEFAULT_FAIL_ON, ENGINE_ERROR_CONTROL, failsRun, runAudit } from '../../../cli/commands/audit';
import { CATALOGUE } from '../../../policies/catalogue';
import { remediationSteps, remediationText, stepProps } from '../../../policies/control';
import { ControlException, Document, Finding, Framework, Severity } from '../../../policies/model';
import { JsonReport } from '../../../policies/report';
import { parseXml } from '../report/xml-parse';
import { fakeIo, tempTree } from './io';

/**
 * A stand-in engine: one finding per document whose `spec.result` says what to report, so
 * each test states the outcome it needs. Exceptions accept matching failures until expiry.
 */
const fakeEngine: AuditEngine = {
  controls: [
    { id: 'T-CRIT', title: 'Critical thing', severity: 'critical', frameworks: { stig: ['V-1'] } },
    { id: 'T-HIGH', title: 'High thing', severity: 'high', frameworks: { cis: ['1.1'] } },
    { id: 'T-LOW', title: 'Low thing', severity: 'low', frameworks: { bsi: ['APP.4.4.A1'] } },
  ],
  evaluate(
    docs: Document[],
    opts: { exceptions?: ControlException[]; now?: Date; frameworks?: Framework[] },
  ): Finding[] {
    return docs.map((d) => {
      const spec = (d.object.spec ?? {}) as { control?: string; result?: Finding['status']; severity?: Severity };
      const control = spec.control ?? 'T-HIGH';
      const f: Finding = {
        control,
        status: spec.result ?? 'pass',
        severity: spec.severity ?? 'high',
        frameworks: fakeEngine.controls.find((c) => c.id === control)?.frameworks ?? {},
        object: { kind: d.object.kind, name: d.object.metadata?.name, file: d.source.file, line: d.source.line },
        message: `${control} says ${spec.result ?? 'pass'}`,
      };
      const e = opts.exceptions?.find(
        (x) => x.control === control && (!x.scope.name || x.scope.name === f.object?.name),
      );
      if (f.status === 'fail' && e && opts.now && new Date(`${e.expires}T23:59:59Z`) >= opts.now) {
        f.status = 'accepted';
        f.exception = { justification: e.justification, owner: e.owner, expires: e.expires };
      }
      return f;
    });
  },
};

const doc = (name: string, control: string, result: Finding['status'], severity: Severity): string =>
  `apiVersion: test/v1\nkind: Thing\nmetadata: {name: ${name}}\nspec: {control: ${control}, result: ${result}, severity: ${severity}}\n`;

async function audit(
  args: string[],
  files: Record<string, string>,
  opts: Parameters<typeof fakeIo>[1] = {},
  engine: AuditEngine | 'real' = fakeEngine,
) {
  const dir = await tempTree(files);
  const io = fakeIo(dir, opts);
  const code = await runAudit(args, io, engine === 'real' ? undefined : engine);
  return { code, out: io.out(), err: io.errText(), dir };
}

describe('hcb audit: usage', () => {
  it('prints help and exits 0', async () => {
    const r = await audit(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: hcb audit PATH\.\.\./);
    expect(r.out).toMatch(/--fail-on SEVERITY/);
  });

  it.each([
    [[], /no input/],
    [
      ['x.yaml', '--format', 'pdf'],
      /--format must be one of terminal, markdown, json, sarif, junit, html, oscal, got "pdf"/,
    ],
    [['x.yaml', '--fail-on', 'info'], /--fail-on must be one of critical, high, medium, low/],
    [['x.yaml', '--framework', 'nist'], /--framework must be one of stig, cis, bsi, ccn, scs, got "nist"/],
    [['x.yaml', '--bogus'], /unknown option --bogus/],
    [['x.yaml', '--output'], /--output needs a value/],
    [['x.yaml', '--now', 'yesterday'], /--now is not a time/],
    [['missing.yaml'], /no such file or directory: missing\.yaml/],
  ])('exits 2 with a clear message for %j', async (args, message) => {
    const r = await audit(args as string[], { 'x.yaml': doc('a', 'T-HIGH', 'pass', 'high') });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
});

describe('hcb audit: exit codes', () => {
  it(`defaults to --fail-on ${DEFAULT_FAIL_ON}`, () => {
    expect(DEFAULT_FAIL_ON).toBe('low');
  });

  it('exits 0 when everything passes', async () => {
    const r = await audit(['m.yaml'], { 'm.yaml': doc('a', 'T-HIGH', 'pass', 'high') });
    expect(r.code).toBe(0);
    expect(r.out).toContain('No failures.');
  });

  it('exits 1 on a failure at or above --fail-on, 0 below it', async () => {
    const files = { 'm.yaml': doc('a', 'T-HIGH', 'fail', 'high') + '---\n' + doc('b', 'T-LOW', 'fail', 'low') };
    expect((await audit(['m.yaml'], files)).code).toBe(1);
    expect((await audit(['m.yaml', '--fail-on', 'high'], files)).code).toBe(1);
    expect((await audit(['m.yaml', '--fail-on', 'critical'], files)).code).toBe(0);
    const lowOnly = { 'm.yaml': doc('b', 'T-LOW', 'fail', 'low') };
    expect((await audit(['m.yaml'], lowOnly)).code).toBe(1);
    expect((await audit(['m.yaml', '--fail-on=medium'], lowOnly)).code).toBe(0);
  });

  it('never fails the run on info findings, accepted or not-evaluated ones', async () => {
    const files = {
      'm.yaml': [
        doc('a', 'T-LOW', 'fail', 'info'),
        doc('b', 'T-HIGH', 'accepted', 'high'),
        doc('c', 'T-HIGH', 'not-evaluated', 'high'),
      ].join('---\n'),
    };
    expect((await audit(['m.yaml'], files)).code).toBe(0);
  });

  it('counts error findings whatever --fail-on says: malformed input is an error with file and line', async () => {
    const files = {
      'ok.yaml': doc('a', 'T-HIGH', 'pass', 'high'),
      'bad.yaml': 'kind: Thing\nmetadata:\n\tname: tab\n',
    };
    const r = await audit(['.', '--fail-on', 'critical', '--format', 'json'], files);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as JsonReport;
    const parse = report.results.find((x) => x.control === 'HCB-INPUT-PARSE');
    expect(parse).toMatchObject({ status: 'error', object: { file: 'bad.yaml', line: 3 } });
    expect(r.err).toMatch(/1 could not be parsed/);
  });

  it('turns an engine crash into an error finding, not a crash', async () => {
    const broken: AuditEngine = {
      controls: [],
      evaluate: () => {
        throw new Error('boom');
      },
    };
    const r = await audit(['m.yaml', '--format', 'json'], { 'm.yaml': doc('a', 'T-HIGH', 'pass', 'high') }, {}, broken);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).results).toEqual([
      expect.objectContaining({
        control: ENGINE_ERROR_CONTROL,
        status: 'error',
        message: expect.stringContaining('boom'),
      }),
    ]);
  });

  it('failsRun agrees with the documented rule', () => {
    const f = (status: Finding['status'], severity: Severity): Finding => ({
      control: 'x',
      status,
      severity,
      frameworks: {},
      message: '',
    });
    expect(failsRun([f('error', 'info')], 'critical')).toBe(true);
    expect(failsRun([f('fail', 'medium')], 'medium')).toBe(true);
    expect(failsRun([f('fail', 'medium')], 'high')).toBe(false);
    expect(failsRun([f('fail', 'info')], 'low')).toBe(false);
    expect(failsRun([f('accepted', 'critical'), f('not-evaluated', 'critical')], 'low')).toBe(false);
  });
});

describe('hcb audit: exceptions', () => {
  const exceptions = (expires: string) =>
    `- control: T-HIGH\n  scope: {name: a}\n  justification: legacy\n  owner: team-x\n  expires: ${expires}\n`;
  const files = (expires: string) => ({
    'm.yaml': doc('a', 'T-HIGH', 'fail', 'high'),
    'exc.yaml': exceptions(expires),
  });

  it('accepts a covered failure until the exception expires', async () => {
    const ok = await audit(
      ['m.yaml', '--exceptions', 'exc.yaml', '--now', '2026-01-01T00:00:00Z'],
      files('2026-06-30'),
    );
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('accepted until 2026-06-30 (owner team-x): legacy');
    const expired = await audit(
      ['m.yaml', '--exceptions', 'exc.yaml', '--now', '2026-07-01T00:00:00Z'],
      files('2026-06-30'),
    );
    expect(expired.code).toBe(1);
  });

  it('stops with exit 2 on an invalid exceptions file, naming file and line', async () => {
    const r = await audit(['m.yaml', '--exceptions', 'exc.yaml'], {
      'm.yaml': doc('a', 'T-HIGH', 'pass', 'high'),
      'exc.yaml': '- control: T-HIGH\n  scope: {nam: a}\n',
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/exc\.yaml:1: exception 1: unknown scope field "nam"/);
    const missing = await audit(['m.yaml', '--exceptions', 'nope.yaml'], {
      'm.yaml': doc('a', 'T-HIGH', 'pass', 'high'),
    });
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read exceptions file nope\.yaml/);
  });
});

describe('hcb audit: output', () => {
  const files = {
    'm.yaml':
      doc('a', 'T-HIGH', 'fail', 'high') +
      '---\n' +
      doc('b', 'T-CRIT', 'pass', 'critical') +
      '---\n' +
      doc('c', 'T-LOW', 'fail', 'low'),
  };

  it('writes --output atomically and leaves no temporary file', async () => {
    const dir = await tempTree({ ...files, 'out/report.json': 'old content' });
    const io = fakeIo(dir);
    expect(await runAudit(['m.yaml', '--format', 'json', '--output', 'out/report.json'], io, fakeEngine)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.errText()).toMatch(/wrote json report to out\/report\.json/);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'out/report.json'), 'utf8')).results).toHaveLength(3);
    expect(await fs.readdir(path.join(dir, 'out'))).toEqual(['report.json']);
  });

  it('exits 2 when the output cannot be written, and leaves nothing behind', async () => {
    const dir = await tempTree({ ...files, blocker: 'a file where a directory should be' });
    const io = fakeIo(dir);
    expect(await runAudit(['m.yaml', '--output', 'blocker/report.txt'], io, fakeEngine)).toBe(2);
    expect(io.errText()).toMatch(/cannot write blocker\/report\.txt/);
    expect((await fs.readdir(dir)).sort()).toEqual(['blocker', 'm.yaml']);
  });

  it('reads standard input for "-"', async () => {
    const r = await audit(['-', '--format', 'json'], {}, { stdin: doc('s', 'T-HIGH', 'pass', 'high') });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).results[0].object).toMatchObject({ name: 's', file: '<stdin>', line: 1 });
  });

  it('filters by --framework, keeping input errors', async () => {
    const r = await audit(['.', '--framework', 'bsi', '--format', 'json'], { ...files, 'bad.yaml': 'a: [\n' });
    const controls = (JSON.parse(r.out) as JsonReport).results.map((x) => x.control);
    expect(controls).toEqual(['HCB-INPUT-PARSE', 'T-LOW']);
  });

  it('colours only a terminal without NO_COLOR, never a file', async () => {
    expect((await audit(['m.yaml'], files, { tty: true })).out).toContain('\u001b[');
    expect((await audit(['m.yaml'], files, { tty: true, env: { NO_COLOR: '1' } })).out).not.toContain('\u001b[');
    expect((await audit(['m.yaml'], files, { tty: false })).out).not.toContain('\u001b[');
  });

  it('stamps reports only with a given time; OSCAL always has one', async () => {
    expect((await audit(['m.yaml', '--format', 'markdown'], files)).out).not.toMatch(/\d{4}-\d\d-\d\dT/);
    expect(
      (await audit(['m.yaml', '--format', 'markdown'], files, { env: { SOURCE_DATE_EPOCH: '1700000000' } })).out,
    ).toContain('2023-11-14T22:13:20.000Z');
    expect((await audit(['m.yaml', '--format', 'markdown', '--now', '2025-01-02T03:04:05Z'], files)).out).toContain(
      '2025-01-02T03:04:05.000Z',
    );
    const oscal = JSON.parse((await audit(['m.yaml', '--format', 'oscal'], files)).out);
    expect(oscal['assessment-results'].metadata['last-modified']).toBe('2025-06-30T12:00:00.000Z'); // the clock
  });

  it('is byte-identical across runs', async () => {
    for (const format of ['terminal', 'markdown', 'json', 'sarif', 'junit', 'html', 'oscal']) {
      const a = await audit(['m.yaml', '--format', format, '--now', '2025-06-30T00:00:00Z'], files);
      const b = await audit(['m.yaml', '--format', format, '--now', '2025-06-30T00:00:00Z'], files);
      expect(b.out).toBe(a.out);
    }
  });

  it('writes every format in a form its readers accept', async () => {
    const run = async (format: string) => (await audit(['m.yaml', '--format', format], files)).out;
    expect(JSON.parse(await run('sarif')).runs[0].results).toHaveLength(2);
    expect(JSON.parse(await run('oscal'))['assessment-results'].results[0].findings).toHaveLength(3);
    expect(parseXml(await run('junit')).attrs).toMatchObject({ tests: '3', failures: '2' });
    expect(await run('html')).toMatch(/^<!DOCTYPE html>/);
    expect(await run('markdown')).toMatch(/^## Cluster hardening audit/);
  });
});

describe('hcb audit with the real catalogue', () => {
  const anonymous = CATALOGUE.find((c) => (c.frameworks.stig ?? []).includes('V-242390'));

  it('fails a kubeadm configuration that allows anonymous requests, and an exception accepts it', async () => {
    expect(anonymous).toBeDefined();
    const kubeadm = [
      'apiVersion: kubeadm.k8s.io/v1beta4',
      'kind: ClusterConfiguration',
      'apiServer:',
      '  extraArgs:',
      '    - name: anonymous-auth',
      '      value: "true"',
      '',
    ].join('\n');
    const r = await audit(
      ['kubeadm.yaml', '--format', 'json', '--framework', 'stig'],
      { 'kubeadm.yaml': kubeadm },
      {},
      'real',
    );
    expect(r.code).toBe(1);
    const results = (JSON.parse(r.out) as JsonReport).results;
    expect(results.find((x) => x.control === anonymous!.id)).toMatchObject({
      status: 'fail',
      object: { kind: 'ClusterConfiguration', file: 'kubeadm.yaml', line: 1 },
    });
    for (const x of results) expect(x.frameworks.stig.length).toBeGreaterThan(0);
    // The failure carries the catalogue's structured remediation: the same steps, a construct and its props.
    const failed = results.find((x) => x.control === anonymous!.id)!;
    expect(failed.fix).toEqual(
      remediationSteps(anonymous!.remediation).map((s) => ({
        construct: s.construct ?? null,
        props: stepProps(s),
        text: s.text,
      })),
    );
    expect(failed.fix.some((s) => s.construct !== null && s.props.length > 0)).toBe(true);
    expect(failed.remediation).toBe(remediationText(anonymous!.remediation));
    for (const x of results.filter((y) => y.status === 'pass')) expect([x.remediation, x.fix]).toEqual([null, []]);

    const exc = `- control: ${anonymous!.id}\n  scope: {kind: ClusterConfiguration}\n  justification: lab cluster\n  owner: me\n  expires: 2099-12-31\n`;
    const accepted = await audit(
      ['kubeadm.yaml', '--format', 'json', '--exceptions', 'exc.yaml'],
      { 'kubeadm.yaml': kubeadm, 'exc.yaml': exc },
      {},
      'real',
    );
    const again = (JSON.parse(accepted.out) as JsonReport).results.find((x) => x.control === anonymous!.id);
    expect(again?.status).toBe('accepted');
  });

  it('keeps run-wide errors (an exception for an unknown control) under a --framework filter', async () => {
    const exc =
      '- control: HCB-NO-SUCH-CONTROL\n  scope: {}\n  justification: typo in the id\n  owner: me\n  expires: 2099-12-31\n';
    const r = await audit(
      ['m.yaml', '--framework', 'scs', '--format', 'json', '--exceptions', 'exc.yaml'],
      { 'm.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n', 'exc.yaml': exc },
      {},
      'real',
    );
    expect(r.code).toBe(1);
    const errors = (JSON.parse(r.out) as JsonReport).results.filter((x) => x.status === 'error');
    expect(errors).toEqual([expect.objectContaining({ message: expect.stringContaining('HCB-NO-SUCH-CONTROL') })]);
  });
});
