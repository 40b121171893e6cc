/**
 * Findings on the blueprint's own cluster objects name the construct that rendered them
 * (annotation hcb.dev/construct-path), in the JSON result (object.constructPath), the terminal
 * report and the Markdown report, so a failure says which construct prop to change.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runAudit } from '../../../cli/commands/audit';
import { writeSynthOutput } from '../../../cli/commands/synth';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { JsonReport } from '../../../policies/report';
import { fakeIo } from './io';

const NOW = '2026-11-22T00:00:00Z';
const NAMESPACE_PATH = 'hcb/cluster/payments/Namespace';
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcb-construct-path-'));
  writeSynthOutput(path.join(dir, 'out'), synthesizeBlueprint({ namespaces: [{ name: 'payments' }] }));
  // A drifted copy: someone lowered the namespace's Pod Security level by hand.
  const cluster = await fs.readFile(path.join(dir, 'out', 'cluster.yaml'), 'utf8');
  expect(cluster).toContain(`hcb.dev/construct-path: ${NAMESPACE_PATH}\n`);
  const drifted = cluster.replace(
    'pod-security.kubernetes.io/enforce: restricted',
    'pod-security.kubernetes.io/enforce: privileged',
  );
  expect(drifted).not.toBe(cluster);
  await fs.mkdir(path.join(dir, 'drifted'));
  await fs.writeFile(path.join(dir, 'drifted', 'cluster.yaml'), drifted);
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

async function audit(args: string[]): Promise<{ code: number; out: string }> {
  const io = fakeIo(dir);
  const code = await runAudit([...args, '--now', NOW], io);
  return { code, out: io.out() };
}

describe('construct paths in audit output', () => {
  it('JSON: every result on a cluster object of the blueprint carries its construct path; config files carry null', async () => {
    const { code, out } = await audit(['out', '--exceptions', 'out/exceptions.yaml', '--format', 'json']);
    expect(code).toBe(0);
    const results = (JSON.parse(out) as JsonReport).results;
    const cluster = results.filter((r) => r.object.file === 'out/cluster.yaml');
    expect(cluster.length).toBeGreaterThan(5);
    for (const r of cluster)
      expect([r.control, r.object.kind, r.object.constructPath]).toEqual([
        r.control,
        r.object.kind,
        expect.stringMatching(/^hcb\/cluster\/(payments|system-service-accounts)\//),
      ]);
    expect(cluster.find((r) => r.object.kind === 'Namespace')?.object.constructPath).toBe(NAMESPACE_PATH);
    for (const r of results.filter((x) => x.object.file === 'out/control-plane.yaml'))
      expect(r.object.constructPath).toBeNull();
  });

  it('JSON: the failure on a drifted object names the construct', async () => {
    const { code, out } = await audit(['drifted', '--format', 'json']);
    expect(code).toBe(1);
    const failed = (JSON.parse(out) as JsonReport).results.filter(
      (r) => r.status === 'fail' && r.control === 'HCB-NAMESPACE-POD-SECURITY-LABELS',
    );
    expect(failed.map((r) => r.object)).toEqual([
      expect.objectContaining({
        kind: 'Namespace',
        name: 'payments',
        file: 'drifted/cluster.yaml',
        line: 1,
        constructPath: NAMESPACE_PATH,
      }),
    ]);
  });

  it('terminal: the failure lists file, line and construct', async () => {
    const { out } = await audit(['drifted']);
    const block = out.slice(out.indexOf('HCB-NAMESPACE-POD-SECURITY-LABELS'));
    expect(block.split('\n')[1]).toBe(`    drifted/cluster.yaml:1 · construct ${NAMESPACE_PATH}`);
  });

  it('Markdown: the failure row names the construct', async () => {
    const { out } = await audit(['drifted', '--format', 'markdown']);
    const row = out.split('\n').find((l) => l.startsWith('| `HCB-NAMESPACE-POD-SECURITY-LABELS`'));
    expect(row).toContain(`\`drifted/cluster.yaml:1\`<br>\`construct ${NAMESPACE_PATH}\``);
  });
});
