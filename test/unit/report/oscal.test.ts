import {
  HCB_PROP_NS,
  OSCAL_VERSION,
  renderOscal,
  summarizeFindings,
  URL_NAMESPACE,
  uuidV5,
} from '../../../policies/report';
import { Finding } from '../../../policies/model';
import { FINDINGS, META } from './fixtures';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const render = (findings: Finding[] = FINDINGS, meta = META): any =>
  JSON.parse(renderOscal(findings, summarizeFindings(findings), meta));

function allUuids(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => allUuids(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'uuid' && typeof x === 'string') out.push(x);
      else allUuids(x, out);
    }
  }
  return out;
}

describe('uuidV5', () => {
  it('follows the RFC algorithm (known vector)', () => {
    // uuid5(NAMESPACE_DNS, 'python.org') as computed by Python's uuid module.
    expect(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(uuidV5('x', URL_NAMESPACE)).toMatch(UUID_V5);
  });
});

describe('OSCAL assessment-results', () => {
  it('matches the snapshot', () => {
    expect(renderOscal(FINDINGS, summarizeFindings(FINDINGS), META)).toMatchSnapshot();
  });

  it('has the required structure', () => {
    const doc = render();
    expect(Object.keys(doc)).toEqual(['assessment-results']);
    const ar = doc['assessment-results'];
    expect(ar.uuid).toMatch(UUID_V5);
    expect(ar.metadata).toMatchObject({
      title: expect.any(String),
      'last-modified': META.generatedAt,
      version: '0.1.0',
      'oscal-version': OSCAL_VERSION,
    });
    expect(ar['import-ap'].href).toMatch(/^#/);
    expect(ar['back-matter'].resources.map((r: { uuid: string }) => `#${r.uuid}`)).toContain(ar['import-ap'].href);
    expect(ar.results).toHaveLength(1);
    const result = ar.results[0];
    for (const key of ['uuid', 'title', 'description', 'start', 'reviewed-controls']) expect(result[key]).toBeDefined();
    expect(result.start).toBe(META.generatedAt);
    const included = result['reviewed-controls']['control-selections'][0]['include-controls'].map(
      (c: { 'control-id': string }) => c['control-id'],
    );
    expect(included).toEqual([...new Set(META.controls!.map((c) => c.id))].sort());
  });

  it('has one observation per finding and one OSCAL finding per control, all references resolving', () => {
    const result = render()['assessment-results'].results[0];
    expect(result.observations).toHaveLength(FINDINGS.length);
    for (const o of result.observations) {
      expect(o.methods).toEqual(['TEST']);
      expect(o.collected).toBe(META.generatedAt);
      expect(typeof o.description).toBe('string');
      for (const p of o.props) {
        expect(p.ns).toBe(HCB_PROP_NS);
        expect(p.name).toMatch(/^[A-Za-z_][A-Za-z0-9._-]*$/);
        expect(p.value).toMatch(/^\S(.*\S)?$/);
      }
    }
    const observationIds = new Set(result.observations.map((o: { uuid: string }) => o.uuid));
    const riskIds = new Set(result.risks.map((r: { uuid: string }) => r.uuid));
    const controls = [...new Set(FINDINGS.map((f) => f.control))].sort();
    expect(result.findings.map((f: { target: { 'target-id': string } }) => f.target['target-id'])).toEqual(controls);
    for (const f of result.findings) {
      expect(f.target.type).toBe('objective-id');
      expect(['satisfied', 'not-satisfied']).toContain(f.target.status.state);
      for (const r of f['related-observations']) expect(observationIds.has(r['observation-uuid'])).toBe(true);
      for (const r of f['related-risks'] ?? []) expect(riskIds.has(r['risk-uuid'])).toBe(true);
    }
    const state = (id: string) =>
      result.findings.find((f: { target: { 'target-id': string } }) => f.target['target-id'] === id).target.status;
    expect(state('HCB-AUDIT-POLICY-SECRETS')).toEqual({ state: 'satisfied', reason: 'pass' });
    expect(state('HCB-APISERVER-ANONYMOUS')).toEqual({ state: 'not-satisfied', reason: 'fail' });
    expect(state('HCB-NETPOL-DEFAULT-DENY')).toEqual({ state: 'not-satisfied', reason: 'other' }); // not evaluated is not satisfied
    expect(result.risks).toHaveLength(1);
    expect(result.risks[0]).toMatchObject({ status: 'deviation-approved', deadline: '2026-12-31T23:59:59Z' });
    expect(result.risks[0].statement).toMatch(/Needs root.*platform-team.*2026-12-31/);
  });

  it('derives UUIDs from content: stable, unique, and new when the content changes', () => {
    const a = allUuids(render());
    expect(a.every((u) => UUID_V5.test(u))).toBe(true);
    expect(new Set(a).size).toBe(a.length);
    expect(allUuids(render())).toEqual(a);
    const changed = allUuids(render(FINDINGS.map((f, i) => (i === 0 ? { ...f, message: `${f.message}!` } : f))));
    expect(changed[0]).not.toBe(a[0]); // the document's UUID
    const later = allUuids(render(FINDINGS, { ...META, generatedAt: '2025-07-01T00:00:00.000Z' }));
    expect(later[0]).not.toBe(a[0]);
  });

  it('has no empty list and no empty string anywhere (OSCAL lists have at least one item)', () => {
    const walk = (v: unknown, at: string): void => {
      if (Array.isArray(v)) {
        expect(`${at}: ${v.length}`).not.toBe(`${at}: 0`);
        v.forEach((x, i) => walk(x, `${at}[${i}]`));
      } else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
      } else if (typeof v === 'string') {
        expect(`${at}: ${v.trim()}`).not.toBe(`${at}: `);
      }
    };
    walk(render(), '$');
    const empty = render([], {});
    walk(empty, '$');
    expect(empty['assessment-results'].results[0]['reviewed-controls']['control-selections']).toEqual([
      { 'include-all': {} },
    ]);
    expect(empty['assessment-results'].results[0].findings).toBeUndefined();
  });
});
