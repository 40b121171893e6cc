import { renderSarif, summarizeFindings, SARIF_SCHEMA } from '../../../policies/report';
import { Finding } from '../../../policies/model';
import { CONTROLS, FINDINGS, META } from './fixtures';

type Sarif = {
  $schema: string;
  version: string;
  runs: {
    tool: {
      driver: {
        name: string;
        rules: {
          id: string;
          shortDescription: { text: string };
          fullDescription: { text: string };
          defaultConfiguration: { level: string };
          properties: { tags: string[] };
        }[];
      };
    };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: { physicalLocation?: { artifactLocation: { uri: string }; region?: { startLine: number } } }[];
      suppressions?: { kind: string; status: string; justification: string }[];
      partialFingerprints: Record<string, string>;
    }[];
  }[];
};

const render = (findings: Finding[] = FINDINGS): Sarif =>
  JSON.parse(renderSarif(findings, summarizeFindings(findings), META));

describe('SARIF report', () => {
  it('matches the snapshot', () => {
    expect(renderSarif(FINDINGS, summarizeFindings(FINDINGS), META)).toMatchSnapshot();
  });

  it('is a SARIF 2.1.0 log with one run whose rules describe the controls', () => {
    const log = render();
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toBe(SARIF_SCHEMA);
    expect(log.runs).toHaveLength(1);
    const rules = log.runs[0].tool.driver.rules;
    expect(rules.map((r) => r.id)).toEqual([...new Set(FINDINGS.map((f) => f.control))].sort());
    const anon = rules.find((r) => r.id === 'HCB-APISERVER-ANONYMOUS');
    expect(anon?.shortDescription.text).toBe(CONTROLS[0].title);
    expect(anon?.fullDescription.text).toBe(CONTROLS[0].rationale);
    expect(anon?.defaultConfiguration.level).toBe('error');
    expect(anon?.properties.tags).toEqual(expect.arrayContaining(['stig:V-242390', 'cis:1.2.1', 'bsi:APP.4.4.A3']));
    expect(JSON.stringify(log)).not.toMatch(/helpUri/);
  });

  it('reports fail and error as results, accepted as suppressed results, nothing else', () => {
    const results = render().runs[0].results;
    const wanted = FINDINGS.filter((f) => f.status === 'fail' || f.status === 'error' || f.status === 'accepted');
    expect(results).toHaveLength(wanted.length);
    const suppressed = results.filter((r) => r.suppressions);
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0].suppressions?.[0]).toMatchObject({ kind: 'external', status: 'accepted' });
    expect(suppressed[0].suppressions?.[0].justification).toMatch(
      /Needs root to read \/var\/log.*platform-team.*2026-12-31/,
    );
  });

  it('points each result at its rule, with a level from severity and a relative location', () => {
    const log = render();
    const rules = log.runs[0].tool.driver.rules;
    for (const r of log.runs[0].results) {
      expect(rules[r.ruleIndex].id).toBe(r.ruleId);
      expect(['error', 'warning', 'note']).toContain(r.level);
      const loc = r.locations[0].physicalLocation;
      if (loc) {
        expect(loc.artifactLocation.uri).not.toMatch(/^(\/|file:|[a-z]+:)/i);
        expect(() => new URL(loc.artifactLocation.uri, 'file:///root/')).not.toThrow();
        expect(loc.region?.startLine).toBeGreaterThanOrEqual(1);
      }
    }
    const byRule = (id: string) => log.runs[0].results.filter((r) => r.ruleId === id);
    expect(byRule('HCB-APISERVER-ANONYMOUS')[0].level).toBe('error');
    expect(byRule('HCB-APISERVER-ANONYMOUS')[0].locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'control-plane/kubeadm.yaml', uriBaseId: '%SRCROOT%' },
      region: { startLine: 1 },
    });
    expect(byRule('HCB-NODEFILE-MODE')[0].level).toBe('note');
    expect(byRule('HCB-ENCRYPTION-PROVIDER')[0].level).toBe('error');
    const evil = byRule('HCB-POD-RUN-AS-NON-ROOT').find((r) => r.message.text.includes('markup'));
    expect(evil?.locations[0].physicalLocation?.artifactLocation.uri).toBe(
      'manifests/evil%20%22quoted%22%20%26%20%3Cb%3E.yaml',
    );
  });

  it('keeps a fingerprint when the object moves to another line', () => {
    const moved = FINDINGS.map((f) =>
      f.object?.line ? { ...f, object: { ...f.object, line: f.object.line + 10 } } : f,
    );
    const a = render().runs[0].results.map((r) => r.partialFingerprints);
    const b = render(moved).runs[0].results.map((r) => r.partialFingerprints);
    expect(b).toEqual(a);
    expect(new Set(a.map((p) => JSON.stringify(p))).size).toBe(a.length);
  });
});

describe('structured remediation in SARIF rules', () => {
  test('rule help is the rendered text; properties.fix lists the construct steps', () => {
    const controls = [
      {
        ...CONTROLS[0],
        remediation: [
          { construct: 'HardenedControlPlane', prop: 'apiServer.anonymousAuth', text: "'disabled'." },
          { text: 'Restart the API server.' },
        ],
      },
    ];
    const findings = FINDINGS.filter((f) => f.control === CONTROLS[0].id).map((f) => ({
      ...f,
      remediation: undefined,
    }));
    const sarif = JSON.parse(renderSarif(findings, summarizeFindings(findings), { ...META, controls })) as {
      runs: Array<{ tool: { driver: { rules: Array<{ help: { text: string }; properties: { fix?: unknown } }> } } }>;
    };
    const rule = sarif.runs[0].tool.driver.rules[0];
    expect(rule.help.text).toBe(
      "HardenedControlPlane prop apiServer.anonymousAuth: 'disabled'. Restart the API server.",
    );
    expect(rule.properties.fix).toEqual([
      { construct: 'HardenedControlPlane', props: ['apiServer.anonymousAuth'], text: "'disabled'." },
    ]);
  });
});
