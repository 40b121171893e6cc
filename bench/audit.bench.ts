/**
 * Benchmark (not a test): how `hcb audit` scales with the size of the input. For each size N it
 * synthesizes the blueprint with N hardened namespaces, each with one hardened workload (a
 * Deployment, its ServiceAccount, Service and the namespace's policies), writes it like
 * `hcb synth`, and times the three steps of an audit: load (read + parse), evaluate (the whole
 * catalogue, with the blueprint's exceptions) and render (terminal, Markdown, JSON, SARIF).
 * Each size runs in a fresh child process so that its peak RSS is its own.
 *
 *   npx ts-node --transpile-only bench/audit.bench.ts            # sizes 50 and 500
 *   npx ts-node --transpile-only bench/audit.bench.ts 10 100 1000
 */
import { execFileSync } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeSynthOutput } from '../cli/commands/synth';
import { Blueprint } from '../constructs/blueprint';
import { HardenedWorkload, Probe } from '../constructs';
import { evaluate } from '../policies/engine';
import { loadInputs, loadProblemsToFindings } from '../policies/input';
import { RENDERERS, summarizeFindings } from '../policies/report';
import { App } from 'cdk8s';
import type { KubeObject } from '../policies/model';

const DIGEST = '@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const NOW = new Date('2026-11-22T00:00:00Z');

interface Result {
  namespaces: number;
  documents: number;
  bytes: number;
  findings: number;
  failing: number;
  synthMs: number;
  loadMs: number;
  evaluateMs: number;
  renderMs: number;
  peakRssMiB: number;
}

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

async function runOne(n: number): Promise<Result> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcb-bench-'));
  try {
    let t = process.hrtime.bigint();
    const app = new App({ outdir: '/nonexistent-hcb-bench' });
    const names = Array.from({ length: n }, (_, i) => `team-${String(i).padStart(4, '0')}`);
    const blueprint = new Blueprint(app, 'hcb', { namespaces: names.map((name) => ({ name })) });
    for (const ns of names) {
      new HardenedWorkload(blueprint.cluster, `${ns}-api`, {
        namespace: ns,
        containers: [
          {
            name: 'api',
            image: `registry.example.com/${ns}/api${DIGEST}`,
            ports: [{ number: 8080, name: 'http' }],
            liveness: Probe.fromHttpGet('/healthz'),
            readiness: Probe.fromHttpGet('/ready'),
          },
        ],
      });
    }
    writeSynthOutput(path.join(dir, 'out'), {
      clusterObjects: blueprint.cluster.toJson() as KubeObject[],
      nodeFiles: blueprint.controlPlane.nodeFiles,
      configDocuments: [...blueprint.controlPlane.documents, blueprint.controlPlane.nodeFileManifest()],
      namespaceNames: blueprint.namespaces.map((x) => x.namespaceName),
      exceptions: blueprint.exceptions,
    });
    const synthMs = ms(t);
    let bytes = 0;
    for (const f of await fs.readdir(path.join(dir, 'out'))) bytes += (await fs.stat(path.join(dir, 'out', f))).size;

    t = process.hrtime.bigint();
    const loaded = await loadInputs(['out'], { cwd: dir });
    const loadMs = ms(t);

    t = process.hrtime.bigint();
    const findings = [
      ...loadProblemsToFindings(loaded.errors),
      ...evaluate(loaded.documents, { exceptions: blueprint.exceptions, now: NOW }),
    ];
    const evaluateMs = ms(t);

    t = process.hrtime.bigint();
    const summary = summarizeFindings(findings);
    let rendered = 0;
    for (const format of ['terminal', 'markdown', 'json', 'sarif'] as const)
      rendered += RENDERERS[format](findings, summary, {}).length;
    const renderMs = ms(t);
    if (rendered === 0) throw new Error('nothing rendered');

    return {
      namespaces: n,
      documents: loaded.documents.length,
      bytes,
      findings: findings.length,
      failing: findings.filter((f) => f.status === 'fail' || f.status === 'error').length,
      synthMs,
      loadMs,
      evaluateMs,
      renderMs,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function table(results: Result[]): string {
  const head = [
    'namespaces',
    'documents',
    'input KiB',
    'findings',
    'failing',
    'synth ms',
    'load ms',
    'evaluate ms',
    'render ms',
    'audit ms',
    'peak RSS MiB',
  ];
  const rows = results.map((r) =>
    [
      r.namespaces,
      r.documents,
      (r.bytes / 1024).toFixed(0),
      r.findings,
      r.failing,
      r.synthMs.toFixed(0),
      r.loadMs.toFixed(0),
      r.evaluateMs.toFixed(0),
      r.renderMs.toFixed(0),
      (r.loadMs + r.evaluateMs + r.renderMs).toFixed(0),
      r.peakRssMiB.toFixed(0),
    ].map(String),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--one') {
    process.stdout.write(`${JSON.stringify(await runOne(Number(argv[1])))}\n`);
    return;
  }
  const sizes = (argv.length > 0 ? argv : ['50', '500']).map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error('sizes must be positive integers');
  const results: Result[] = [];
  for (const n of sizes) {
    const out = execFileSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', __filename, '--one', String(n)],
      {
        cwd: path.resolve(__dirname, '..'),
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    results.push(JSON.parse(out.trim().split('\n').pop() as string) as Result);
    process.stderr.write(`audit.bench: ${n} namespaces done\n`);
  }
  process.stdout.write(
    `hcb audit benchmark (node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}; audit = load + evaluate + render)\n${table(results)}\n`,
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`audit.bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
