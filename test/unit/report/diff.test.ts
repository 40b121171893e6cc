import { Finding } from '../../../policies/model';
import {
  diffResults,
  parseResultsFile,
  renderDiffJson,
  renderDiffMarkdown,
  renderDiffTerminal,
  renderJson,
  summarizeFindings,
} from '../../../policies/report';
import { FINDINGS } from './fixtures';

const asResults = (findings: Finding[]) =>
  parseResultsFile(renderJson(findings, summarizeFindings(findings)), 'x.json');

const base = FINDINGS;
// head: the anonymous-auth failure is fixed, the node file fails on a new line (moved), one
// new failure appears, the accepted DaemonSet is unchanged, the encryption error is unchanged.
const head: Finding[] = FINDINGS.flatMap((f): Finding[] => {
  if (f.control === 'HCB-APISERVER-ANONYMOUS') return [{ ...f, status: 'pass', message: 'anonymous-auth is false' }];
  if (f.control === 'HCB-NODEFILE-MODE') return [{ ...f, object: { ...f.object, line: 70 } }];
  return [f];
}).concat([
  {
    control: 'HCB-POD-RUN-AS-NON-ROOT',
    status: 'fail',
    severity: 'medium',
    frameworks: { stig: ['V-242415'] },
    object: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      namespace: 'team-c',
      name: 'db',
      file: 'manifests/db.yaml',
      line: 1,
    },
    message: 'container "db" may run as root',
  },
]);

describe('report diff', () => {
  const diff = diffResults(asResults(base), asResults(head));

  it('finds new, fixed and unchanged failures; a moved object is not new', () => {
    expect(diff.newFailures.map((r) => `${r.control} ${r.object.name}`)).toEqual(['HCB-POD-RUN-AS-NON-ROOT db']);
    expect(diff.fixed.map((x) => [x.result.control, x.headStatus])).toEqual([['HCB-APISERVER-ANONYMOUS', 'pass']]);
    expect(diff.unchanged.map((r) => r.control)).toEqual([
      'HCB-ENCRYPTION-PROVIDER',
      'HCB-POD-RUN-AS-NON-ROOT',
      'HCB-POD-RUN-AS-NON-ROOT',
      'HCB-NODEFILE-MODE',
    ]);
    expect(diff.controls).toEqual({
      newlyFailing: [],
      fixed: ['HCB-APISERVER-ANONYMOUS'],
      stillFailing: ['HCB-ENCRYPTION-PROVIDER', 'HCB-NODEFILE-MODE', 'HCB-POD-RUN-AS-NON-ROOT'],
    });
  });

  it('reports a failure that is gone from head, or now accepted, as fixed', () => {
    const gone = diffResults(asResults(base), asResults(base.filter((f) => f.control !== 'HCB-NODEFILE-MODE')));
    expect(gone.fixed.map((x) => [x.result.control, x.headStatus])).toEqual([['HCB-NODEFILE-MODE', null]]);
    const accepted = diffResults(
      asResults(base),
      asResults(base.map((f) => (f.control === 'HCB-NODEFILE-MODE' ? { ...f, status: 'accepted' as const } : f))),
    );
    expect(accepted.fixed.map((x) => x.headStatus)).toEqual(['accepted']);
  });

  it('finds nothing between a result and itself', () => {
    const same = diffResults(asResults(base), asResults(base));
    expect(same.newFailures).toEqual([]);
    expect(same.fixed).toEqual([]);
    expect(same.unchanged).toHaveLength(5);
  });

  it('renders terminal, Markdown and JSON', () => {
    const meta = { base: 'main.json', head: 'pr.json' };
    expect(renderDiffTerminal(diff, meta)).toMatchSnapshot();
    expect(renderDiffMarkdown(diff, meta)).toMatchSnapshot();
    const json = JSON.parse(renderDiffJson(diff));
    expect(Object.keys(json)).toEqual(['newFailures', 'fixed', 'unchanged', 'controls']);
    expect(renderDiffTerminal(diff, meta)).not.toContain('\u001b');
  });

  it('rejects what is not a JSON result, saying why', () => {
    expect(() => parseResultsFile('not json', 'a.json')).toThrow(/a\.json: not JSON/);
    expect(() => parseResultsFile('{"findings": []}', 'a.json')).toThrow(/expected an object with a "results" list/);
    expect(() => parseResultsFile('{"results": [{"control": "x", "status": "great"}]}', 'a.json')).toThrow(
      /results\[0\] needs a "control" and a "status"/,
    );
  });
});
