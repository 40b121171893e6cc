// The README's install line, taken literally, in a new application repo: the packed tarball and the
// newest cdk8s and constructs the registry serves, then the README example verbatim, compiled with
// strict tsc and run. One copy of `constructs` must result (two copies break construct trees at run
// time: "scope.node._scopes is not iterable").
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { readmeExampleSource } from './readme-example';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../../..');
/** The TypeScript the README names as tested. */
const TYPESCRIPT = '~5.9.0';

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
  } catch (e: any) {
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: e });
  }
}

/** A command that may exit non-zero: its exit status and output. */
function runStatus(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readmeInstallLine(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /```sh\n(npm install hardened-cluster-blueprint[^\n]*)\n```/.exec(readme);
  if (!m) throw new Error('README.md has no ```sh block with "npm install hardened-cluster-blueprint ..."');
  return m[1].trim().split(/\s+/);
}

describe('a new app repo following the README', () => {
  let tmp: string;
  let app: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-scratch-'));
    run('npm', ['run', 'build'], ROOT);
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], ROOT));
    const tarball = path.join(tmp, packed[0].filename as string);
    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    run('npm', ['init', '-y'], app);
    // The README's line with the package name replaced by the tarball just packed.
    const [npm, ...args] = readmeInstallLine();
    expect(npm).toBe('npm');
    run(npm, args.map((a) => (a === 'hardened-cluster-blueprint' ? tarball : a)), app);
    run('npm', ['install', '--save-dev', `typescript@${TYPESCRIPT}`, '@types/node@20'], app);
    fs.writeFileSync(path.join(app, 'main.ts'), readmeExampleSource());
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, outDir: 'out', skipLibCheck: false, esModuleInterop: true } }),
    );
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('one copy of constructs, cdk8s and cdk8s-plus-28 (peer dependencies)', () => {
    const tree = JSON.parse(run('npm', ['ls', '--all', '--json', 'constructs'], app));
    const versions = new Set<string>();
    const walk = (deps: Record<string, any> | undefined) => {
      for (const [name, d] of Object.entries(deps ?? {})) {
        if (name === 'constructs') versions.add(d.version);
        walk(d.dependencies);
      }
    };
    walk(tree.dependencies);
    expect([...versions]).toHaveLength(1);
    const nested = path.join(app, 'node_modules', 'hardened-cluster-blueprint', 'node_modules');
    for (const p of ['constructs', 'cdk8s', 'cdk8s-plus-28']) expect(fs.existsSync(path.join(nested, p))).toBe(false);
    expect(fs.existsSync(path.join(app, 'node_modules', 'cdk8s-plus-28', 'package.json'))).toBe(true);
  });

  test('hardened-cluster-blueprint/policies resolves with classic node resolution (typesVersions) and audits', () => {
    fs.writeFileSync(
      path.join(app, 'audit.ts'),
      "import { evaluate } from 'hardened-cluster-blueprint/policies';\n" +
        "const f = evaluate([{ object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'x' }, spec: { containers: [{ name: 'c', image: 'i', securityContext: { privileged: true } }] } }, source: {} }]);\n" +
        "if (!f.some((x) => x.control === 'HCB-WORKLOAD-PRIVILEGED' && x.status === 'fail')) throw new Error('privileged pod not failed');\n",
    );
    run(path.join(app, 'node_modules', '.bin', 'tsc'), ['--strict', '--module', 'commonjs', '--moduleResolution', 'node10', '--outDir', 'out-audit', 'audit.ts'], app);
    run('node', ['out-audit/audit.js'], app);
  });

  test('shipped source maps carry their sources', () => {
    const map = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'hardened-cluster-blueprint', 'dist', 'constructs', 'blueprint.js.map'), 'utf8'));
    expect(map.sourcesContent?.[0]).toContain('class Blueprint');
    expect(fs.existsSync(path.join(app, 'node_modules', 'hardened-cluster-blueprint', 'LICENSE'))).toBe(true);
  });

  test('the README example compiles with strict tsc (library types checked too) and synthesizes', () => {
    run(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app);
    run('node', ['out/main.js'], app);
    const out = path.join(app, 'dist');
    const files = fs.readdirSync(out).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    const kinds = files.flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(out, f), 'utf8')).map((d) => (d.toJSON() as any)?.kind));
    expect(kinds).toEqual(expect.arrayContaining(['Namespace', 'Deployment', 'NetworkPolicy', 'RoleBinding']));
  });

  describe('the hcb CLI installed from the tarball (npx hcb, the package under node_modules)', () => {
    const hcb = (args: string[], cwd = app) => runStatus('npx', ['--no-install', 'hcb', ...args], cwd);

    test('--version prints the package version', () => {
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
      const r = hcb(['--version']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    });

    test('controls lists the catalogue', () => {
      const r = hcb(['controls']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^CONTROL\s+SEVERITY/);
      expect(r.stdout).toContain('HCB-WORKLOAD-PRIVILEGED');
    });

    test('synth writes the blueprint and audit reads it with the package version in the report', () => {
      const out = path.join(app, 'synth-out');
      const s = hcb(['synth', '--out', out, '--namespace', 'shop']);
      expect(s.stderr).toContain('hcb synth: wrote');
      expect(s.status).toBe(0);
      expect(fs.readdirSync(out).sort()).toEqual(expect.arrayContaining(['cluster.yaml', 'control-plane.yaml', 'exceptions.yaml']));
      // SARIF names the tool's version (the JSON report leaves it out on purpose: it changes only with the findings).
      const a = hcb(['audit', path.join(out, 'cluster.yaml'), '--exceptions', path.join(out, 'exceptions.yaml'), '--format', 'sarif', '--scope', 'workloads,namespaces,rbac']);
      expect(a.stderr).toContain('→ exit 0');
      expect(a.status).toBe(0);
      const sarif = JSON.parse(a.stdout);
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
      expect(sarif.runs[0].tool.driver.semanticVersion).toBe(version);
      expect(sarif.runs[0].results).toEqual([]);
    });

    test('audit of a file fails a privileged pod (exit 1)', () => {
      fs.writeFileSync(path.join(app, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers: [{name: c, image: i, securityContext: {privileged: true}}]\n');
      const a = hcb(['audit', 'pod.yaml', '--format', 'json']);
      expect(a.status).toBe(1);
      expect(JSON.parse(a.stdout).results).toEqual(expect.arrayContaining([expect.objectContaining({ control: 'HCB-WORKLOAD-PRIVILEGED', status: 'fail' })]));
    });

    test("verify's default state directory is the app repo's .hcb/clusters/local, not inside node_modules", () => {
      const v = hcb(['verify', '--format', 'json']);
      expect(v.status).toBe(1);
      const files = new Set((JSON.parse(v.stdout).results as Array<{ object?: { file?: string | null } }>).map((r) => r.object?.file).filter((f) => f?.startsWith('live:/')));
      expect([...files]).toEqual([`live:${path.join(fs.realpathSync(app), '.hcb', 'clusters', 'local')}`]);
    });
  });
});
