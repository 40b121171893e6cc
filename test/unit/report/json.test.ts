import { renderJson, summarizeFindings } from '../../../policies/report';
import { FINDINGS, META } from './fixtures';

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
      expect(Object.keys(r)).toEqual(['control', 'status', 'severity', 'frameworks', 'object', 'message']);
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
