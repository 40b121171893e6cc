/**
 * `hardened-cluster-blueprint/policies` (policies/index.ts) is enough to run an audit from an
 * application repository: load, evaluate with exceptions, summarize, render.
 */
import * as path from 'path';
import * as policies from '../../../policies';
import {
  evaluate,
  loadInputs,
  loadProblemsToFindings,
  parseExceptions,
  RENDERERS,
  REPORT_FORMATS,
  summarizeFindings,
  JsonReport,
} from '../../../policies';

const REPO = path.resolve(__dirname, '../../..');

describe('policies/index', () => {
  it('exports the loader, the exceptions parser, the engine and every renderer', () => {
    for (const name of [
      'loadInputs',
      'parseText',
      'parseExceptions',
      'loadProblemsToFindings',
      'evaluate',
      'summarizeFindings',
      'renderJson',
      'renderMarkdown',
      'renderTerminal',
      'renderSarif',
      'diffResults',
      'exceptionListDocument',
      'isExceptionDocument',
    ]) {
      expect([name, typeof (policies as Record<string, unknown>)[name]]).toEqual([name, 'function']);
    }
    expect(Object.keys(RENDERERS).sort()).toEqual([...REPORT_FORMATS].sort());
  });

  it('runs an audit programmatically: failures found, then accepted by an exception', async () => {
    const loaded = await loadInputs(['test/fixtures/insecure/node'], { cwd: REPO });
    expect(loaded.errors).toEqual([]);
    const now = new Date('2026-11-22T00:00:00Z');
    const findings = [...loadProblemsToFindings(loaded.errors), ...evaluate(loaded.documents, { now })];
    const json = JSON.parse(RENDERERS.json(findings, summarizeFindings(findings))) as JsonReport;
    const readOnly = json.results.find((r) => r.control === 'HCB-KUBELET-READ-ONLY-PORT');
    expect(readOnly).toMatchObject({
      status: 'fail',
      object: { kind: 'KubeletConfiguration', file: 'test/fixtures/insecure/node/kubelet-config.yaml' },
    });

    const { exceptions, errors } = parseExceptions(
      'apiVersion: hcb.dev/v1alpha1\nkind: ControlExceptionList\nitems:\n- {control: HCB-KUBELET-READ-ONLY-PORT, scope: {kind: KubeletConfiguration}, justification: scraper, owner: ops, expires: 2027-01-31}\n',
      'exceptions.yaml',
    );
    expect(errors).toEqual([]);
    const accepted = evaluate(loaded.documents, { now, exceptions });
    expect(accepted.find((f) => f.control === 'HCB-KUBELET-READ-ONLY-PORT')?.status).toBe('accepted');
    expect(RENDERERS.markdown(accepted, summarizeFindings(accepted))).toMatch(/### Accepted exceptions \(1\)/);
  });
});
