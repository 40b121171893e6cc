/**
 * A throwaway JavaScript build for the benchmarks: every .ts file of constructs/, policies/, cli/,
 * stacks/ and bench/ transpiled (no type check, like ts-node --transpile-only) into OUT with the
 * same layout, package.json copied and node_modules linked. The benchmark then times `node
 * OUT/cli/main.js`, as a user runs the published `hcb` (dist/cli/main.js), without ts-node's
 * start-up cost and without touching the repository's dist/.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOTS = ['constructs', 'policies', 'cli', 'stacks', 'bench'];

export function buildForBench(repo: string, out: string): number {
  const config = ts.readConfigFile(path.join(repo, 'tsconfig.json'), ts.sys.readFile);
  const options = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, repo).options;
  options.sourceMap = false;
  options.declaration = false;
  let n = 0;
  const walk = (rel: string): void => {
    const abs = path.join(repo, rel);
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(r);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts')) {
        const js = ts.transpileModule(fs.readFileSync(path.join(repo, r), 'utf8'), {
          compilerOptions: options,
          fileName: r,
        }).outputText;
        const dest = path.join(out, r.replace(/\.ts$/, '.js'));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, js);
        n++;
      } else if (e.name.endsWith('.json')) {
        const dest = path.join(out, r);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.copyFileSync(path.join(repo, r), dest);
      }
    }
  };
  fs.mkdirSync(out, { recursive: true });
  for (const root of ROOTS) walk(root);
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(out, 'package.json'));
  const link = path.join(out, 'node_modules');
  if (!fs.existsSync(link)) fs.symlinkSync(path.join(repo, 'node_modules'), link);
  return n;
}
