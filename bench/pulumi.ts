/**
 * Pulumi scaling (issue 13): the project's own program (stacks/index.ts) on the local target
 * without the node (hcb:node false: the control plane only, workloads are stored but never run),
 * with N hardened namespaces from hcb:namespaces. For each N, in a throwaway copy of the project
 * with its own Pulumi home and file backend (as the e2e tests do) and the control plane on loopback
 * ports 47620-47625:
 *   preview (empty stack), up (everything created), preview again (nothing to change),
 *   up again (nothing to change), destroy (objects deleted, control plane stopped and purged).
 * Each step is timed under /usr/bin/time (wall, CPU of pulumi and the programs it waits for, peak
 * RSS of the largest). Time per resource = wall / Kubernetes resources in the stack. The same
 * steps run `repetitions` times per N, each from an empty stack.
 *
 * Variants, for each N and repetition back to back (same load, which goes first rotating):
 * - hand-offs (stacks/apply.ts `handOff`, chosen in the program by HCB_PULUMI_HANDOFF):
 *   `configgroup` (k8s.yaml.ConfigGroup, the product) and `yaml-v2` (k8s.yaml.v2.ConfigGroup,
 *   constructed by the provider). Both give one Pulumi resource per object;
 * - checkpointing: `configgroup` again with PULUMI_SKIP_CHECKPOINTS=true (the state written once at
 *   the end, not after every resource operation), to measure what checkpointing costs.
 * At LARGE_SIZE and above only `configgroup` runs, with the final checkpoint only unless
 * HCB_BENCH_PULUMI_LARGE_CHECKPOINTS=every-step. Every step is bounded (STEP_TIMEOUT_MS) as a
 * process group (bench/bounded.ts), so the CLI's plugins stop with it.
 *
 *   npx ts-node --transpile-only bench/pulumi.ts [N...]   (prints JSON; default 50 500)
 *   HCB_BENCH_PULUMI_HANDOFFS=configgroup,yaml-v2 (default both), HCB_BENCH_PULUMI_REPS=3,
 *   HCB_BENCH_PULUMI_CHECKPOINT_COMPARE=false (no final-checkpoint-only variant below LARGE_SIZE)
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalControlPlane, localEndpointsFrom } from '../stacks/local/control-plane';
import { runBounded } from './bounded';
import type { Handoff } from '../stacks/apply';

export const HANDOFFS: Handoff[] = ['configgroup', 'yaml-v2'];
/**
 * How often the Pulumi CLI writes the stack's state: after every resource operation (its default),
 * or once at the end (PULUMI_SKIP_CHECKPOINTS=true; read in pkg/backend/snapshot.go of v3.184.0, the CLI built here: the
 * state is then saved when the update ends, also when it fails or is interrupted, but not if the
 * CLI itself is killed). With the file backend every write is the whole state, so the default
 * costs O(resources) per operation.
 */
export type Checkpoints = 'every-step' | 'final';
/** From this many namespaces on, only the product's hand-off runs (HCB_BENCH_PULUMI_LARGE_REPS times). */
export const LARGE_SIZE = 500;

const REPO = path.resolve(__dirname, '..');
const TIME = '/usr/bin/time';
export const PULUMI_BASE_PORT = 47620;
const STEP_TIMEOUT_MS = 60 * 60 * 1000;

export interface PulumiStep {
  step: 'preview' | 'up' | 'preview-unchanged' | 'up-unchanged' | 'destroy';
  wallMs: number;
  cpuMs?: number;
  rssMiB?: number;
  status: number | null;
  summary: string;
}

export interface PulumiRun {
  namespaces: number;
  /** How the program handed the objects to Pulumi (absent in runs before the switch: configgroup). */
  handoff?: Handoff;
  /** Absent in runs before the switch: every-step. */
  checkpoints?: Checkpoints;
  repetition: number;
  /** Kubernetes resources in the stack after `up` (objects applied). */
  kubernetesResources: number;
  /** Every resource in the stack after `up` (components, providers, the control plane included). */
  resources: number;
  steps: PulumiStep[];
  error?: string;
}

export interface PulumiResult {
  pulumiVersion: string;
  providerVersion: string;
  runs: PulumiRun[];
  loadAtStart: number[];
  loadAtEnd: number[];
}

/** HCB_BENCH_PULUMI_HANDOFFS=configgroup,yaml-v2 (default: both). */
export function handoffsFromEnv(env: NodeJS.ProcessEnv = process.env): Handoff[] {
  const v = env.HCB_BENCH_PULUMI_HANDOFFS;
  if (!v) return [...HANDOFFS];
  const list = v.split(',').map((x) => x.trim()) as Handoff[];
  for (const h of list)
    if (!HANDOFFS.includes(h)) throw new Error(`HCB_BENCH_PULUMI_HANDOFFS: ${h} is not one of ${HANDOFFS.join(', ')}`);
  return list;
}

/** What a run measured, as the report names it: the hand-off, and the checkpointing when not the default. */
export function variantOf(x: Pick<PulumiRun, 'handoff' | 'checkpoints'>): string {
  return `${x.handoff ?? 'configgroup'}${x.checkpoints === 'final' ? ' (final checkpoint only)' : ''}`;
}

/** HCB_BENCH_PULUMI_LARGE_CHECKPOINTS=every-step|final (default final): the checkpointing at LARGE_SIZE and above. */
export function largeCheckpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Checkpoints {
  const v = env.HCB_BENCH_PULUMI_LARGE_CHECKPOINTS ?? 'final';
  if (v !== 'final' && v !== 'every-step')
    throw new Error(`HCB_BENCH_PULUMI_LARGE_CHECKPOINTS: ${v} is not every-step or final`);
  return v;
}

function toolchainBin(): string {
  const fromEnv = process.env.HCB_TOOLCHAIN_BIN;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'pulumi'))) return fromEnv;
  const r = spawnSync('bash', [path.join(REPO, 'tools/build-toolchain.sh'), '--bin-dir'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('the toolchain is not built (npm run toolchain), or set HCB_TOOLCHAIN_BIN');
  return r.stdout.trim();
}

function pins(): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(path.join(REPO, 'tools/versions.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => l.split('=') as [string, string]),
  );
}

interface Env {
  bin: string;
  project: string;
  env: NodeJS.ProcessEnv;
}

function setUp(home: string, bin: string, handoff: Handoff, checkpoints: Checkpoints): Env {
  const project = path.join(home, 'project');
  fs.mkdirSync(project);
  for (const f of ['Pulumi.yaml', 'tsconfig.json', 'package.json'])
    fs.copyFileSync(path.join(REPO, f), path.join(project, f));
  // The program's sources are copied (as the e2e projects do), so an edit of the shared working
  // tree during a run cannot change the program between two steps; node_modules stays a link.
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(project, 'node_modules'));
  for (const d of ['constructs', 'stacks', 'policies', 'cli'])
    fs.cpSync(path.join(REPO, d), path.join(project, d), { recursive: true });
  const backend = path.join(home, 'backend');
  fs.mkdirSync(backend);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [
      bin,
      path.join(REPO, 'node_modules/@pulumi/pulumi'),
      path.join(REPO, 'node_modules/.bin'),
      process.env.PATH,
    ].join(':'),
    HCB_TOOLCHAIN_BIN: bin,
    PULUMI_HOME: path.join(home, 'pulumi-home'),
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: 'bench-passphrase',
    PULUMI_CONFIG_PASSPHRASE_FILE: '',
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_DISABLE_REGISTRY_RESOLVE: 'true',
    PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
    PULUMI_SKIP_CONFIRMATIONS: 'true',
    HCB_PULUMI_HANDOFF: handoff,
    // Set either way, so a value in the caller's environment cannot change what is measured.
    PULUMI_SKIP_CHECKPOINTS: checkpoints === 'final' ? 'true' : 'false',
  };
  return { bin, project, env };
}

function pulumi(e: Env, args: string[]): { status: number | null; stdout: string; stderr: string } {
  // Bounded as a process group: at the bound the CLI's plugins (language host, Node.js, provider)
  // are stopped with it.
  const r = runBounded(path.join(e.bin, 'pulumi'), [...args, '--non-interactive'], {
    cwd: e.project,
    env: e.env,
    timeoutMs: STEP_TIMEOUT_MS,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(e: Env, args: string[]): string {
  const r = pulumi(e, args);
  if (r.status !== 0)
    throw new Error(
      `pulumi ${args.slice(0, 3).join(' ')} failed (exit ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
    );
  return r.stdout;
}

function timedStep(e: Env, step: PulumiStep['step'], args: string[]): PulumiStep {
  const tf = path.join(os.tmpdir(), `hcb-bench-pulumi-time-${process.pid}`);
  const t = process.hrtime.bigint();
  const r = runBounded(path.join(e.bin, 'pulumi'), [...args, '--non-interactive'], {
    cwd: e.project,
    env: e.env,
    timeoutMs: STEP_TIMEOUT_MS,
    time: { bin: TIME, file: tf, format: '%U %S %M' },
  });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  let cpuMs: number | undefined;
  let rssMiB: number | undefined;
  if (fs.existsSync(tf)) {
    const [u, s, m] = (fs.readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
    if ([u, s, m].every(Number.isFinite)) {
      cpuMs = (u + s) * 1000;
      rssMiB = m / 1024;
    }
    fs.rmSync(tf, { force: true });
  }
  const out = `${r.stdout ?? ''}`;
  // The "Resources:" block pulumi prints at the end, on one line.
  const idx = out.lastIndexOf('Resources:');
  const summary =
    idx >= 0
      ? out
          .slice(idx + 'Resources:'.length)
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /^[+~\-±]?\s*\d+ /.test(l))
          .join(', ')
      : '';
  if (r.status !== 0) {
    throw Object.assign(
      new Error(
        r.timedOut
          ? `pulumi ${step} stopped at the bench's bound of ${STEP_TIMEOUT_MS / 60_000} minutes (the CLI and its plugins):\n${out.slice(-3000)}`
          : `pulumi ${step} failed (exit ${r.status ?? r.signal}):\n${out.slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`,
      ),
      { step: { step, wallMs, cpuMs, rssMiB, status: r.status, summary } },
    );
  }
  return { step, wallMs, cpuMs, rssMiB, status: r.status, summary };
}

function countResources(e: Env): { all: number; kubernetes: number } {
  const state = JSON.parse(must(e, ['stack', 'export'])) as { deployment?: { resources?: Array<{ type: string }> } };
  const resources = state.deployment?.resources ?? [];
  return {
    all: resources.length,
    kubernetes: resources.filter(
      (r) =>
        r.type.startsWith('kubernetes:') &&
        !r.type.startsWith('kubernetes:yaml') &&
        r.type !== 'pulumi:providers:kubernetes',
    ).length,
  };
}

async function oneRun(
  bin: string,
  n: number,
  rep: number,
  handoff: Handoff,
  checkpoints: Checkpoints,
  log: (l: string) => void,
): Promise<PulumiRun> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `hcb-bench-pulumi-${n}-`));
  const stateDir = path.join(home, 'cluster');
  const e = setUp(home, bin, handoff, checkpoints);
  const run: PulumiRun = {
    namespaces: n,
    handoff,
    checkpoints,
    repetition: rep,
    kubernetesResources: 0,
    resources: 0,
    steps: [],
  };
  const tag = `${n} namespaces, ${variantOf(run)}, rep ${rep + 1}`;
  let destroyed = false;
  // Killed mid-run (a timeout, Ctrl-C): the control plane the stack started is stopped and purged
  // here, since the stack's own destroy will never run. (spawnSync blocks the event loop, so the
  // signal is handled once the current pulumi step returns; Ctrl-C also reaches that step's
  // pulumi, a SIGTERM sent to this process alone does not.)
  const onSignal = (): void => {
    void new LocalControlPlane({ stateDir, binDir: bin, nodeFiles: [], log: () => undefined })
      .down({ purge: true })
      .catch(() => undefined)
      .finally(() => {
        fs.rmSync(home, { recursive: true, force: true });
        process.exit(130);
      });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    must(e, [
      'plugin',
      'install',
      'resource',
      'kubernetes',
      pins().K8S_PROVIDER_VERSION,
      '--file',
      path.join(bin, 'pulumi-resource-kubernetes'),
    ]);
    must(e, ['stack', 'init', 'local']);
    const ports = localEndpointsFrom(PULUMI_BASE_PORT);
    const settings = [
      `stateDir=${stateDir}`,
      'node=false',
      ...Object.entries(ports).map(([k, v]) => `${k}=${v}`),
      ...Array.from({ length: n }, (_, i) => `namespaces[${i}]=bench-ns-${String(i).padStart(3, '0')}`),
    ];
    must(e, ['config', 'set-all', '--path', ...settings.flatMap((s) => ['--plaintext', s])]);
    const previewOnly = process.env.HCB_BENCH_PULUMI_PREVIEW_ONLY === 'true';
    // At LARGE_SIZE and more with every step checkpointed (up alone took over an hour at 500
    // namespaces): preview, up and the no-change preview (what the issue asks for); the no-change
    // up and destroy are left out unless HCB_BENCH_PULUMI_LARGE_ALL_STEPS=true, and the control
    // plane is stopped and purged instead. With the final checkpoint only, every step runs.
    const short =
      n >= LARGE_SIZE && checkpoints === 'every-step' && process.env.HCB_BENCH_PULUMI_LARGE_ALL_STEPS !== 'true';
    for (const [step, args] of (
      [
        ['preview', ['preview']],
        ['up', ['up', '--yes', '--skip-preview']],
        ['preview-unchanged', ['preview', '--expect-no-changes']],
        ['up-unchanged', ['up', '--yes', '--skip-preview', '--expect-no-changes']],
      ] as const
    ).slice(0, previewOnly ? 1 : short ? 3 : 4)) {
      log(`${tag}: ${step}`);
      const s = timedStep(e, step, [...args]);
      run.steps.push(s);
      log(`  ${(s.wallMs / 1000).toFixed(1)} s wall, ${((s.cpuMs ?? NaN) / 1000).toFixed(1)} s CPU: ${s.summary}`);
      if (step === 'up') {
        const c = countResources(e);
        run.resources = c.all;
        run.kubernetesResources = c.kubernetes;
      }
      // Preview only (HCB_BENCH_PULUMI_PREVIEW_ONLY=true; nothing is created, no port is used): the
      // resources the preview would create, every type included.
      if (previewOnly) run.resources = Number(/\+ (\d+) to create/.exec(s.summary)?.[1] ?? 0);
    }
    if (!previewOnly && !short) {
      log(`${tag}: destroy`);
      run.steps.push(timedStep(e, 'destroy', ['destroy', '--yes', '--skip-preview']));
    }
    // A short run leaves the control plane to the purge below.
    destroyed = !short;
  } catch (err) {
    const step = (err as { step?: PulumiStep }).step;
    if (step) run.steps.push(step);
    run.error = (err as Error).message.slice(0, 2000);
    log(`${tag}: ${run.error.split('\n')[0]}`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (!destroyed && fs.existsSync(stateDir)) {
      // Whatever the stack did not tear down: the control plane's processes and files.
      await new LocalControlPlane({ stateDir, binDir: bin, nodeFiles: [], log: () => undefined })
        .down({ purge: true })
        .catch(() => undefined);
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
  return run;
}

/**
 * Several measurements as one (e.g. a second repetition taken later): the runs together, each
 * (size, hand-off) renumbered 0, 1, ... in the given order; the load at the start of the first and
 * at the end of the last. The versions must be the same.
 */
export function mergePulumiResults(results: PulumiResult[]): PulumiResult {
  if (results.length === 0) throw new Error('bench: no Pulumi results to merge');
  const [first] = results;
  for (const r of results)
    if (r.pulumiVersion !== first.pulumiVersion || r.providerVersion !== first.providerVersion)
      throw new Error(
        `bench: cannot merge Pulumi results of different versions (${r.pulumiVersion}/${r.providerVersion} and ${first.pulumiVersion}/${first.providerVersion})`,
      );
  const seen = new Map<string, number>();
  const runs = results.flatMap((r) =>
    r.runs.map((x) => {
      const key = `${x.namespaces} ${variantOf(x)}`;
      const rep = seen.get(key) ?? 0;
      seen.set(key, rep + 1);
      return { ...x, repetition: rep };
    }),
  );
  return { ...first, runs, loadAtEnd: results[results.length - 1].loadAtEnd };
}

export async function runPulumiBench(
  opts: {
    sizes?: number[];
    repetitions?: number;
    /**
     * Repetitions at LARGE_SIZE namespaces and above, of the product's hand-off only.
     * @default `repetitions` with the final checkpoint only (a few minutes per run), 1 with every step checkpointed
     */
    largeRepetitions?: number;
    handoffs?: Handoff[];
    /**
     * Below LARGE_SIZE, also run the product's hand-off with the final checkpoint only, to measure
     * what checkpointing costs. @default true (HCB_BENCH_PULUMI_CHECKPOINT_COMPARE=false: not)
     */
    compareCheckpoints?: boolean;
    /** At LARGE_SIZE and above. @default largeCheckpointsFromEnv() (final) */
    largeCheckpoints?: Checkpoints;
    log?: (l: string) => void;
  } = {},
): Promise<PulumiResult> {
  const sizes = opts.sizes ?? [50, 500];
  const reps = opts.repetitions ?? 3;
  const handoffs = opts.handoffs ?? handoffsFromEnv();
  const compare = opts.compareCheckpoints ?? process.env.HCB_BENCH_PULUMI_CHECKPOINT_COMPARE !== 'false';
  const largeCheckpoints = opts.largeCheckpoints ?? largeCheckpointsFromEnv();
  const largeReps = opts.largeRepetitions ?? (largeCheckpoints === 'final' ? reps : 1);
  const log = opts.log ?? ((l: string) => process.stderr.write(`pulumi: ${l}\n`));
  const bin = toolchainBin();
  const loadAtStart = os.loadavg();
  const version = spawnSync(path.join(bin, 'pulumi'), ['version'], { encoding: 'utf8' }).stdout.trim();
  const runs: PulumiRun[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const n of sizes) {
      // A large stack takes a long time per run on 2 cores: only the product's hand-off (ConfigGroup;
      // the comparisons are made at the smaller sizes), largeReps times, checkpointed as
      // largeCheckpoints says (with every step checkpointed, up at 500 namespaces did not end
      // inside an hour: the whole state file is rewritten after each of 3,000 resources).
      if (n >= LARGE_SIZE && rep >= largeReps) continue;
      const variants: Array<[Handoff, Checkpoints]> =
        n >= LARGE_SIZE
          ? [['configgroup', largeCheckpoints]]
          : [
              ...handoffs.map((h): [Handoff, Checkpoints] => [h, 'every-step']),
              ...(compare && handoffs.includes('configgroup')
                ? [['configgroup', 'final'] as [Handoff, Checkpoints]]
                : []),
            ];
      // Rotate which variant goes first, so none always meets the same point of the load.
      const k = rep % variants.length;
      const order = [...variants.slice(k), ...variants.slice(0, k)];
      for (const [h, c] of order) runs.push(await oneRun(bin, n, rep, h, c, log));
    }
  }
  return {
    pulumiVersion: version,
    providerVersion: pins().K8S_PROVIDER_VERSION,
    runs,
    loadAtStart,
    loadAtEnd: os.loadavg(),
  };
}

if (require.main === module) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((x) => x > 0);
  runPulumiBench({
    sizes: sizes.length ? sizes : undefined,
    repetitions: Number(process.env.HCB_BENCH_PULUMI_REPS ?? 3),
  })
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`pulumi: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    });
}
