/**
 * The TypeScript example of README.md's "Using the constructs from an application repo", taken
 * from the README itself, so that what readers copy is what the tests type-check, synthesize and
 * (in test/e2e/tenant-live.test.ts) apply to a real API server.
 */
import * as cdk8s from 'cdk8s';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import * as blueprint from '../../../constructs';

const ROOT = path.resolve(__dirname, '../../..');
const SECTION = '## Using the constructs from an application repo';
const PACKAGE = 'hardened-cluster-blueprint';

/** The first ```ts block of the README section. */
export function readmeExampleSource(readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')): string {
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no section "${SECTION}"`);
  const next = readme.indexOf('\n## ', start + SECTION.length);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error(`README.md section "${SECTION}" has no \`\`\`ts block`);
  return m[1];
}

/**
 * Type-checks the example with the repository's compiler options, the package name resolving to
 * this repository's constructs (as the published types would). Returns the diagnostics as text.
 */
export function typeCheckReadmeExample(source = readmeExampleSource()): string[] {
  const file = path.join(ROOT, 'test/unit/examples/__readme_example__.ts'); // virtual: never written
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('cannot read tsconfig.json');
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    declaration: false,
    isolatedModules: false,
    baseUrl: ROOT,
    paths: { [PACKAGE]: ['constructs/index.ts'] },
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === file
      ? ts.createSourceFile(name, source, lang)
      : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => path.resolve(name) === file || fileExists.call(host, name);
  host.readFile = (name) => (path.resolve(name) === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const diagnostics = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()].filter(
    (d) => d.file && path.resolve(d.file.fileName) === file,
  );
  return diagnostics.map((d) => {
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    return `README example line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

/** Runs the example as an application would (`app.synth()` included) and returns what it wrote. */
export function runReadmeExample(source = readmeExampleSource()): Array<Record<string, any>> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-readme-'));
  try {
    // The example's `new App()` writes into the temporary directory instead of ./dist.
    class App extends cdk8s.App {
      constructor(props: cdk8s.AppProps = {}) {
        super({ ...props, outdir });
      }
    }
    const modules: Record<string, unknown> = { cdk8s: { ...cdk8s, App }, [PACKAGE]: blueprint };
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const fakeRequire = (name: string) => {
      if (!(name in modules)) throw new Error(`the README example imports "${name}", which this test does not provide`);
      return modules[name];
    };
    const module = { exports: {} };
    new Function('require', 'module', 'exports', js)(fakeRequire, module, module.exports);
    const files = fs
      .readdirSync(outdir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    if (files.length === 0) throw new Error('the README example wrote no manifests (does it call app.synth()?)');
    return files
      .flatMap((f) =>
        parseAllDocuments(fs.readFileSync(path.join(outdir, f), 'utf8')).map((d) => d.toJS() as Record<string, any>),
      )
      .filter((o) => o !== null);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
