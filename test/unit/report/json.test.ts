import { Finding } from '../../../policies/model';
import { parseResultsFile, renderJson, summarizeFindings } from '../../../policies/report';
import { CONTROLS, FINDINGS, META } from './fixtures';

const render = () => renderJson(FINDINGS, summarizeFindings(FINDINGS), META);

describe('JSON report', () => {
  it('matches the snapshot', () => {
    expect(render()).toMatchSnapshot();
  });

  it('has exactly the agreed shape', () => {
    const report = JSON.parse(render());
    expect(Object.keys(report)).toEqual(['results', 'summary']);
    expect(report.results).toHaveLength(FINDINGS.length);
    for (const r of report.results) {
      expect(Object.keys(r)).toEqual([
        'control',
        'status',
        'severity',
        'frameworks',
        'object',
        'message',
        'remediation',
        'fix',
      ]);
      expect(Object.keys(r.frameworks)).toEqual(['stig', 'cis', 'bsi', 'ccn', 'scs']);
      for (const ids of Object.values(r.frameworks)) expect(Array.isArray(ids)).toBe(true);
      expect(Object.keys(r.object)).toEqual([
        'apiVersion',
        'kind',
        'namespace',
        'name',
        'file',
        'line',
        'constructPath',
      ]);
      for (const id of r.frameworks.stig) expect(id).toMatch(/^V-\d+$/);
    }
    expect(Object.keys(report.summary)).toEqual([
      'findings',
      'byStatus',
      'controls',
      'failuresBySeverity',
      'frameworks',
    ]);
  });

  it('writes STIG IDs with their prefix and unknown fields as null', () => {
    const report = JSON.parse(render());
    const audit = report.results.find((r: { control: string }) => r.control === 'HCB-AUDIT-POLICY-SECRETS');
    expect(audit.frameworks).toEqual({
      stig: ['V-242461'],
      cis: ['3.2.2'],
      bsi: ['APP.4.4.A4'],
      ccn: ['op.exp.8'],
      scs: [],
    });
    expect(audit.object).toEqual({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      namespace: null,
      name: null,
      file: 'control-plane/audit-policy.yaml',
      line: 3,
      constructPath: null,
    });
    const noObject = report.results.find((r: { control: string }) => r.control === 'HCB-NETPOL-DEFAULT-DENY');
    expect(noObject.object).toEqual({
      apiVersion: null,
      kind: null,
      namespace: null,
      name: null,
      file: null,
      line: null,
      constructPath: null,
    });
  });

  it('carries the construct path of our own objects (added to the agreed shape, null when unknown)', () => {
    const report = JSON.parse(render());
    const web = report.results.filter((r: { object: { name: string | null } }) => r.object.name === 'web');
    expect(web.length).toBeGreaterThan(0);
    for (const r of web) expect(r.object.constructPath).toBe('blueprint/team-a/web');
  });

  it('sorts results by control, then subject', () => {
    const controls = JSON.parse(render()).results.map((r: { control: string }) => r.control);
    expect(controls).toEqual([...controls].sort());
  });
});

describe('structured remediation in JSON results', () => {
  // The catalogue's anonymous-auth control with a structured remediation of two steps.
  const STEPS = [
    { construct: 'HardenedControlPlane', prop: 'apiServer.anonymousAuth', text: 'set it to false.' },
    {
      construct: 'KubeletConfiguration',
      prop: ['authentication.anonymous.enabled', 'authorization.mode'],
      text: 'keep the defaults.',
    },
    { text: 'Restart the API server.' },
  ];
  const TEXT =
    'HardenedControlPlane prop apiServer.anonymousAuth: set it to false. ' +
    'KubeletConfiguration props authentication.anonymous.enabled and authorization.mode: keep the defaults. ' +
    'Restart the API server.';
  const controls = [{ ...CONTROLS[0], remediation: STEPS }, ...CONTROLS.slice(1)];
  const anonymous = (status: Finding['status'], remediation?: string): Finding => ({
    ...FINDINGS.find((f) => f.control === CONTROLS[0].id)!,
    status,
    remediation,
  });
  const results = (findings: Finding[], meta = { ...META, controls }) =>
    JSON.parse(renderJson(findings, summarizeFindings(findings), meta)).results as Array<{
      status: string;
      remediation: string | null;
      fix: unknown[];
    }>;

  test("a failing result carries the catalogue's steps: construct, props and text", () => {
    for (const own of [undefined, TEXT]) {
      const [r] = results([anonymous('fail', own)]);
      expect(r.remediation).toBe(TEXT);
      expect(r.fix).toEqual([
        { construct: 'HardenedControlPlane', props: ['apiServer.anonymousAuth'], text: 'set it to false.' },
        {
          construct: 'KubeletConfiguration',
          props: ['authentication.anonymous.enabled', 'authorization.mode'],
          text: 'keep the defaults.',
        },
        { construct: null, props: [], text: 'Restart the API server.' },
      ]);
    }
  });

  test('error and accepted results carry it too; pass, not-applicable and not-evaluated carry null and []', () => {
    for (const status of ['error', 'accepted'] as const) expect(results([anonymous(status)])[0].fix).toHaveLength(3);
    for (const status of ['pass', 'not-applicable', 'not-evaluated'] as const) {
      const [r] = results([anonymous(status, TEXT)]);
      expect(r.remediation).toBeNull();
      expect(r.fix).toEqual([]);
    }
  });

  test("a finding's own remediation text, different from the catalogue's, is one step without construct", () => {
    const [r] = results([anonymous('fail', 'Remove the flag from the static pod.')]);
    expect(r.remediation).toBe('Remove the flag from the static pod.');
    expect(r.fix).toEqual([{ construct: null, props: [], text: 'Remove the flag from the static pod.' }]);
  });

  test('without the catalogue in meta the text is kept as one step; no remediation at all gives null and []', () => {
    const [r] = results([anonymous('fail', TEXT)], { ...META, controls: [] });
    expect(r.fix).toEqual([{ construct: null, props: [], text: TEXT }]);
    const [none] = results([anonymous('fail')], { ...META, controls: [] });
    expect(none.remediation).toBeNull();
    expect(none.fix).toEqual([]);
  });

  test('deterministic: the same findings in another order give the same bytes', () => {
    const findings = [anonymous('fail'), ...FINDINGS.filter((f) => f.control !== CONTROLS[0].id)];
    const render = (fs: Finding[]) => renderJson(fs, summarizeFindings(fs), { ...META, controls });
    expect(render([...findings].reverse())).toBe(render(findings));
  });

  test('hcb report reads the steps back; older files without them and malformed steps give null and []', () => {
    const findings = [anonymous('fail')];
    const text = renderJson(findings, summarizeFindings(findings), { ...META, controls });
    expect(parseResultsFile(text, 'head.json').results[0].fix).toEqual(JSON.parse(text).results[0].fix);
    const old = JSON.parse(text);
    delete old.results[0].remediation;
    old.results[0].fix = [
      { construct: 1, props: 'x', text: 'bad' },
      { construct: null, props: [], text: 'ok' },
    ];
    const back = parseResultsFile(JSON.stringify(old), 'old.json').results[0];
    expect(back.remediation).toBeNull();
    expect(back.fix).toEqual([{ construct: null, props: [], text: 'ok' }]);
  });
});
