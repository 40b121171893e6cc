/** The repository's cdk8s app (what `cdk8s synth` runs, per cdk8s.yaml) writes the cluster chart. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';

jest.setTimeout(60_000);

test('cdk8s.yaml names an app that synthesizes the hardened namespace', () => {
  const root = path.resolve(__dirname, '../../..');
  const app = /^app:\s*(.+)$/m.exec(fs.readFileSync(path.join(root, 'cdk8s.yaml'), 'utf8'))![1];
  expect(app).toContain('cli/synth-app.ts');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-cdk8s-app-'));
  try {
    execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(root, 'cli/synth-app.ts')], {
      cwd: root,
      env: { ...process.env, CDK8S_OUTDIR: out },
      stdio: 'pipe',
    });
    const files = fs.readdirSync(out).filter((f) => f.endsWith('.k8s.yaml'));
    expect(files.length).toBe(1);
    const kinds = parseAllDocuments(fs.readFileSync(path.join(out, files[0]), 'utf8')).map(
      (d) => (d.toJS() as { kind: string }).kind,
    );
    expect(kinds).toEqual(
      expect.arrayContaining(['Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'ServiceAccount']),
    );
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
