// Packaging test: build the package, pack it, install the tarball into a temporary copy of
// examples/app and synthesize the example the way an application repo would.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { buildAndPack } from './pack';

// Build, pack and an npm install: minutes on a loaded 2-core machine; bounded.
jest.setTimeout(900_000);

const ROOT = path.resolve(__dirname, '../../..');

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  } catch (e: any) {
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: e });
  }
}

describe('examples/app consumes the packed package', () => {
  let tmp: string;
  let appDir: string;
  let docs: any[];

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-example-'));
    const tarball = path.basename(buildAndPack(ROOT, tmp));
    expect(fs.existsSync(path.join(tmp, tarball))).toBe(true);

    appDir = path.join(tmp, 'examples', 'app');
    fs.mkdirSync(appDir, { recursive: true });
    for (const f of ['package.json', 'cdk8s.yaml', 'tsconfig.json', 'main.ts']) {
      fs.copyFileSync(path.join(ROOT, 'examples', 'app', f), path.join(appDir, f));
    }
    // The example names the tarball of its version; point it at what was just packed.
    const pkgPath = path.join(appDir, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
    expect(pkg.dependencies['hardened-cluster-blueprint']).toMatch(
      /^file:\.\.\/\.\.\/hardened-cluster-blueprint-.*\.tgz$/,
    );
    pkg.dependencies['hardened-cluster-blueprint'] = `file:../../${tarball}`;
    fs.writeFileSync(pkgPath, JSON.stringify(pkg, null, 2));

    try {
      run('npm', ['install', '--offline', '--no-audit', '--no-fund'], appDir);
    } catch {
      run('npm', ['install', '--no-audit', '--no-fund'], appDir);
    }
    run('npm', ['run', 'synth'], appDir);
    // Two charts: the platform's (namespace, RBAC, NetworkPolicies) and the pipeline's (workload).
    expect(fs.readdirSync(path.join(appDir, 'cdk8s.out')).sort()).toEqual([
      'shop-app.k8s.yaml',
      'shop-platform.k8s.yaml',
    ]);
    docs = ['shop-platform', 'shop-app'].flatMap((chart) =>
      parseAllDocuments(fs.readFileSync(path.join(appDir, 'cdk8s.out', `${chart}.k8s.yaml`), 'utf8'))
        .map((d) => ({ ...(d.toJSON() as object), chart }) as any)
        .filter((d) => d.kind),
    );
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const find = (kind: string, name?: string) => {
    const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
    expect(found).toHaveLength(1);
    return found[0];
  };

  test('the package ships compiled constructs with types and no tests', () => {
    const installed = path.join(appDir, 'node_modules', 'hardened-cluster-blueprint');
    expect(fs.existsSync(path.join(installed, 'dist', 'constructs', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist', 'constructs', 'index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist', 'test'))).toBe(false);
  });

  test('the hardened namespace is in the output', () => {
    const ns = find('Namespace', 'shop');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(ns.metadata.labels['hcb.dev/protection-need']).toBe('high');
    expect(find('NetworkPolicy', 'hcb-default-deny').spec.policyTypes).toEqual(['Ingress', 'Egress']);
    find('NetworkPolicy', 'hcb-allow-dns');
    find('ResourceQuota', 'hcb-quota');
    find('LimitRange', 'hcb-limits');
    expect(find('ServiceAccount', 'default').automountServiceAccountToken).toBe(false);
  });

  test('the hardened workload is in the output and passes the workload controls', () => {
    const d = find('Deployment', 'web');
    const spec = d.spec.template.spec;
    expect(d.spec.replicas).toBe(2);
    expect(spec.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'] });
    expect(spec.containers[0].securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(spec.initContainers[0].name).toBe('render-config');
    // Audit with the installed package's policies entry, as an app repo's own tests would (the
    // constructs' internal pod checks are not part of the public API).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package as installed in the scratch app, resolved at run time
    const policies = require(require.resolve('hardened-cluster-blueprint/policies', { paths: [appDir] }));
    const findings: Array<{ control: string; status: string; object?: { name?: string } }> = policies.evaluate(
      docs.map(({ chart: _chart, ...object }) => ({ object, source: {} })),
    );
    const workload = findings.filter((f) => f.control.startsWith('HCB-WORKLOAD-') && f.object?.name === 'web');
    expect(workload.filter((f) => f.status === 'pass').length).toBeGreaterThan(5);
    expect(workload.filter((f) => f.status === 'fail' || f.status === 'error')).toEqual([]);
    expect(find('PodDisruptionBudget', 'web').chart).toBe('shop-app');
    expect(find('Service', 'web').chart).toBe('shop-app');
    expect(find('NetworkPolicy', 'web-expose').chart).toBe('shop-platform');
    expect(find('NetworkPolicy', 'allow-web-to-db').chart).toBe('shop-platform');
    for (const doc of docs) expect(doc.metadata.annotations['hcb.dev/construct-path'].split('/')[0]).toBe(doc.chart);
    // The whole audit (every control) of both charts as installed: no fail, no error.
    const all: Array<{ status: string; control: string }> = policies.evaluate(
      docs.map(({ chart: _chart, ...object }) => ({ object, source: {} })),
    );
    expect(all.filter((f) => f.status === 'fail' || f.status === 'error')).toEqual([]);
  });
});
