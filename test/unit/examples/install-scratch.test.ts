// The README's install line, taken literally, in a new application repo: the packed tarball and the
// newest cdk8s and constructs the registry serves, then the README example verbatim, compiled with
// strict tsc and run. One copy of `constructs` must result (two copies break construct trees at run
// time: "scope.node._scopes is not iterable").
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { builtinModules } from 'module';
import { parseAllDocuments } from 'yaml';
import { buildAndPack } from './pack';
import { readmeExampleSource } from './readme-example';

// Build, pack and three npm installs: minutes on a loaded 2-core machine; bounded.
jest.setTimeout(1_200_000);

const ROOT = path.resolve(__dirname, '../../..');
/** The TypeScript the README names as tested. */
const TYPESCRIPT = '~5.9.0';

/**
 * Requires of shipped modules that name an undeclared package on purpose, each with its reason.
 * (ssh2, the hosts target's SSH transport, is an optional peer dependency: declared.)
 */
const UNDECLARED_ON_PURPOSE: Record<string, string> = {
  'dist/stacks/local/resource.js ts-node':
    'loaded only when the runner module is a .ts file (this repository run from source)',
  'dist/stacks/hosts/target.js ts-node':
    'loaded only when the bring-up/join module is a .ts file (this repository run from source)',
};

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
    });
  } catch (e: any) {
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: e });
  }
}

/** A command that may exit non-zero: its exit status and output. */
function runStatus(
  cmd: string,
  args: string[],
  cwd: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readmeInstallLine(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /```sh\n(npm install hardened-cluster-blueprint[^\n]*)\n```/.exec(readme);
  if (!m) throw new Error('README.md has no ```sh block with "npm install hardened-cluster-blueprint ..."');
  return m[1].trim().split(/\s+/);
}

let tmp: string;
let tarball: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-scratch-'));
  tarball = buildAndPack(ROOT, tmp);
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('a new app repo following the README', () => {
  let app: string;

  beforeAll(() => {
    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    run('npm', ['init', '-y'], app);
    // The README's line with the package name replaced by the tarball just packed.
    const [npm, ...args] = readmeInstallLine();
    expect(npm).toBe('npm');
    run(
      npm,
      args.map((a) => (a === 'hardened-cluster-blueprint' ? tarball : a)),
      app,
    );
    run('npm', ['install', '--save-dev', `typescript@${TYPESCRIPT}`, '@types/node@20'], app);
    fs.writeFileSync(path.join(app, 'main.ts'), readmeExampleSource());
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'commonjs',
          strict: true,
          outDir: 'out',
          skipLibCheck: false,
          esModuleInterop: true,
        },
      }),
    );
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
    run(
      path.join(app, 'node_modules', '.bin', 'tsc'),
      ['--strict', '--module', 'commonjs', '--moduleResolution', 'node10', '--outDir', 'out-audit', 'audit.ts'],
      app,
    );
    run('node', ['out-audit/audit.js'], app);
  });

  test('hardened-cluster-blueprint/policies resolves under node16 (exports, compiled and run) and bundler (type-checked)', () => {
    // audit.ts from the test above: the same import, now through package.json "exports".
    run(
      path.join(app, 'node_modules', '.bin', 'tsc'),
      ['--strict', '--module', 'node16', '--moduleResolution', 'node16', '--outDir', 'out-audit16', 'audit.ts'],
      app,
    );
    run('node', ['out-audit16/audit.js'], app);
    run(
      path.join(app, 'node_modules', '.bin', 'tsc'),
      ['--strict', '--module', 'esnext', '--moduleResolution', 'bundler', '--noEmit', 'audit.ts'],
      app,
    );
  });

  test('every module the package ships loads: relative requires and source maps resolve inside the package, bare requires are declared', () => {
    const pkgDir = path.join(app, 'node_modules', 'hardened-cluster-blueprint');
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    const shipped = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else shipped.add(path.relative(pkgDir, p));
      }
    };
    walk(path.join(pkgDir, 'dist'));
    const problems: string[] = [];
    for (const file of [...shipped].filter((f) => f.endsWith('.js')).sort()) {
      const src = fs.readFileSync(path.join(pkgDir, file), 'utf8');
      for (const [, spec] of src.matchAll(/require\(["']([^"']+)["']\)/g)) {
        if (spec.startsWith('.')) {
          const base = path.normalize(path.join(path.dirname(file), spec));
          if (![base, `${base}.js`, `${base}.json`, path.join(base, 'index.js')].some((c) => shipped.has(c)))
            problems.push(`${file}: require('${spec}') is not in the package`);
          continue;
        }
        const name = spec
          .replace(/^node:/, '')
          .split('/')
          .slice(0, spec.startsWith('@') ? 2 : 1)
          .join('/');
        if (builtinModules.includes(name) || declared.has(name) || UNDECLARED_ON_PURPOSE[`${file} ${name}`]) continue;
        problems.push(`${file}: require('${spec}') is neither a Node.js module nor a dependency or peer dependency`);
      }
      const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(src)?.[1];
      if (map && !map.startsWith('data:') && !shipped.has(path.normalize(path.join(path.dirname(file), map))))
        problems.push(`${file}: its source map ${map} is not in the package`);
    }
    // ssh2 is declared as an optional peer (only the hosts target loads it).
    expect([pkg.peerDependencies?.ssh2, pkg.peerDependenciesMeta?.ssh2?.optional]).toEqual([
      expect.stringMatching(/^\^1\./),
      true,
    ]);
    // The hosts backup builds its host program from tools/hosts (standard library only, so no
    // module download): its Go sources are in the package.
    for (const f of ['tools/hosts/go.mod', 'tools/hosts/host-backup/main.go'])
      if (!fs.existsSync(path.join(pkgDir, f))) problems.push(`${f} is not in the package`);
    if (
      fs.existsSync(path.join(pkgDir, 'tools/hosts/go.mod')) &&
      /^\s*require\b/m.test(fs.readFileSync(path.join(pkgDir, 'tools/hosts/go.mod'), 'utf8'))
    ) {
      problems.push('tools/hosts/go.mod requires modules: an installed package would have to download them');
    }
    // Every entry point package.json names exists.
    const targets = [
      pkg.main,
      pkg.types,
      ...Object.values(pkg.bin ?? {}),
      ...Object.values(pkg.exports ?? {}).flatMap((e) =>
        typeof e === 'string' ? [e] : Object.values(e as Record<string, string>),
      ),
    ];
    for (const t of targets as string[])
      if (!fs.existsSync(path.join(pkgDir, t))) problems.push(`package.json names ${t}, which is not in the package`);
    expect(problems).toEqual([]);
  });

  test('shipped source maps carry their sources', () => {
    const map = JSON.parse(
      fs.readFileSync(
        path.join(app, 'node_modules', 'hardened-cluster-blueprint', 'dist', 'constructs', 'blueprint.js.map'),
        'utf8',
      ),
    );
    expect(map.sourcesContent?.[0]).toContain('class Blueprint');
    expect(fs.existsSync(path.join(app, 'node_modules', 'hardened-cluster-blueprint', 'LICENSE'))).toBe(true);
  });

  test('the README example compiles with strict tsc (library types checked too) and synthesizes', () => {
    run(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app);
    run('node', ['out/main.js'], app);
    const out = path.join(app, 'dist');
    const files = fs.readdirSync(out).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    const kinds = files.flatMap((f) =>
      parseAllDocuments(fs.readFileSync(path.join(out, f), 'utf8')).map((d) => (d.toJSON() as any)?.kind),
    );
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
      expect(fs.readdirSync(out).sort()).toEqual(
        expect.arrayContaining(['cluster.yaml', 'control-plane.yaml', 'exceptions.yaml']),
      );
      // SARIF names the tool's version (the JSON report leaves it out on purpose: it changes only with the findings).
      const a = hcb([
        'audit',
        path.join(out, 'cluster.yaml'),
        '--exceptions',
        path.join(out, 'exceptions.yaml'),
        '--format',
        'sarif',
        '--scope',
        'workloads,namespaces,rbac',
      ]);
      expect(a.stderr).toContain('→ exit 0');
      expect(a.status).toBe(0);
      const sarif = JSON.parse(a.stdout);
      const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
      expect(sarif.runs[0].tool.driver.semanticVersion).toBe(version);
      expect(sarif.runs[0].results).toEqual([]);
    });

    test('audit of a file fails a privileged pod (exit 1)', () => {
      fs.writeFileSync(
        path.join(app, 'pod.yaml'),
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers: [{name: c, image: i, securityContext: {privileged: true}}]\n',
      );
      const a = hcb(['audit', 'pod.yaml', '--format', 'json']);
      expect(a.status).toBe(1);
      expect(JSON.parse(a.stdout).results).toEqual(
        expect.arrayContaining([expect.objectContaining({ control: 'HCB-WORKLOAD-PRIVILEGED', status: 'fail' })]),
      );
    });

    test("verify's default state directory is the app repo's .hcb/clusters/local, not inside node_modules", () => {
      const v = hcb(['verify', '--format', 'json']);
      expect(v.status).toBe(1);
      const files = new Set(
        (JSON.parse(v.stdout).results as Array<{ object?: { file?: string | null } }>)
          .map((r) => r.object?.file)
          .filter((f) => f?.startsWith('live:/')),
      );
      expect([...files]).toEqual([`live:${path.join(fs.realpathSync(app), '.hcb', 'clusters', 'local')}`]);
    });
  });
});

// An app that already uses a newer cdk8s-plus (issue 11): its own Probe and EnvValue types go into
// our constructs without a cast, under strict tsc with the libraries' types checked, and the
// synthesized chart (our workload beside the app's own cdk8s-plus objects) audits clean. One app
// holds both newer majors (cdk8s-plus-33 and cdk8s-plus-34, one install) with one program each.
const NEWER_PLUS_MAJORS = [33, 34] as const;

describe('an app repo on cdk8s-plus-33 or cdk8s-plus-34 uses its own cdk8s-plus types with our constructs', () => {
  let app: string;

  beforeAll(() => {
    app = path.join(tmp, 'app-plus-newer');
    fs.mkdirSync(app);
    run('npm', ['init', '-y'], app);
    const [npm, ...args] = readmeInstallLine();
    run(
      npm,
      [
        ...args.map((a) => (a === 'hardened-cluster-blueprint' ? tarball : a)),
        ...NEWER_PLUS_MAJORS.map((m) => `cdk8s-plus-${m}`),
      ],
      app,
    );
    run('npm', ['install', '--save-dev', `typescript@${TYPESCRIPT}`, '@types/node@20'], app);
    for (const major of NEWER_PLUS_MAJORS) fs.writeFileSync(path.join(app, `plus${major}.ts`), newerPlusApp(major));
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'commonjs',
          strict: true,
          outDir: 'out',
          skipLibCheck: false,
          esModuleInterop: true,
        },
      }),
    );
    // Both programs in one strict compile, the libraries' own .d.ts included.
    run(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app);
  });

  test('one copy of constructs and cdk8s beside every cdk8s-plus major', () => {
    const nested = path.join(app, 'node_modules', 'hardened-cluster-blueprint', 'node_modules');
    const plusMajors = ['cdk8s-plus-28', ...NEWER_PLUS_MAJORS.map((m) => `cdk8s-plus-${m}`)];
    for (const p of ['constructs', 'cdk8s', ...plusMajors]) expect(fs.existsSync(path.join(nested, p))).toBe(false);
    for (const p of plusMajors) expect(fs.existsSync(path.join(app, 'node_modules', p, 'package.json'))).toBe(true);
  });

  test.each(NEWER_PLUS_MAJORS)(
    'cdk8s-plus-%i: compiles with strict tsc, synthesizes, renders its probes and env values, audits clean',
    (major) => {
      run('node', [`out/plus${major}.js`], app);
      const outdir = path.join(app, `dist-plus${major}`);
      const docs = parseAllDocuments(fs.readFileSync(path.join(outdir, 'shop.k8s.yaml'), 'utf8'))
        .map((d) => d.toJSON() as any)
        .filter(Boolean);
      const deployment = (name: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name);
      const web = deployment('web').spec.template.spec.containers[0];
      expect(web.livenessProbe).toEqual({
        failureThreshold: 3,
        httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
      });
      expect(web.readinessProbe).toEqual({ failureThreshold: 3, tcpSocket: { port: 8080 } });
      expect(web.startupProbe).toEqual({ failureThreshold: 30, grpc: { port: 8080 }, periodSeconds: 2 });
      expect(web.env).toEqual([
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'shop-settings', key: 'mode' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'REGION', value: 'eu-central' },
      ]);
      const worker = deployment('worker').spec.template.spec.containers[0];
      expect(worker.livenessProbe).toEqual({ exec: { command: ['/bin/alive'] }, periodSeconds: 30 });
      expect(worker.readinessProbe).toEqual({ httpGet: { path: '/ready', port: 9090, scheme: 'HTTP' } });
      expect(docs.find((d) => d.kind === 'ConfigMap')?.metadata.name).toBe('shop-settings');
      // The programmatic audit from the installed package, app scope (workloads, namespaces, RBAC).
      const audit = JSON.parse(fs.readFileSync(path.join(outdir, 'audit.json'), 'utf8'));
      expect(audit.failures).toEqual([]);
      expect(audit.passed).toBeGreaterThan(20);
    },
  );
});

/** The app program on cdk8s-plus-<major>, synthesizing into dist-plus<major>/. */
function newerPlusApp(major: number): string {
  const outdir = `dist-plus${major}`;
  return `import * as fs from 'fs';
import { App, Chart, Duration } from 'cdk8s';
import * as plus from 'cdk8s-plus-${major}';
import { auditApp, HardenedNamespace, HardenedWorkload } from 'hardened-cluster-blueprint';

const app = new App({ outdir: '${outdir}' });
const chart = new Chart(app, 'shop');
const ns = new HardenedNamespace(chart, 'shop', { app: 'shop', team: 'shop-team', environment: 'prod', protectionNeed: 'normal' });

// The app's own cdk8s-plus-${major} objects beside ours.
const settings = new plus.ConfigMap(chart, 'settings', { metadata: { name: 'shop-settings', namespace: ns.namespaceName }, data: { mode: 'live' } });

new HardenedWorkload(chart, 'web', {
  namespace: ns.namespaceName,
  containers: [{
    name: 'web',
    image: 'registry.example.com/shop/web@sha256:${'0f1e2d3c'.repeat(8)}',
    ports: [{ number: 8080, name: 'http' }],
    liveness: plus.Probe.fromHttpGet('/healthz'),
    readiness: plus.Probe.fromTcpSocket(),
    startup: plus.Probe.fromGrpc({ failureThreshold: 30, periodSeconds: Duration.seconds(2) }),
    env: {
      MODE: plus.EnvValue.fromConfigMap(settings, 'mode'),
      POD_NAME: plus.EnvValue.fromFieldRef(plus.EnvFieldPaths.POD_NAME),
      REGION: plus.EnvValue.fromValue('eu-central'),
    },
    writablePaths: ['/tmp'],
  }],
});

// Plain probe objects need no cdk8s-plus at all.
new HardenedWorkload(chart, 'worker', {
  namespace: ns.namespaceName,
  containers: [{
    name: 'worker',
    image: 'registry.example.com/shop/worker@sha256:${'a1b2c3d4'.repeat(8)}',
    ports: [{ number: 9090, name: 'metrics' }],
    liveness: { exec: { command: ['/bin/alive'] }, periodSeconds: 30 },
    readiness: { httpGet: { path: '/ready' } },
  }],
});

app.synth();
const result = auditApp(app);
fs.writeFileSync('${outdir}/audit.json', JSON.stringify({
  failures: result.failures.map((f) => \`\${f.control} \${f.object?.kind}/\${f.object?.name}: \${f.message}\`),
  passed: result.findings.filter((f) => f.status === 'pass').length,
}));
`;
}
