import fc from 'fast-check';
import { Finding } from '../../../policies/model';
import { renderJunit, summarizeFindings } from '../../../policies/report';
import { FINDINGS, META } from './fixtures';
import { findAll, parseXml } from './xml-parse';

const render = () => renderJunit(FINDINGS, summarizeFindings(FINDINGS), META);

describe('JUnit report', () => {
  it('matches the snapshot', () => {
    expect(render()).toMatchSnapshot();
  });

  it('is well-formed XML with one testsuite per control and consistent counts', () => {
    const root = parseXml(render());
    expect(root.name).toBe('testsuites');
    expect(root.attrs).toMatchObject({ tests: '9', failures: '4', errors: '1', skipped: '3' });
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => s.attrs.name.split(' ')[0])).toEqual([...new Set(FINDINGS.map((f) => f.control))].sort());
    for (const s of suites) {
      const cases = findAll(s, 'testcase');
      expect(Number(s.attrs.tests)).toBe(cases.length);
      expect(Number(s.attrs.failures)).toBe(cases.filter((c) => findAll(c, 'failure').length > 0).length);
      expect(Number(s.attrs.errors)).toBe(cases.filter((c) => findAll(c, 'error').length > 0).length);
      expect(Number(s.attrs.skipped)).toBe(cases.filter((c) => findAll(c, 'skipped').length > 0).length);
    }
    expect(findAll(root, 'failure')).toHaveLength(4);
    expect(findAll(root, 'error')).toHaveLength(1);
    const skipped = findAll(root, 'skipped').map((s) => s.attrs.message);
    expect(skipped).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^not evaluated: no Namespace/),
        expect.stringMatching(/^not applicable: not a workload/),
        expect.stringMatching(/^accepted until 2026-12-31 \(owner platform-team\)/),
      ]),
    );
  });

  it('escapes input so that it reads back unchanged (control characters aside)', () => {
    const root = parseXml(render());
    const evil = findAll(root, 'testcase').find((c) => c.attrs.name.includes('script'));
    expect(evil?.attrs.name).toBe('Pod team-b/<script>alert(1)</script>');
    expect(evil?.attrs.file).toBe('manifests/evil "quoted" & <b>.yaml');
    const failure = findAll(evil!, 'failure')[0];
    expect(failure.attrs.message).toBe(
      'name has markup <img src=x onerror=alert(1)> | pipes | `ticks` *stars* and\na second line \ufffd\ufffd[31m',
    );
    expect(failure.text).toContain('at manifests/evil "quoted" & <b>.yaml:5');
  });

  it('stays well-formed for any text, and reads back what XML can carry', () => {
    const xmlSafe = (t: string) =>
      t.replace(
        /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
        '\ufffd',
      );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        (name, message, file) => {
          const f: Finding = {
            control: 'C',
            status: 'fail',
            severity: 'high',
            frameworks: {},
            object: { kind: 'Pod', name, file, line: 1 },
            message,
          };
          const root = parseXml(renderJunit([f], summarizeFindings([f])));
          const failure = findAll(root, 'failure')[0];
          expect(failure.attrs.message).toBe(xmlSafe(message));
          expect(findAll(root, 'testcase')[0].attrs.file).toBe(xmlSafe(file));
        },
      ),
      { numRuns: 300 },
    );
  });
});
