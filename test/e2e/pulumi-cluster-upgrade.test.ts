/**
 * Upgrading a stack made before `hcb:index:Cluster`: the local stack is created with the program as
 * it was (test/e2e/fixtures/pre-component-program.ts.txt: the control plane, the provider and the
 * cluster objects with the stack as parent), then `pulumi up` runs the current program
 * (stacks/index.ts). The aliases move every resource under the component: nothing is replaced or
 * deleted, the control-plane processes keep running (same pids), and a further `up` changes nothing.
 *
 * Control plane only (hcb:node false) on ports 47700-47705 (this file's range is 47700-47709).
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  installProvider,
  mustRun,
  processAlive,
  pulumiEnv,
  REPO,
  run,
  tempDir,
  tempProject,
  toolchainBin,
} from './support/env';

jest.setTimeout(1_200_000);

const PORTS = {
  apiServerPort: 47700,
  etcdClientPort: 47701,
  etcdPeerPort: 47702,
  etcdMetricsPort: 47703,
  controllerManagerPort: 47704,
  schedulerPort: 47705,
};
const NAMESPACE = 'hcb-e2e-upgrade';

const bin = toolchainBin();
const home = tempDir('pulumi-upgrade');
const project = tempProject();
const stateDir = path.join(home, 'cluster');
const env = pulumiEnv(home, bin);
const pulumi = (args: string[]) =>
  mustRun(path.join(bin, 'pulumi'), ['--non-interactive', ...args], { cwd: project, env });
let destroyed = false;

/** Points the project's Pulumi.yaml at a program. */
function useProgram(main: string): void {
  const file = path.join(project, 'Pulumi.yaml');
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace(/^main: .*$/m, `main: ${main}`));
}

function pids(): number[] {
  const dir = path.join(stateDir, 'run');
  return fs
    .readdirSync(dir)
    .map((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { pid: number }).pid)
    .sort((a, b) => a - b);
}

beforeAll(() => {
  fs.mkdirSync(path.join(project, 'legacy'));
  fs.copyFileSync(
    path.join(REPO, 'test/e2e/fixtures/pre-component-program.ts.txt'),
    path.join(project, 'legacy', 'index.ts'),
  );
  installProvider(bin, project, env);
  pulumi(['stack', 'init', 'local']);
  pulumi(['config', 'set', 'stateDir', stateDir]);
  pulumi(['config', 'set', 'node', 'false']);
  pulumi(['config', 'set', '--path', 'namespaces[0]', NAMESPACE]);
  for (const [k, v] of Object.entries(PORTS)) pulumi(['config', 'set', k, String(v)]);
});

afterAll(() => {
  if (!destroyed) {
    useProgram('stacks/index.ts');
    const r = run(path.join(bin, 'pulumi'), ['--non-interactive', 'destroy', '--yes', '--skip-preview'], {
      cwd: project,
      env,
    });
    if (r.status !== 0) process.stderr.write(`pulumi-cluster-upgrade: destroy failed:\n${r.stdout}\n${r.stderr}\n`);
  }
  fs.rmSync(project, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

test('a stack made before the Cluster component upgrades in place: nothing replaced, the control plane keeps running', () => {
  useProgram('legacy/index.ts');
  const first = pulumi(['up', '--yes', '--skip-preview']);
  expect(first).toMatch(/\+ \d+ created/);
  const before = JSON.parse(pulumi(['stack', 'export'])) as { deployment: { resources: Array<{ urn: string }> } };
  expect(before.deployment.resources.map((r) => r.urn)).toContain(
    'urn:pulumi:local::hcb::pulumi-nodejs:dynamic/hcb:LocalControlPlane::local-control-plane',
  );
  const running = pids();
  expect(running.length).toBeGreaterThan(2);

  useProgram('stacks/index.ts');
  const preview = pulumi(['preview', '--diff']);
  expect(preview).not.toMatch(/replace|delete/i);
  const out = pulumi(['up', '--yes', '--skip-preview']);
  expect(out).not.toMatch(/\d+ (replaced|deleted)/);
  // Only the component itself is new; every other resource keeps its state under a new URN.
  expect(out).toMatch(/\+ 1 created/);
  const after = JSON.parse(pulumi(['stack', 'export'])) as {
    deployment: { resources: Array<{ urn: string; parent?: string }> };
  };
  const urns = after.deployment.resources.map((r) => r.urn);
  expect(urns).toContain(
    'urn:pulumi:local::hcb::hcb:index:Cluster$pulumi-nodejs:dynamic/hcb:LocalControlPlane::local-control-plane',
  );
  expect(urns).not.toContain('urn:pulumi:local::hcb::pulumi-nodejs:dynamic/hcb:LocalControlPlane::local-control-plane');
  expect(
    urns
      .filter((u) => u.includes('kubernetes:core/v1:Namespace::'))
      .every((u) => u.includes('hcb:index:Cluster$kubernetes:yaml:ConfigGroup$')),
  ).toBe(true);
  expect(pids()).toEqual(running);
  for (const pid of running) expect(processAlive(pid)).toBe(true);

  const again = pulumi(['up', '--yes', '--skip-preview', '--expect-no-changes']);
  expect(again).toMatch(/\d+ unchanged/);
  // The new outputs are there.
  expect(pulumi(['stack', 'output', 'apiEndpoint']).trim()).toBe(`https://127.0.0.1:${PORTS.apiServerPort}`);
  expect(JSON.parse(pulumi(['stack', 'output', 'compliance', '--json'])).total).toBeGreaterThan(100);

  pulumi(['destroy', '--yes', '--skip-preview']);
  destroyed = true;
  for (const pid of running) expect(processAlive(pid)).toBe(false);
});
