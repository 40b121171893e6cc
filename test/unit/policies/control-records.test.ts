/**
 * One control, one record: where a control says it is checked (`checkpoints`) must be where
 * something really checks it.
 *
 * - 'admission': the control has a ValidatingAdmissionPolicy (CatalogueAdmissionPolicies renders one).
 * - 'probe': `hcb verify` probes it (stacks/local/verify.ts, verify-node.ts): the probes are
 *   listed from what they report when no cluster runs (every probe reports not-evaluated then).
 * - 'synth': the check decides on rendered manifests (hcb audit, the policy pack), i.e. not only
 *   on documents that only `hcb verify` writes.
 * - 'live': `hcb verify` runs the whole catalogue's checks over what it observes.
 * Manual and organisational controls run nothing: their checkpoints say where a person looks,
 * and can name neither a probe nor a check.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import {
  ADMISSION_POLICY_CONTROLS,
  CatalogueAdmissionPolicies,
} from '../../../constructs/admission/catalogue-admission-policies';
import { CATALOGUE } from '../../../policies/catalogue';
import { AutomatedControlRecord, checkpointsOf, toControl } from '../../../policies/control';
import { evaluate } from '../../../policies/engine';
import { probe } from '../../../stacks/local/verify';
import { probeNode } from '../../../stacks/local/verify-node';
import { fixtureFiles, loadFixture } from './fixture-loader';

const NOW = new Date('2026-01-15T12:00:00Z');
/** Kinds only `hcb verify` writes (observations of a running cluster), never a synthesized manifest. */
const OBSERVED_ONLY_KINDS = new Set(['BackupStatus', 'KubeletProcess', 'KubeletConfigDirectory', 'KubeProxyProcess']);

/** control id → the probe names `hcb verify` reports for it. */
async function implementedProbes(): Promise<Map<string, string[]>> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-records-'));
  try {
    const findings = [
      ...(await probe(stateDir, [])),
      ...probeNode({ stateDir, rootfs: path.join(stateDir, 'rootfs') }),
    ];
    const out = new Map<string, string[]>();
    for (const f of findings) {
      expect(f.status).toBe('not-evaluated');
      out.set(f.control, [...(out.get(f.control) ?? []), f.object!.name!].sort());
    }
    return out;
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

/** True when the control decides (anything but not-evaluated) on some pass fixture without the observed-only documents. */
function decidesOnManifests(id: string): boolean {
  const control = CATALOGUE.find((c) => c.id === id)!;
  return fixtureFiles(id, 'pass').some((file) => {
    const docs = loadFixture(file).filter((d) => !OBSERVED_ONLY_KINDS.has(String(d.object.kind)));
    return evaluate(docs, { controls: [control], now: NOW }).some((f) => f.status !== 'not-evaluated');
  });
}

describe('control records: declared checkpoints are what runs', () => {
  const automated = CATALOGUE.filter((c) => c.automation === 'automated');
  const others = CATALOGUE.filter((c) => c.automation !== 'automated');

  it('declares admission exactly for the controls CatalogueAdmissionPolicies renders a policy for', () => {
    const chart = new Chart(new App(), 'c');
    // One policy per control, so each is found by its label (the default layout holds the same
    // validations grouped; test/unit/constructs/admission compares the two).
    new CatalogueAdmissionPolicies(chart, 'admission', { evaluationDate: '2026-06-01', layout: 'per-control' });
    const rendered = chart
      .toJson()
      .filter((o: { kind: string }) => o.kind === 'ValidatingAdmissionPolicy')
      .map((o: { metadata: { labels: Record<string, string> } }) => o.metadata.labels['hcb.dev/control'])
      .sort();
    expect(rendered.length).toBeGreaterThan(20);
    const declared = automated
      .filter((c) => c.checkpoints.includes('admission'))
      .map((c) => c.id)
      .sort();
    expect(declared).toEqual(rendered);
    expect([...ADMISSION_POLICY_CONTROLS].sort()).toEqual(rendered);
    // The policy carries the record's CEL, unchanged.
    const json = chart.toJson() as Array<{
      kind: string;
      metadata: { labels: Record<string, string> };
      spec: { validations?: Array<{ expression: string }> };
    }>;
    for (const c of automated.filter((x) => x.admission)) {
      const p = json.find(
        (o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.labels['hcb.dev/control'] === c.id,
      )!;
      expect(p.spec.validations![0].expression).toBe(c.admission!.expression);
    }
  });

  it('names every probe hcb verify runs in the record of its control, and no other', async () => {
    const probes = await implementedProbes();
    expect(probes.size).toBeGreaterThan(0);
    const named = new Map(
      automated.filter((c) => (c.probes ?? []).length > 0).map((c) => [c.id, [...c.probes!].sort()]),
    );
    expect(Object.fromEntries(named)).toEqual(Object.fromEntries(probes));
    const declared = automated
      .filter((c) => c.checkpoints.includes('probe'))
      .map((c) => c.id)
      .sort();
    expect(declared).toEqual([...probes.keys()].sort());
  });

  it('declares live for every automated control and synth exactly where the check decides on manifests', () => {
    for (const c of automated) {
      expect({ id: c.id, live: c.checkpoints.includes('live') }).toEqual({ id: c.id, live: true });
      expect({ id: c.id, synth: c.checkpoints.includes('synth') }).toEqual({
        id: c.id,
        synth: decidesOnManifests(c.id),
      });
    }
    // The one control today whose input only a running cluster has.
    expect(automated.filter((c) => !c.checkpoints.includes('synth')).map((c) => c.id)).toEqual(['HCB-BACKUP-RECENT']);
  });

  it('derives the checkpoints of an automated record from its parts', () => {
    const base: AutomatedControlRecord = {
      id: 'HCB-TEST-X',
      title: 't',
      rationale: 'r',
      severity: 'low',
      frameworks: {},
      responsibility: 'cluster-admin',
      automation: 'automated',
      remediation: { text: 'x' },
      check: () => [],
    };
    expect(checkpointsOf(base)).toEqual(['synth', 'live']);
    expect(checkpointsOf({ ...base, liveOnly: 'observed only' })).toEqual(['live']);
    expect(
      checkpointsOf({ ...base, admission: { target: 'workloads', expression: 'true', detail: 'd' }, probes: ['p'] }),
    ).toEqual(['synth', 'admission', 'live', 'probe']);
    expect(checkpointsOf({ ...base, probes: [] })).toEqual(['synth', 'live']);
    expect(toControl(base).checkpoints).toEqual(['synth', 'live']);
    // A record cannot declare its own checkpoints, nor be automated without a check.
    // @ts-expect-error checkpoints are derived
    const declared: AutomatedControlRecord = { ...base, checkpoints: ['probe'] };
    // @ts-expect-error automated requires check
    const unchecked: AutomatedControlRecord = { ...base, check: undefined };
    expect([declared, unchecked]).toHaveLength(2);
  });

  it('gives manual and organisational controls neither a check nor a probe', () => {
    for (const c of others) {
      expect({ id: c.id, check: c.check }).toEqual({ id: c.id, check: undefined });
      expect({ id: c.id, probe: c.checkpoints.includes('probe') }).toEqual({ id: c.id, probe: false });
      expect(c.checkpoints.length).toBeGreaterThan(0);
    }
  });
});
