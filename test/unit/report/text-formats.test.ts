import fc from 'fast-check';
import { Finding } from '../../../policies/model';
import { renderMarkdown, renderTerminal, summarizeFindings } from '../../../policies/report';
import { FINDINGS, META } from './fixtures';

const summary = summarizeFindings(FINDINGS);

describe('terminal report', () => {
  it('matches the snapshot', () => {
    expect(renderTerminal(FINDINGS, summary, META)).toMatchSnapshot();
  });

  it('lists in the one status order (errors, failures, not evaluated, accepted, ...), with control, severity, object, location, construct path and remediation', () => {
    const out = renderTerminal(FINDINGS, summary, META);
    const order = ['ERROR (1)', 'FAIL (4)', 'NOT EVALUATED (1)', 'ACCEPTED (1)', 'PASS (1)', 'NOT APPLICABLE (1)'].map(
      (h) => out.indexOf(h),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).toContain('HCB-APISERVER-ANONYMOUS  [high]  ClusterConfiguration kubeadm');
    expect(out).toContain('manifests/app.yaml:12 · construct blueprint/team-a/web');
    expect(out).toContain('fix: Set HardenedControlPlane props.apiServer.anonymousAuth to false.');
    // High before medium within the failures.
    expect(out.indexOf('HCB-APISERVER-ANONYMOUS')).toBeLessThan(out.indexOf('HCB-POD-RUN-AS-NON-ROOT'));
  });

  it('uses colours only when asked, and input cannot send escape sequences', () => {
    const plain = renderTerminal(FINDINGS, summary, META);
    expect(plain).not.toContain('\u001b');
    const coloured = renderTerminal(FINDINGS, summary, { ...META, color: true });
    expect(coloured).toContain('\u001b[31m');
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
    expect(coloured).not.toContain('\u001b[31m\n');
  });

  it('limits framework references to the frameworks in focus', () => {
    const out = renderTerminal(FINDINGS, summary, { ...META, frameworks: ['bsi'] });
    expect(out).toContain('BSI APP.4.4.A3');
    expect(out).not.toContain('STIG V-242390');
  });
});

describe('Markdown report', () => {
  const md = renderMarkdown(FINDINGS, summary, META);

  it('matches the snapshot', () => {
    expect(md).toMatchSnapshot();
  });

  it('has the summary by status and framework, failures, exceptions and not-evaluated sections', () => {
    expect(md).toContain('| Fail | 4 | 3 |');
    expect(md).toContain('| DISA Kubernetes STIG | 5 | 1 | 3 | 1 | 0 | 0 | 0 |');
    expect(md).toContain('### Failures (5)');
    expect(md).toMatch(/### Accepted exceptions \(1\)\n\n\| Control \| Object \| Justification \| Owner \| Expires \|/);
    expect(md).toContain('| platform-team | 2026-12-31 |');
    expect(md).toContain(
      '### Not evaluated (1)\n\n- `HCB-NETPOL-DEFAULT-DENY`: no Namespace in the input: nothing to check',
    );
  });

  it('keeps every table row to its column count and lets no HTML through from input', () => {
    const tables = md.split('\n\n').filter((block) => block.startsWith('|'));
    expect(tables.length).toBe(4);
    for (const t of tables) {
      const cells = t.split('\n').map((row) => row.replace(/\\\|/g, '').split('|').length);
      expect(new Set(cells).size).toBe(1);
    }
    // Outside code spans (where Markdown shows text as is) no tag from input survives.
    expect(md.replace(/`[^`\n]*`/g, '')).not.toMatch(/<script|<img|<b>/);
    expect(md).toContain('`manifests/evil "quoted" & <b>.yaml:5`');
    expect(md).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
  });

  it('keeps table shapes and lets no tag through for any text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        (message, name) => {
          const findings: Finding[] = [
            {
              control: 'C-1',
              status: 'fail',
              severity: 'high',
              frameworks: {},
              object: { kind: 'Pod', name, file: 'a.yaml', line: 1 },
              message,
              remediation: message,
            },
            {
              control: 'C-2',
              status: 'accepted',
              severity: 'low',
              frameworks: {},
              object: { kind: 'Pod', name },
              message,
              exception: { justification: message, owner: name, expires: '2030-01-01' },
            },
          ];
          const out = renderMarkdown(findings, summarizeFindings(findings), {});
          for (const t of out.split('\n\n').filter((b) => b.startsWith('|'))) {
            const widths = t.split('\n').map((row) => row.replace(/\\\\/g, '').replace(/\\\|/g, '').split('|').length);
            expect(new Set(widths).size).toBe(1);
          }
          expect(out.replace(/<\/?(br|sub|details|summary)>/g, '').replace(/`[^`\n]*`/g, '')).not.toMatch(
            /<[a-zA-Z/!?]/,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
