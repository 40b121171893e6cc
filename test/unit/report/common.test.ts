import fc from 'fast-check';
import { Finding, Status } from '../../../policies/model';
import {
  compareNatural,
  normalizeFrameworks,
  normalizeStigId,
  objectLabel,
  REPORT_FORMATS,
  RENDERERS,
  rollUpStatus,
  summarizeFindings,
} from '../../../policies/report';
import { FINDINGS, META } from './fixtures';

describe('summary', () => {
  it('counts findings, controls (rolled up) and frameworks', () => {
    const s = summarizeFindings(FINDINGS);
    expect(s.findings).toBe(9);
    expect(s.byStatus).toEqual({ error: 1, fail: 4, accepted: 1, 'not-evaluated': 1, pass: 1, 'not-applicable': 1 });
    // 6 controls: run-as-non-root (fail, accepted, n/a, fail) rolls up to fail.
    expect(s.controls).toEqual({
      total: 6,
      byStatus: { error: 1, fail: 3, accepted: 0, 'not-evaluated': 1, pass: 1, 'not-applicable': 0 },
    });
    expect(s.failuresBySeverity).toEqual({ critical: 0, high: 2, medium: 2, low: 1, info: 0 });
    expect(s.frameworks.scs).toEqual({
      controls: 2,
      byStatus: { error: 0, fail: 1, accepted: 0, 'not-evaluated': 1, pass: 0, 'not-applicable': 0 },
    });
    expect(s.frameworks.ccn.controls).toBe(2);
  });

  it('rolls a control up to its most pressing status; unevaluated is never pass', () => {
    expect(rollUpStatus(['pass', 'not-evaluated'])).toBe('not-evaluated');
    expect(rollUpStatus(['pass', 'not-applicable'])).toBe('pass');
    expect(rollUpStatus(['not-applicable'])).toBe('not-applicable');
    expect(rollUpStatus(['accepted', 'pass'])).toBe('accepted');
    expect(rollUpStatus(['fail', 'error'])).toBe('error');
    expect(rollUpStatus([])).toBe('not-evaluated');
  });
});

describe('framework references', () => {
  it('writes STIG IDs as V-nnnnnn and always has the five keys', () => {
    expect(normalizeStigId('242390')).toBe('V-242390');
    expect(normalizeStigId('v-242390')).toBe('V-242390');
    expect(normalizeStigId('V242390')).toBe('V-242390');
    expect(normalizeStigId('SRG-APP-000001')).toBe('SRG-APP-000001');
    expect(normalizeFrameworks({ stig: ['242390', 'V-242390'], cis: ['1.2.10', '1.2.9'] })).toEqual({
      stig: ['V-242390'],
      cis: ['1.2.9', '1.2.10'],
      bsi: [],
      ccn: [],
      scs: [],
    });
  });

  it('orders IDs naturally', () => {
    expect(['APP.4.4.A10', 'APP.4.4.A2', 'APP.4.4.A1'].sort(compareNatural)).toEqual([
      'APP.4.4.A1',
      'APP.4.4.A2',
      'APP.4.4.A10',
    ]);
  });

  it('labels subjects', () => {
    expect(objectLabel({ kind: 'Deployment', namespace: 'a', name: 'web' })).toBe('Deployment a/web');
    expect(objectLabel({ kind: 'NodeFileManifest', path: '/etc/x' })).toBe('NodeFileManifest /etc/x');
    expect(objectLabel({ path: '/etc/x' })).toBe('file /etc/x');
    expect(objectLabel({ file: 'a.yaml' })).toBe('');
  });
});

describe('every format', () => {
  it.each(REPORT_FORMATS)('%s is deterministic: same findings in any order give the same bytes', (format) => {
    const expected = RENDERERS[format](FINDINGS, summarizeFindings(FINDINGS), META);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(FINDINGS, { minLength: FINDINGS.length, maxLength: FINDINGS.length }),
        (shuffled) => {
          expect(RENDERERS[format](shuffled, summarizeFindings(shuffled), META)).toBe(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it.each(REPORT_FORMATS)('%s writes no time unless given one (OSCAL writes a fixed placeholder)', (format) => {
    const noTime = { ...META, generatedAt: undefined };
    const out = RENDERERS[format](FINDINGS, summarizeFindings(FINDINGS), noTime);
    // The only date-times allowed: OSCAL's placeholder and the exception's expiry (a risk deadline).
    const times = (out.match(/\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?/g) ?? []).filter(
      (t) => !t.startsWith('1970-01-01T00:00') && !t.startsWith('2026-12-31T23:59'),
    );
    expect(times).toEqual([]);
    if (format !== 'json')
      expect(RENDERERS[format](FINDINGS, summarizeFindings(FINDINGS), META)).toMatch(/2025-06-30T12:00/);
  });

  it.each(REPORT_FORMATS)('%s renders an empty run', (format) => {
    const out = RENDERERS[format]([], summarizeFindings([]), {});
    expect(out.length).toBeGreaterThan(0);
    expect(out.endsWith('\n')).toBe(true);
  });

  it.each(REPORT_FORMATS)('%s survives arbitrary text in findings', (format) => {
    const statuses: Status[] = ['pass', 'fail', 'accepted', 'not-applicable', 'not-evaluated', 'error'];
    const finding = fc.record({
      control: fc.string({ minLength: 1, maxLength: 12 }),
      status: fc.constantFrom(...statuses),
      severity: fc.constantFrom(
        'critical' as const,
        'high' as const,
        'medium' as const,
        'low' as const,
        'info' as const,
      ),
      frameworks: fc.record({ stig: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }) }),
      object: fc.record({
        kind: fc.string({ maxLength: 10 }),
        name: fc.string({ maxLength: 10 }),
        file: fc.string({ maxLength: 10 }),
        line: fc.nat(1000),
      }),
      message: fc.string({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.array(finding, { maxLength: 5 }), (findings: Finding[]) => {
        const out = RENDERERS[format](findings, summarizeFindings(findings), META);
        if (format === 'json' || format === 'sarif' || format === 'oscal') JSON.parse(out);
      }),
      { numRuns: 40 },
    );
  });
});

describe('one status order and one finding order (policies/order.ts)', () => {
  it('the engine, the framework roll-up and every report use the same status order and finding order', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const policies = require('../../../policies');
    expect(policies.ROLL_UP_ORDER).toBe(policies.STATUS_ORDER);
    expect(policies.compareReportFindings).toBe(policies.compareFindings);
    expect(policies.STATUS_ORDER).toEqual(['error', 'fail', 'not-evaluated', 'accepted', 'pass', 'not-applicable']);
  });

  it('a requirement and its control roll up to the same status when one subject is accepted and one not evaluated', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { summarize, rollUpStatus } = require('../../../policies');
    const base = { control: 'HCB-X', severity: 'medium', title: 't', frameworks: { bsi: ['APP.4.4.A1'] } };
    const fs = [
      { ...base, status: 'accepted', message: 'a', object: { kind: 'Pod', name: 'a' } },
      { ...base, status: 'not-evaluated', message: 'b', object: { kind: 'Pod', name: 'b' } },
    ];
    expect(summarize(fs).byFramework.bsi.requirements['APP.4.4.A1']).toBe(rollUpStatus(fs.map((f) => f.status)));
  });
});
