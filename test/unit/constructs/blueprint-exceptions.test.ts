/**
 * The blueprint carries its exceptions as reviewed code: `hcb synth` writes them to
 * exceptions.yaml, and the catalogue run over the written output with exactly those exceptions
 * finds no failure and no error, for every profile, local and not. Exceptions inside the
 * audited directory are not applied by themselves.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeSynthOutput } from '../../../cli/commands/synth';
import { BlueprintSpec, LocalEndpoints, ProtectionProfile, synthesizeBlueprint } from '../../../constructs/blueprint';
import { BLUEPRINT_EXCEPTIONS } from '../../../constructs/blueprint-exceptions';
import { BlueprintPropError } from '../../../constructs/common/errors';
import { evaluate } from '../../../policies/engine';
import { loadInputs, parseExceptions } from '../../../policies/input';
import { ControlException, Finding } from '../../../policies/model';

const NOW = new Date('2026-11-22T00:00:00Z');
const LOCAL: LocalEndpoints = {
  apiServerPort: 6443,
  etcdClientPort: 2379,
  etcdPeerPort: 2380,
  etcdMetricsPort: 2381,
  controllerManagerPort: 10257,
  schedulerPort: 10259,
};
const STATIC_POD_PATH = 'HCB-KUBELET-STATIC-POD-PATH';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/** Synthesize, write like `hcb synth`, read back like `hcb audit DIR --exceptions DIR/exceptions.yaml`. */
async function auditWritten(
  spec: BlueprintSpec,
  opts: { withExceptions?: boolean } = {},
): Promise<{ findings: Finding[]; exceptions: ControlException[]; dir: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcb-blueprint-'));
  dirs.push(dir);
  writeSynthOutput(path.join(dir, 'out'), synthesizeBlueprint(spec));
  const loaded = await loadInputs(['out'], { cwd: dir });
  expect(loaded.errors).toEqual([]);
  expect(loaded.warnings).toEqual([]);
  const parsed = parseExceptions(
    await fs.readFile(path.join(dir, 'out', 'exceptions.yaml'), 'utf8'),
    'out/exceptions.yaml',
  );
  expect(parsed.errors).toEqual([]);
  const findings = evaluate(loaded.documents, {
    exceptions: opts.withExceptions === false ? [] : parsed.exceptions,
    now: NOW,
  });
  return { findings, exceptions: parsed.exceptions, dir };
}

const failing = (f: Finding[]): string[] =>
  f.filter((x) => x.status === 'fail' || x.status === 'error').map((x) => `${x.control} ${x.status}: ${x.message}`);

describe('blueprint exceptions', () => {
  const cases: Array<[ProtectionProfile, boolean]> = [];
  for (const p of ['basic', 'standard', 'high'] as ProtectionProfile[])
    for (const local of [false, true]) cases.push([p, local]);

  test.each(cases)(
    'profile %s, local %s: the written output audits with zero fail and zero error',
    async (profile, local) => {
      const spec: BlueprintSpec = { profile, namespaces: [{ name: 'hcb-demo' }], local: local ? LOCAL : undefined };
      const { findings, exceptions } = await auditWritten(spec);
      // exceptions.yaml holds exactly the blueprint's exceptions, its built-in ones first.
      expect(exceptions).toEqual(synthesizeBlueprint(spec).exceptions);
      expect(exceptions.slice(0, BLUEPRINT_EXCEPTIONS.length)).toEqual(BLUEPRINT_EXCEPTIONS);
      expect(failing(findings)).toEqual([]);
      const staticPods = findings.filter((f) => f.control === STATIC_POD_PATH);
      expect(staticPods).toHaveLength(1);
      // The control-plane kubelet keeps staticPodPath: not applicable there (kubeadm's InitConfiguration
      // says it is a control-plane node), without an exception.
      expect(staticPods[0].status).toBe('not-applicable');
      expect(staticPods[0].object?.kind).toBe('KubeletConfiguration');
      expect(staticPods[0].message).toContain('kubeadm InitConfiguration');
      expect(staticPods[0].exception).toBeUndefined();
      // Nothing else is accepted except by an exception the blueprint itself carries.
      const carried = new Set(exceptions.map((e) => e.control));
      expect(findings.filter((f) => f.status === 'accepted' && !carried.has(f.control)).map((f) => f.control)).toEqual(
        [],
      );
    },
  );

  test('the exceptions.yaml inside the audited directory is not applied by itself and is no subject of any control', async () => {
    const { findings } = await auditWritten({ namespaces: [{ name: 'hcb-demo' }] }, { withExceptions: false });
    expect(failing(findings)).toEqual([]);
    expect(findings.filter((f) => f.object?.file === 'out/exceptions.yaml')).toEqual([]);
  });

  test('exceptions.yaml is a ControlExceptionList with fixed dates: the same bytes on every synthesis', async () => {
    const own: ControlException = {
      control: 'HCB-WORKLOAD-PROBES',
      scope: { namespace: 'batch' },
      justification: 'batch jobs have no endpoint',
      owner: 'team-batch',
      expires: '2027-03-31',
    };
    const a = await auditWritten({ exceptions: [own] });
    const b = await auditWritten({ exceptions: [own] });
    const text = await fs.readFile(path.join(a.dir, 'out', 'exceptions.yaml'), 'utf8');
    expect(await fs.readFile(path.join(b.dir, 'out', 'exceptions.yaml'), 'utf8')).toBe(text);
    expect(text).toMatch(/^apiVersion: hcb\.dev\/v1alpha1\nkind: ControlExceptionList\nitems:\n/);
    expect(text).toContain('expires: 2027-03-31');
  });

  test('spec exceptions follow the built-in one and reach exceptions.yaml', async () => {
    const own: ControlException = {
      control: 'HCB-WORKLOAD-PROBES',
      scope: { namespace: 'batch' },
      justification: 'batch jobs have no endpoint',
      owner: 'team-batch',
      expires: '2027-03-31',
      ticket: 'OPS-12',
    };
    const synth = synthesizeBlueprint({ exceptions: [own] });
    expect(synth.exceptions).toEqual([...BLUEPRINT_EXCEPTIONS, own]);
    const { exceptions } = await auditWritten({ exceptions: [own] });
    expect(exceptions).toEqual([...BLUEPRINT_EXCEPTIONS, own]);
  });

  test.each([
    [
      { control: 'HCB-NOPE', scope: {}, justification: 'x', owner: 'y', expires: '2027-01-01' },
      /not a control of the catalogue/,
    ],
    [
      { control: 'HCB-WORKLOAD-PROBES', scope: {}, justification: 'x', owner: '', expires: '2027-01-01' },
      /"owner" is missing/,
    ],
    [
      { control: 'HCB-WORKLOAD-PROBES', scope: {}, justification: 'x', owner: 'y', expires: '2027-02-30' },
      /"expires" must be a real date/,
    ],
    [
      {
        control: 'HCB-WORKLOAD-PROBES',
        scope: { namspace: 'a' },
        justification: 'x',
        owner: 'y',
        expires: '2027-01-01',
      },
      /scope key "namspace"/,
    ],
  ])('an invalid spec exception fails synthesis: %j', (bad, message) => {
    let error: unknown;
    try {
      synthesizeBlueprint({ exceptions: [bad as unknown as ControlException] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BlueprintPropError);
    expect((error as BlueprintPropError).prop).toBe('exceptions[0]');
    expect((error as Error).message).toMatch(message);
  });
});
