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
import { ADMISSION_POLICY_CONTROLS } from '../../../constructs/admission/catalogue-admission-policies';
import { CATALOGUE } from '../../../policies/catalogue';
import { evaluate } from '../../../policies/engine';
import { probe } from '../../../stacks/local/verify';
import { probeNode } from '../../../stacks/local/verify-node';
import { fixtureFiles, loadFixture } from './fixture-loader';

const NOW = new Date('2026-01-15T12:00:00Z');
/** Kinds only `hcb verify` writes (observations of a running cluster), never a synthesized manifest. */
const OBSERVED_ONLY_KINDS = new Set(['BackupStatus', 'KubeletProcess', 'KubeletConfigDirectory']);

/** control id → the probe names `hcb verify` reports for it. */
async function implementedProbes(): Promise<Map<string, string[]>> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-records-'));
  try {
    const findings = [...(await probe(stateDir, [])), ...probeNode({ stateDir, rootfs: path.join(stateDir, 'rootfs') })];
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

  it('declares admission exactly for the controls with an admission policy', () => {
    const declared = automated.filter((c) => c.checkpoints.includes('admission')).map((c) => c.id).sort();
    expect(declared).toEqual([...ADMISSION_POLICY_CONTROLS].sort());
  });

  it('declares probe exactly for the controls hcb verify probes', async () => {
    const probes = await implementedProbes();
    expect(probes.size).toBeGreaterThan(0);
    const declared = automated.filter((c) => c.checkpoints.includes('probe')).map((c) => c.id).sort();
    expect(declared).toEqual([...probes.keys()].sort());
  });

  it('declares live for every automated control and synth exactly where the check decides on manifests', () => {
    for (const c of automated) {
      expect({ id: c.id, live: c.checkpoints.includes('live') }).toEqual({ id: c.id, live: true });
      expect({ id: c.id, synth: c.checkpoints.includes('synth') }).toEqual({ id: c.id, synth: decidesOnManifests(c.id) });
    }
    // The one control today whose input only a running cluster has.
    expect(automated.filter((c) => !c.checkpoints.includes('synth')).map((c) => c.id)).toEqual(['HCB-BACKUP-RECENT']);
  });

  it('gives manual and organisational controls neither a check nor a probe', () => {
    for (const c of others) {
      expect({ id: c.id, check: c.check }).toEqual({ id: c.id, check: undefined });
      expect({ id: c.id, probe: c.checkpoints.includes('probe') }).toEqual({ id: c.id, probe: false });
      expect(c.checkpoints.length).toBeGreaterThan(0);
    }
  });
});
