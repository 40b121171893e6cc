/**
 * `npm run bench [-- --quick] [-- --out FILE]`: the whole benchmark, written as BENCHMARKS.md.
 * Not a test (nothing here runs in `npm test`). Steps, every measurement in its own child process
 * under /usr/bin/time (wall, user+sys CPU, peak RSS):
 *   1. a transpiled JS build in a temporary directory (bench/build.ts) and the blueprint's own
 *      `hcb synth` output; deterministic corpora (bench/corpus.ts) of 1,000, 10,000 and 50,000
 *      objects; test/fixtures/insecure;
 *   2. per corpus and repetition, interleaved so that load on the machine hits all alike: our audit
 *      (load + evaluate + JSON report, with its phases), the parse-only floor with the loader's
 *      parser, the same with js-yaml 5 (when installed in $HCB_BENCH_ALT, default /tmp/hcb-bench-alt),
 *      and each peer found (bench/peers.ts);
 *   3. synth of 100, 1,000 and 5,000 tenants against the floor of serializing the same objects;
 *   4. on test/fixtures/insecure: what each peer finds that we do not, and the other way round;
 *   5. admission latency with and without the generated ValidatingAdmissionPolicies on the local
 *      control plane (bench/admission.ts, ports 47600-47605);
 *   6. Pulumi preview/up/destroy of the local stack without the node at several namespace counts
 *      (bench/pulumi.ts, ports 47620-47625).
 * `--only admission` or `--only pulumi` runs just that part and replaces its section (and its row of
 * the targets table) in the existing output file; `--skip admission,pulumi` leaves those parts out
 * of a full run, which then keeps their sections from the existing file as they are.
 * `--only pulumi --from-json FILE` writes the section from what `bench/pulumi.ts` printed (likewise
 * admission), for measurements taken on their own. `--only peers` measures our audit and the peers
 * (kube-score, kubesec, Trivy) on the corpora again (HCB_BENCH_PEER_SIZES, default the run's sizes)
 * and replaces the peers section and the peers' target rows.
 * Medians with min–max over the repetitions; ratios are taken within one repetition, then the median.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runBounded } from './bounded';
import { calibrationMs, CALIBRATION_TEXT } from './calibrate';
import { buildForBench } from './build';
import { writeCorpus, CorpusInfo, SEED } from './corpus';
import { findPeers, objectKey, Peer, PEER_MAP } from './peers';
import { AdmissionResult, runAdmissionBench } from './admission';
import { mergePulumiResults, PulumiResult, runPulumiBench } from './pulumi';
import {
  ADMISSION_HEADING,
  ADMISSION_TARGET,
  admissionSection,
  admissionTarget,
  PULUMI_HEADING,
  PULUMI_TARGET,
  pulumiSection,
  pulumiTarget,
  spliceSection,
} from './sections';

const REPO = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const outArg = args.indexOf('--out');
const OUT =
  outArg >= 0
    ? path.resolve(args[outArg + 1])
    : QUICK
      ? path.join(os.tmpdir(), 'BENCHMARKS.quick.md')
      : path.join(REPO, 'BENCHMARKS.md');
const SIZES = QUICK ? [1000, 5000] : [1000, 10000, 50000];
/** HCB_BENCH_REPS=N: N repetitions for every corpus (a shorter run on a loaded machine). */
const REPS_OVERRIDE = process.env.HCB_BENCH_REPS ? Number(process.env.HCB_BENCH_REPS) : undefined;
const REPS = (n: number): number => REPS_OVERRIDE ?? (QUICK ? 2 : n >= 10000 ? 3 : 5);
/** HCB_BENCH_YAML_FLOOR_MAX=N: the yaml floor (the slow fallback parser) only for corpora of at most N objects. */
const YAML_FLOOR_MAX = Number(process.env.HCB_BENCH_YAML_FLOOR_MAX ?? Infinity);
const TENANTS = QUICK ? [100, 500] : [100, 1000, 5000];
const SYNTH_REPS = (n: number): number => (QUICK ? 1 : n >= 5000 ? 3 : 5);
/** Where js-yaml for the js-yaml floor is found (ALT_DIR/node_modules/js-yaml); default the build's (the project's own). */
const ALT_DIR = process.env.HCB_BENCH_ALT;
const TIME = '/usr/bin/time';
const PEER_TIMEOUT_MS = 15 * 60 * 1000;
/** Whether a peer runs on a corpus of this many objects (0: not yet known, a small fixed corpus). */
const peerRuns = (peer: Peer, objects: number): boolean => peer.maxObjects === undefined || objects <= peer.maxObjects;
const listArg = (name: string): string[] => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? '').split(',').filter(Boolean) : [];
};
const ONLY = listArg('--only');
const SKIP = listArg('--skip');
for (const part of [...ONLY, ...SKIP]) {
  if (part !== 'admission' && part !== 'pulumi' && !((part === 'peers' || part === 'audit') && !SKIP.includes(part)))
    throw new Error(
      `bench: --only takes audit, admission, pulumi and/or peers, --skip admission and/or pulumi, not ${part}`,
    );
}
const ADMISSION_REPS = Number(process.env.HCB_BENCH_ADMISSION_REPS ?? (QUICK ? 2 : 5));
const PULUMI_SIZES = QUICK ? [10, 50] : (process.env.HCB_BENCH_PULUMI_SIZES ?? '50,500').split(',').map(Number);
const PULUMI_REPS = Number(process.env.HCB_BENCH_PULUMI_REPS ?? (QUICK ? 1 : 3));
/** Repetitions at 500 namespaces and more (of ConfigGroup only); unset: bench/pulumi.ts decides (see largeRepetitions). */
const PULUMI_LARGE_REPS =
  process.env.HCB_BENCH_PULUMI_LARGE_REPS === undefined ? undefined : Number(process.env.HCB_BENCH_PULUMI_LARGE_REPS);
/** With --only and one part: the JSON that bench/admission.ts or bench/pulumi.ts printed, instead of measuring again. */
// Comma-separated (several measurements merged): listArg splits on commas, so join them again.
const FROM_JSON = listArg('--from-json').join(',') || undefined;
const TARGETS_HEADING = '## Targets (issue 13)';
const PEERS_HEADING = '## Peers on the same corpus, same run';
const TRIVY_TARGET = 'Trivy misconfiguration scan as a peer';

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

interface Run {
  wallMs: number;
  cpuMs?: number;
  rssMiB?: number;
  status: number | null;
  stdout: string;
  timedOut: boolean;
}

function timed(cmd: string, argv: string[], cwd: string, timeoutMs = PEER_TIMEOUT_MS): Run {
  const haveTime = fs.existsSync(TIME);
  const tf = path.join(os.tmpdir(), `hcb-bench-time-${process.pid}`);
  const t = process.hrtime.bigint();
  // Bounded as a process group, so a shell's children (the kubesec step) stop with it.
  const r = runBounded(cmd, argv, {
    cwd,
    timeoutMs,
    maxBuffer: 1024 * 1024 * 1024,
    time: haveTime ? { bin: TIME, file: tf, format: '%U %S %M' } : undefined,
  });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  let cpuMs: number | undefined;
  let rssMiB: number | undefined;
  if (haveTime && fs.existsSync(tf)) {
    const last = fs.readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '';
    const [u, s, m] = last.split(' ').map(Number);
    if ([u, s, m].every(Number.isFinite)) {
      cpuMs = (u + s) * 1000;
      rssMiB = m / 1024;
    }
    fs.rmSync(tf, { force: true });
  }
  return { wallMs, cpuMs, rssMiB, status: r.status, stdout: r.stdout ?? '', timedOut: r.timedOut };
}

// ---- statistics and formatting ----
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x: number | undefined, d = 0): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
function stat(xs: Array<number | undefined>, d = 0): string {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (v.length === 0) return 'n/a';
  if (v.length === 1) return fmt(v[0], d);
  return `${fmt(median(v), d)} (${fmt(Math.min(...v), d)}–${fmt(Math.max(...v), d)})`;
}
const med = (xs: Array<number | undefined>): number => {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? median(v) : NaN;
};
function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

// ---- the run ----
interface Corpus {
  name: string;
  dir: string;
  objects: number;
  bytes: number;
  files: string[];
  exceptions?: string;
  info?: CorpusInfo;
}

interface AuditChild {
  loadMs: number;
  evaluateMs: number;
  renderMs: number;
  auditMs: number;
  cpuMs: number;
  loadCpuMs: number;
  evaluateCpuMs: number;
  renderCpuMs: number;
  documents: number;
  findings: number;
  failing: number;
  bytes: number;
}
interface ParseChild {
  parseMs: number;
  cpuMs: number;
  documents: number;
  errors: number;
}
interface SynthChild {
  tenants: number;
  objects: number;
  constructMs: number;
  toJsonMs: number;
  writeMs: number;
  synthMs: number;
  synthCpuMs: number;
  floorMs: number;
  floorCpuMs: number;
}
type SynthRun = SynthChild & { proc: Run };
interface Sample {
  audit: AuditChild;
  auditProc: Run;
  parse: ParseChild;
  parseProc: Run;
  alt?: ParseChild;
  altProc?: Run;
  peers: Record<string, Run>;
}

function yamlFilesOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function child<T>(build: string, argv: string[]): { value: T; run: Run } {
  const run = timed(process.execPath, [path.join(build, 'bench/child.js'), ...argv], build);
  if (run.status !== 0) throw new Error(`bench child ${argv.join(' ')} exited ${run.status}`);
  return { value: JSON.parse(run.stdout.trim().split('\n').pop() as string) as T, run };
}

function machine(): string[] {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');
  let kernel = os.release();
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {
    /* keep os.release */
  }
  return [
    `- CPU: ${cpus[0]?.model ?? 'unknown'}, ${os.availableParallelism?.() ?? cpus.length} logical CPUs (nproc)`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${kernel}; Node.js ${process.version}`,
    `- calibration: ${calibrationMs().toFixed(0)} ms for ${CALIBRATION_TEXT}; a section measured on its own names its own`,
    `- load average at the end of the run: ${load}`,
  ];
}

/** The checked-out commit (short), marked when what the bench runs has uncommitted changes. */
function headCommit(): string {
  try {
    const c = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    // Only what the measurement runs counts (not BENCHMARKS.md itself, nor docs).
    const dirty = execFileSync(
      'git',
      [
        'status',
        '--porcelain',
        '--untracked-files=no',
        '--',
        'bench',
        'constructs',
        'stacks',
        'policies',
        'cli',
        'tools',
        'package.json',
        'package-lock.json',
      ],
      { cwd: REPO, encoding: 'utf8' },
    ).trim();
    return dirty ? `${c} (with uncommitted changes)` : c;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** A measurement saved as JSON, with the machine's calibration taken when it was measured. */
type Calibrated = { calibrationMs?: number };

/** A section measured on its own: where it came from, under its heading. */
function withProvenance(
  section: string[],
  part: string,
  settings: string[],
  fromJson: string | undefined,
  calibrations: Array<number | undefined>,
): string[] {
  const [heading, blank, ...rest] = section;
  const how = fromJson
    ? `Written by \`npm run bench -- --only ${part} --from-json\` from ${fromJson.split(',').length} saved measurement${fromJson.includes(',') ? 's' : ''}`
    : `Measured by \`npm run bench -- --only ${part}\``;
  // The settings describe a measurement made now; a section written from saved JSON has its own.
  const shown = fromJson ? [] : settings;
  // The machine each measurement ran on, by its calibration (saved in the JSON when measured).
  const where = `calibration ${calibrations.map((c) => (c === undefined ? 'not recorded' : `${c.toFixed(0)} ms`)).join(', ')} (${CALIBRATION_TEXT}; compare with "Machine")`;
  const note = `${how} on ${new Date().toISOString().slice(0, 10)} at commit ${headCommit()}${shown.length ? `, with ${shown.join(', ')}` : ''}, ${where}; the other sections come from the run named at the top.`;
  return [heading, blank, note, '', ...rest];
}

/** The HCB_BENCH_* settings in the environment whose names start with prefix, as NAME=value. */
const benchSettings = (prefix: string): string[] =>
  Object.keys(process.env)
    .filter((k) => k.startsWith(prefix))
    .sort()
    .map((k) => `${k}=${process.env[k]}`);

/** `--only`: run the named parts and replace their sections in the existing file. */
async function onlyParts(): Promise<void> {
  if (FROM_JSON && ONLY.length !== 1) throw new Error('bench: --from-json goes with exactly one --only part');
  if (!fs.existsSync(OUT)) throw new Error(`bench: --only needs an existing ${OUT} (run the full benchmark once)`);
  const date = new Date().toISOString().slice(0, 10);
  if (ONLY.includes('admission')) {
    log('admission latency');
    const r: AdmissionResult & Calibrated = FROM_JSON
      ? (JSON.parse(fs.readFileSync(FROM_JSON, 'utf8')) as AdmissionResult & Calibrated)
      : {
          ...(await runAdmissionBench({ repetitions: ADMISSION_REPS, log: (l) => log(`admission: ${l}`) })),
          calibrationMs: calibrationMs(),
        };
    fs.writeFileSync(path.join(os.tmpdir(), 'hcb-bench-admission.json'), JSON.stringify(r));
    spliceSection(
      OUT,
      ADMISSION_HEADING,
      withProvenance(admissionSection(r, date), 'admission', benchSettings('HCB_BENCH_ADMISSION'), FROM_JSON, [
        r.calibrationMs,
      ]),
      TARGETS_HEADING,
      admissionTarget(r),
    );
  }
  if (ONLY.includes('pulumi')) {
    log(`pulumi at ${PULUMI_SIZES.join(', ')} namespaces`);
    // --from-json a.json,b.json: the runs of several measurements together (repetitions renumbered).
    const saved = FROM_JSON
      ? FROM_JSON.split(',').map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as PulumiResult & Calibrated)
      : undefined;
    const r: PulumiResult & Calibrated = saved
      ? mergePulumiResults(saved)
      : {
          ...(await runPulumiBench({
            sizes: PULUMI_SIZES,
            repetitions: PULUMI_REPS,
            largeRepetitions: PULUMI_LARGE_REPS,
            log: (l) => log(`pulumi: ${l}`),
          })),
          calibrationMs: calibrationMs(),
        };
    fs.writeFileSync(path.join(os.tmpdir(), 'hcb-bench-pulumi.json'), JSON.stringify(r));
    spliceSection(
      OUT,
      PULUMI_HEADING,
      withProvenance(
        pulumiSection(r, date),
        'pulumi',
        benchSettings('HCB_BENCH_PULUMI'),
        FROM_JSON,
        saved ? saved.map((x) => x.calibrationMs) : [r.calibrationMs],
      ),
      TARGETS_HEADING,
      pulumiTarget(r),
    );
  }
  if (ONLY.includes('audit')) await onlyAudit();
  if (ONLY.includes('peers')) await onlyPeers();
  log(`updated ${OUT}`);
}

/**
 * `--only peers`: our audit and each peer on the same corpora, interleaved per repetition (as the
 * full run does, without the parse floors), and the insecure-corpus comparison; replaces the peers
 * section and the peers' target rows. HCB_BENCH_PEER_SIZES (e.g. 1000,10000) sets the generated
 * corpora, default the run's sizes.
 */
async function onlyPeers(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bench-'));
  const build = path.join(work, 'build');
  try {
    log(`transpiling into ${build}`);
    buildForBench(REPO, build);
    const cli = path.join(build, 'cli/main.js');
    const bp = path.join(work, 'blueprint');
    execFileSync(process.execPath, [cli, 'synth', '--out', bp], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const cpText = fs.readFileSync(path.join(bp, 'control-plane.yaml'), 'utf8');
    const sizes = process.env.HCB_BENCH_PEER_SIZES ? process.env.HCB_BENCH_PEER_SIZES.split(',').map(Number) : SIZES;
    const corpora: Corpus[] = [];
    for (const n of sizes) {
      const dir = path.join(work, `corpus-${n}`);
      const info = writeCorpus(n, dir, cpText, REPO);
      corpora.push({
        name: `generated ${n.toLocaleString('en')}`,
        dir,
        objects: info.objects,
        bytes: info.bytes,
        files: yamlFilesOf(dir),
        info,
      });
    }
    const bpAudit = path.join(work, 'blueprint-audit');
    fs.mkdirSync(bpAudit);
    for (const f of ['cluster.yaml', 'control-plane.yaml']) fs.copyFileSync(path.join(bp, f), path.join(bpAudit, f));
    const insecure = path.join(REPO, 'test/fixtures/insecure');
    for (const [name, dir, exceptions] of [
      ['blueprint (hcb synth)', bpAudit, path.join(bp, 'exceptions.yaml')],
      ['test/fixtures/insecure', insecure, undefined],
    ] as const) {
      const files = yamlFilesOf(dir);
      corpora.push({
        name,
        dir,
        objects: 0,
        bytes: files.reduce((t, f) => t + fs.statSync(f).size, 0),
        files,
        exceptions,
      });
    }
    const peers = findPeers(REPO);
    log(`peers: ${peers.map((p) => `${p.name} (${p.bin})`).join(', ') || 'none found'}`);
    const samples = new Map<string, Sample[]>();
    for (const c of corpora) samples.set(c.name, []);
    const maxReps = Math.max(...corpora.map((c) => REPS(c.objects)));
    for (let rep = 0; rep < maxReps; rep++)
      for (const c of corpora) {
        if (rep >= REPS(c.objects)) continue;
        log(`rep ${rep + 1}: ${c.name}`);
        const a = child<AuditChild>(build, ['audit', c.dir, ...(c.exceptions ? [c.exceptions] : [])]);
        const pr: Record<string, Run> = {};
        for (const peer of peers)
          if (peerRuns(peer, c.objects)) pr[peer.name] = timed(peer.bin, peer.args(c.files), work);
        if (c.objects === 0) c.objects = a.value.documents;
        samples.get(c.name)!.push({
          audit: a.value,
          auditProc: a.run,
          parse: { parseMs: NaN, cpuMs: NaN, documents: 0, errors: 0 },
          parseProc: a.run,
          peers: pr,
        });
      }
    const { ours, peerFindings } = insecureFindings(cli, work, peers);
    const part = peersSection({ corpora, samples, peers, ours, peerFindings });
    const [first, ...rest] = part.targets;
    spliceSection(OUT, PEERS_HEADING, part.lines, '## Synth', first ?? [TRIVY_TARGET, '**not done**', 'no peers']);
    for (const row of rest) setTargetRow(OUT, row);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The generated corpora of this run (and the blueprint's synth output and test/fixtures/insecure). */
function makeCorpora(work: string, cli: string, sizes: readonly number[]): Corpus[] {
  const bp = path.join(work, 'blueprint');
  execFileSync(process.execPath, [cli, 'synth', '--out', bp], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  const cpText = fs.readFileSync(path.join(bp, 'control-plane.yaml'), 'utf8');
  const corpora: Corpus[] = [];
  for (const n of sizes) {
    log(`corpus of ${n} objects`);
    const dir = path.join(work, `corpus-${n}`);
    const info = writeCorpus(n, dir, cpText, REPO);
    corpora.push({
      name: `generated ${n.toLocaleString('en')}`,
      dir,
      objects: info.objects,
      bytes: info.bytes,
      files: yamlFilesOf(dir),
      info,
    });
  }
  const bpAudit = path.join(work, 'blueprint-audit');
  fs.mkdirSync(bpAudit);
  for (const f of ['cluster.yaml', 'control-plane.yaml']) fs.copyFileSync(path.join(bp, f), path.join(bpAudit, f));
  const insecure = path.join(REPO, 'test/fixtures/insecure');
  for (const [name, dir, exceptions] of [
    ['blueprint (hcb synth)', bpAudit, path.join(bp, 'exceptions.yaml')],
    ['test/fixtures/insecure', insecure, undefined],
  ] as const) {
    const files = yamlFilesOf(dir);
    corpora.push({
      name,
      dir,
      objects: 0,
      bytes: files.reduce((t, f) => t + fs.statSync(f).size, 0),
      files,
      exceptions,
    });
  }
  return corpora;
}

/**
 * `--only audit`: our audit, the js-yaml floor and the yaml floor on the corpora, interleaved per
 * repetition (no peers, synth, admission or Pulumi); replaces "## Corpora" and "## Audit" and the
 * audit's target rows in the existing file, and says so at the top of "## Audit".
 * HCB_BENCH_AUDIT_SIZES (e.g. 1000,10000) sets the generated corpora, default the run's sizes.
 */
async function onlyAudit(): Promise<void> {
  const started = new Date();
  const loadAtStart = os.loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bench-'));
  const build = path.join(work, 'build');
  try {
    log(`transpiling into ${build}`);
    buildForBench(REPO, build);
    const cli = path.join(build, 'cli/main.js');
    const sizes = process.env.HCB_BENCH_AUDIT_SIZES ? process.env.HCB_BENCH_AUDIT_SIZES.split(',').map(Number) : SIZES;
    const corpora = makeCorpora(work, cli, sizes);
    const alt = ALT_DIR ?? build;
    const haveAlt = fs.existsSync(path.join(alt, 'node_modules/js-yaml'));
    const samples = new Map<string, Sample[]>();
    for (const c of corpora) samples.set(c.name, []);
    const maxReps = Math.max(...corpora.map((c) => REPS(c.objects)));
    for (let rep = 0; rep < maxReps; rep++)
      for (const c of corpora) {
        if (rep >= REPS(c.objects)) continue;
        log(`rep ${rep + 1}: ${c.name}`);
        const a = child<AuditChild>(build, ['audit', c.dir, ...(c.exceptions ? [c.exceptions] : [])]);
        const p =
          c.objects <= YAML_FLOOR_MAX
            ? child<ParseChild>(build, ['parse', c.dir])
            : { value: { parseMs: NaN, cpuMs: NaN, documents: 0, errors: 0 }, run: a.run };
        const j = haveAlt ? child<ParseChild>(build, ['parse-alt', c.dir, alt]) : undefined;
        if (c.objects === 0) c.objects = a.value.documents;
        samples.get(c.name)!.push({
          audit: a.value,
          auditProc: a.run,
          parse: p.value,
          parseProc: p.run,
          alt: j?.value,
          altProc: j?.run,
          peers: {},
        });
      }
    const altCheck = haveAlt
      ? child<Record<string, unknown>>(build, ['alt-check', corpora[corpora.length > 2 ? 1 : 0].dir, alt]).value
      : undefined;
    const part = auditSections({ corpora, samples, haveAlt, altCheck });
    const commit = headCommit();
    const load = [...loadAtStart, ...os.loadavg()];
    const [heading, blank, ...rest] = part.audit;
    const reps =
      REPS_OVERRIDE !== undefined
        ? `, HCB_BENCH_REPS=${REPS_OVERRIDE}: ${REPS_OVERRIDE} repetition${REPS_OVERRIDE === 1 ? '' : 's'} per corpus`
        : '';
    const yamlMax = Number.isFinite(YAML_FLOOR_MAX)
      ? `, yaml floor only up to ${YAML_FLOOR_MAX} objects (HCB_BENCH_YAML_FLOOR_MAX)`
      : '';
    const note = `Measured by \`npm run bench -- --only audit\` on ${started.toISOString().slice(0, 10)} at commit ${commit} (with "Corpora"${QUICK ? ', quick mode' : ''}${reps}${yamlMax}); the other sections come from the run named at the top. Load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} on ${os.cpus().length} CPUs during this part${Math.max(...load) > os.cpus().length ? ': a loaded machine, so the CPU-time figures are the ones to trust' : ''}.`;
    spliceSection(OUT, '## Corpora', part.corpora, '## Audit', part.targets[0]);
    spliceSection(OUT, '## Audit', [heading, blank, note, '', ...rest], PEERS_HEADING, part.targets[0]);
    for (const row of part.targets) setTargetRow(OUT, row);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Replaces the targets row whose first cell is row[0], or adds it at the end of the targets table. */
function setTargetRow(file: string, row: string[]): void {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const text = `| ${row.join(' | ')} |`;
  const i = lines.findIndex((l) => l.startsWith(`| ${row[0]} |`));
  if (i >= 0) lines[i] = text;
  else {
    const h = lines.indexOf(TARGETS_HEADING);
    if (h < 0) return;
    let end = lines.findIndex((l, j) => j > h + 2 && !l.startsWith('|'));
    if (end < 0) end = lines.length;
    lines.splice(end, 0, text);
  }
  fs.writeFileSync(file, lines.join('\n'));
}

async function main(): Promise<void> {
  if (ONLY.length > 0) return onlyParts();
  const started = new Date();
  const loadAtStart = os.loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bench-'));
  const build = path.join(work, 'build');
  try {
    log(`transpiling into ${build}`);
    buildForBench(REPO, build);
    const cli = path.join(build, 'cli/main.js');

    log('hcb synth (the blueprint itself)');
    const bp = path.join(work, 'blueprint');
    execFileSync(process.execPath, [cli, 'synth', '--out', bp], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const cpText = fs.readFileSync(path.join(bp, 'control-plane.yaml'), 'utf8');

    const corpora: Corpus[] = [];
    for (const n of SIZES) {
      log(`corpus of ${n} objects`);
      const dir = path.join(work, `corpus-${n}`);
      const info = writeCorpus(n, dir, cpText, REPO);
      corpora.push({
        name: `generated ${n.toLocaleString('en')}`,
        dir,
        objects: info.objects,
        bytes: info.bytes,
        files: yamlFilesOf(dir),
        info,
      });
    }
    const bpFiles = ['cluster.yaml', 'control-plane.yaml'].map((f) => path.join(bp, f));
    const bpAudit = path.join(work, 'blueprint-audit');
    fs.mkdirSync(bpAudit);
    for (const f of bpFiles) fs.copyFileSync(f, path.join(bpAudit, path.basename(f)));
    const insecure = path.join(REPO, 'test/fixtures/insecure');
    for (const [name, dir, exceptions] of [
      ['blueprint (hcb synth)', bpAudit, path.join(bp, 'exceptions.yaml')],
      ['test/fixtures/insecure', insecure, undefined],
    ] as const) {
      const files = yamlFilesOf(dir);
      const bytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
      corpora.push({ name, dir, objects: 0, bytes, files, exceptions });
    }

    const peers = findPeers(REPO);
    log(`peers: ${peers.map((p) => `${p.name} (${p.bin})`).join(', ') || 'none found'}`);
    const alt = ALT_DIR ?? build;
    const haveAlt = fs.existsSync(path.join(alt, 'node_modules/js-yaml'));

    // Audit, floor, alternative parser and peers, interleaved per repetition.
    const samples = new Map<string, Sample[]>();
    for (const c of corpora) samples.set(c.name, []);
    const maxReps = Math.max(...corpora.map((c) => REPS(c.objects)));
    for (let rep = 0; rep < maxReps; rep++) {
      for (const c of corpora) {
        if (rep >= REPS(c.objects)) continue;
        log(`rep ${rep + 1}: ${c.name}`);
        const a = child<AuditChild>(build, ['audit', c.dir, ...(c.exceptions ? [c.exceptions] : [])]);
        const p = child<ParseChild>(build, ['parse', c.dir]);
        const j = haveAlt ? child<ParseChild>(build, ['parse-alt', c.dir, alt]) : undefined;
        const pr: Record<string, Run> = {};
        for (const peer of peers)
          if (peerRuns(peer, c.objects)) pr[peer.name] = timed(peer.bin, peer.args(c.files), work);
        if (c.objects === 0) c.objects = a.value.documents;
        samples.get(c.name)!.push({
          audit: a.value,
          auditProc: a.run,
          parse: p.value,
          parseProc: p.run,
          alt: j?.value,
          altProc: j?.run,
          peers: pr,
        });
      }
    }

    let altCheck: Record<string, unknown> | undefined;
    if (haveAlt)
      altCheck = child<Record<string, unknown>>(build, [
        'alt-check',
        corpora[corpora.length > 2 ? 1 : 0].dir,
        alt,
      ]).value;

    // Synth.
    const synth: Array<{ n: number; runs: SynthRun[] }> = [];
    for (const n of TENANTS) {
      const runs: SynthRun[] = [];
      for (let r = 0; r < SYNTH_REPS(n); r++) {
        log(`synth ${n} tenants, rep ${r + 1}`);
        const out = fs.mkdtempSync(path.join(work, 'synth-'));
        const s = child<SynthChild>(build, ['synth', String(n), out]);
        fs.rmSync(out, { recursive: true, force: true });
        runs.push({ ...s.value, proc: s.run });
      }
      synth.push({ n, runs });
    }

    // Insecure corpus: findings side by side.
    const { ours, peerFindings } = insecureFindings(cli, work, peers);

    let admission: AdmissionResult | undefined;
    if (!SKIP.includes('admission')) {
      log('admission latency');
      admission = await runAdmissionBench({ repetitions: ADMISSION_REPS, log: (l) => log(`admission: ${l}`) });
    }
    let pulumiRuns: PulumiResult | undefined;
    if (!SKIP.includes('pulumi')) {
      log(`pulumi at ${PULUMI_SIZES.join(', ')} namespaces`);
      pulumiRuns = await runPulumiBench({
        sizes: PULUMI_SIZES,
        repetitions: PULUMI_REPS,
        largeRepetitions: PULUMI_LARGE_REPS,
        log: (l) => log(`pulumi: ${l}`),
      });
    }
    // Kept for --from-json (e.g. merging a later measurement's repetitions with these).
    for (const [name, r] of [
      ['admission', admission],
      ['pulumi', pulumiRuns],
    ] as const)
      if (r) {
        const f = path.join(os.tmpdir(), `hcb-bench-${name}.json`);
        fs.writeFileSync(f, JSON.stringify({ ...r, calibrationMs: calibrationMs() }));
        log(`${name} results: ${f}`);
      }

    writeReport({
      started,
      loadAtStart,
      corpora,
      samples,
      peers,
      haveAlt,
      altCheck,
      synth,
      ours,
      peerFindings,
      admission,
      pulumi: pulumiRuns,
    });
    log(`wrote ${OUT}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

interface ReportInput {
  started: Date;
  loadAtStart: number[];
  corpora: Corpus[];
  samples: Map<string, Sample[]>;
  peers: Peer[];
  haveAlt: boolean;
  altCheck?: Record<string, unknown>;
  synth: Array<{ n: number; runs: SynthRun[] }>;
  ours: Array<{
    control: string;
    status: string;
    object?: { kind?: string; namespace?: string | null; name?: string | null };
  }>;
  peerFindings: Map<string, Array<{ object: string; check: string }>>;
  admission?: AdmissionResult;
  pulumi?: PulumiResult;
}

function writeReport(x: ReportInput): void {
  const L: string[] = [];
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };
  const commit = headCommit();
  const loaded = Math.max(x.loadAtStart[0], os.loadavg()[0]) > os.cpus().length;
  L.push('# Benchmarks', '');
  L.push(
    `Written by \`npm run bench${QUICK ? ' -- --quick' : ''}\` (bench/run.ts) on ${x.started.toISOString().slice(0, 10)}, hardened-cluster-blueprint ${pkg.version} at commit ${commit}, yaml ${pkg.dependencies.yaml}.`,
  );
  L.push('Benchmarks are not tests: nothing under bench/ runs in `npm test`.', '');
  L.push(
    '## Machine',
    '',
    ...machine(),
    `- load average at the start: ${x.loadAtStart.map((l) => l.toFixed(1)).join(', ')}`,
    '',
  );
  if (loaded) {
    L.push(
      `**These figures come from a loaded machine**: the load average exceeded the ${os.cpus().length} CPUs during the run (other builds and tests were running), so wall times are inflated and noisy. ` +
        'CPU time (user + system, from /usr/bin/time or process.cpuUsage) is far less affected; ratios below are taken within one repetition (same load) and the CPU-time ratios are the ones to trust.',
      '',
    );
  }
  L.push(
    `Every figure is the median of the repetitions with min–max in brackets (${QUICK ? 'quick mode: 2 repetitions, smaller sizes' : '5 repetitions, 3 for 10,000 and 50,000 objects and for 5,000 tenants'}). ` +
      'Each measurement runs in a fresh Node.js process (peak RSS is its own) from a transpiled build of the working tree (bench/build.ts), as `node dist/cli/main.js` would run.',
    '',
  );

  const auditPart = auditSections(x);
  L.push(...auditPart.corpora, ...auditPart.audit);

  const peerPart = peersSection(x);
  L.push(...peerPart.lines);

  // Synth.
  L.push('## Synth', '');
  L.push(
    'N tenants = N HardenedNamespaces with one HardenedWorkload each, synthesized and written like `hcb synth` (construct tree, toJson, YAML, files with fsync). Floor = the same plain objects serialized with the same YAML settings and written, in the same process.',
    '',
  );
  L.push(
    table(
      [
        'tenants',
        'objects',
        'construct ms',
        'toJson ms',
        'write ms',
        'synth ms',
        'synth CPU ms',
        'floor ms',
        'synth/floor (wall)',
        'synth/floor (CPU)',
        'objects/s',
        'peak RSS MiB',
      ],
      x.synth.map(({ n, runs }) => [
        String(n),
        String(runs[0].objects),
        stat(runs.map((r) => r.constructMs)),
        stat(runs.map((r) => r.toJsonMs)),
        stat(runs.map((r) => r.writeMs)),
        stat(runs.map((r) => r.synthMs)),
        stat(runs.map((r) => r.synthCpuMs)),
        stat(runs.map((r) => r.floorMs)),
        stat(
          runs.map((r) => r.synthMs / r.floorMs),
          2,
        ),
        stat(
          runs.map((r) => r.synthCpuMs / r.floorCpuMs),
          2,
        ),
        stat(runs.map((r) => r.objects / (r.synthMs / 1000))),
        stat(runs.map((r) => r.proc.rssMiB)),
      ]),
    ),
    '',
  );

  // Admission and Pulumi: measured in this run, or kept from the existing file (--skip).
  const previous = path.join(REPO, 'BENCHMARKS.md');
  const date = x.started.toISOString().slice(0, 10);
  const keptRow = (first: string): string[] | undefined => {
    if (!fs.existsSync(previous)) return undefined;
    const line = fs
      .readFileSync(previous, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`| ${first} |`));
    return line ? line.slice(2, -2).split(' | ') : undefined;
  };
  if (x.admission) L.push(...admissionSection(x.admission, date));
  else {
    const kept = preservedSection(previous, ADMISSION_HEADING);
    if (kept) L.push(kept, '');
  }
  if (x.pulumi) L.push(...pulumiSection(x.pulumi, date));
  else {
    const kept = preservedSection(previous, PULUMI_HEADING);
    if (kept) L.push(kept, '');
  }

  // Targets.
  L.push(TARGETS_HEADING, '');
  const T: string[][] = [...auditPart.targets];
  const yes = (b: boolean): string => (b ? '**met**' : '**not met**');
  T.push(...peerPart.targets);
  const sy = x.synth.map(({ n, runs }) => ({
    n,
    perObj: med(runs.map((r) => r.synthCpuMs / r.objects)),
    ratio: med(runs.map((r) => r.synthMs / r.floorMs)),
    ratioCpu: med(runs.map((r) => r.synthCpuMs / r.floorCpuMs)),
  }));
  const last = sy[sy.length - 1];
  T.push([
    'synth within 1.5x of plain serialisation',
    yes(last.ratioCpu <= 1.5),
    `${fmt(last.ratioCpu, 2)}x CPU, ${fmt(last.ratio, 2)}x wall at ${last.n} tenants: writing the YAML (write ms) costs about what the floor does; building the construct tree and cdk8s's toJson (construct ms, toJson ms) come on top`,
  ]);
  T.push([
    'synth growth close to linear',
    yes(last.perObj / sy[0].perObj <= 1.3),
    `CPU per object at ${last.n} tenants is ${fmt(last.perObj / sy[0].perObj, 2)}x that at ${sy[0].n}`,
  ]);
  T.push(
    x.pulumi
      ? pulumiTarget(x.pulumi)
      : (keptRow(PULUMI_TARGET) ?? [PULUMI_TARGET, '**not done**', 'left out of this run (--skip pulumi)']),
  );
  T.push(
    x.admission
      ? admissionTarget(x.admission)
      : (keptRow(ADMISSION_TARGET) ?? [ADMISSION_TARGET, '**not done**', 'left out of this run (--skip admission)']),
  );
  L.push(table(['target', 'result', 'measured / reason'], T), '');

  // "Large inputs" comes from bench/large.ts (runs of many minutes, not repeated here): kept as it is.
  const large = preservedSection(path.join(REPO, 'BENCHMARKS.md'), '## Large inputs');
  if (large) L.push(large, '');

  L.push('## How to reproduce', '');
  L.push(
    '```',
    'npm run bench                 # full run, writes BENCHMARKS.md',
    'npm run bench -- --quick      # 1,000 and 5,000 objects, 100 and 500 tenants, 2 repetitions; writes $TMPDIR/BENCHMARKS.quick.md',
    'npm run bench -- --only audit       # only "Corpora" and "Audit" (audit, js-yaml and yaml floors; no peers, synth, admission, Pulumi) and their target rows, replaced in BENCHMARKS.md',
    'npm run bench -- --only admission   # only "Admission" (and its target row), replaced in BENCHMARKS.md; likewise --only pulumi, --only peers',
    'npm run bench -- --skip admission,pulumi   # everything else; those sections are kept from BENCHMARKS.md',
    'npx ts-node --transpile-only bench/large.ts   # "Large inputs": 100,000 to 1,250,000 documents, one run each (long)',
    '```',
    '',
    'Peers come from the toolchain, built from their Go modules by the project (never committed): kube-score v1.20.0 and kubesec v2.14.2 with the test checkers (`npm run toolchain`; kubesec runs as `kubesec scan` over one stream of the files, offline with a permissive local schema per kind, as test/e2e/external-kubesec.test.ts runs it). ' +
      'Trivy v0.74.0: `bash tools/build-toolchain.sh --only bench` (its own lane, never built by `npm test`; the binary lands in the toolchain bin directory, where bench/peers.ts finds it). ' +
      `The js-yaml floor uses the project's own js-yaml (HCB_BENCH_ALT=DIR takes DIR/node_modules/js-yaml instead). Peak RSS needs GNU time at ${TIME}.`,
    '',
  );
  fs.writeFileSync(OUT, `${L.join('\n')}\n`);
}

type AuditInput = Pick<ReportInput, 'corpora' | 'samples' | 'haveAlt' | 'altCheck'>;

/** The audit target rows' first cells (--only audit replaces these rows). */
const AUDIT_TARGETS = [
  'audit within 2x of parse-only',
  'at least 10 MB/s',
  'under 1 GiB at',
  'cost linear in input size',
];

/**
 * "## Corpora", "## Audit" (with its linearity and parse-floor tables) and the audit's rows of the
 * targets table.
 */
function auditSections(x: AuditInput): { corpora: string[]; audit: string[]; targets: string[][] } {
  const C: string[] = [];
  C.push('## Corpora', '');
  C.push(
    `Generated by bench/corpus.ts with seed 0x${SEED.toString(16)}: tenants of a Namespace (60 % with Pod Security labels, default-deny NetworkPolicies, ResourceQuota, LimitRange, locked default ServiceAccount; the rest without, some with allow-all policies), a Role and RoleBinding (wildcards or the default ServiceAccount in some), a ConfigMap, and one of each workload kind (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod) with its ServiceAccount, two Services; a workload in a compliant tenant carries one to three faults 30 % of the time, in the others always (privileged, escalation, root, host namespaces, hostPath, added capabilities, tag-only image, no resources, Secret in env, hostPort, writable root, seccomp Unconfined, token automount). Every 50 tenants a ClusterRole and binding (wildcard or cluster-admin in 40 %). One control-plane set per 1,000 objects, alternating the blueprint's own control-plane.yaml and test/fixtures/insecure's control-plane and node files.`,
    '',
  );
  C.push(
    table(
      ['corpus', 'objects', 'files', 'MiB', 'findings', 'failing'],
      x.corpora.map((c) => {
        const s = x.samples.get(c.name)![0];
        return [
          c.name,
          String(c.objects),
          String(c.files.length),
          (c.bytes / 2 ** 20).toFixed(2),
          String(s.audit.findings),
          String(s.audit.failing),
        ];
      }),
    ),
    '',
  );

  const L: string[] = [];
  L.push('## Audit', '');
  L.push(
    "`audit` = load (read + parse + source lines) + evaluate (the whole catalogue) + JSON report, timed inside the process (CPU split into load / evaluate / report); `js-yaml floor` = reading the same files and parsing them with js-yaml's event parser (the loader's fast path reads through it) and js-yaml's own construction of plain values (YAML 1.1 scalars and merge keys, no timestamps) plus each document's line, nothing else: the fastest correct parser measured, and the floor the targets use; `yaml floor` = the same with the yaml package and the loader's options (YAML 1.1, unique keys, merge keys, line counter), the loader's fallback. Each runs in its own process. MB/s = input MB (10^6 bytes) / audit time.",
    '',
  );
  const altCpu = (r: Sample): number | undefined => r.alt?.cpuMs;
  const rows: string[][] = [];
  for (const c of x.corpora) {
    const s = x.samples.get(c.name)!;
    const phase = (k: 'loadCpuMs' | 'evaluateCpuMs' | 'renderCpuMs'): string => fmt(med(s.map((r) => r.audit[k])));
    rows.push([
      c.name,
      stat(s.map((r) => r.audit.auditMs)),
      stat(s.map((r) => r.audit.cpuMs)),
      `${phase('loadCpuMs')} / ${phase('evaluateCpuMs')} / ${phase('renderCpuMs')}`,
      stat(s.map(altCpu)),
      stat(s.map((r) => r.parse.cpuMs)),
      stat(
        s.map((r) => (r.alt ? r.audit.cpuMs / r.alt.cpuMs : undefined)),
        2,
      ),
      stat(
        s.map((r) => r.audit.cpuMs / r.parse.cpuMs),
        2,
      ),
      stat(
        s.map((r) => c.bytes / 1e6 / (r.audit.auditMs / 1000)),
        2,
      ),
      stat(
        s.map((r) => c.bytes / 1e6 / (r.audit.cpuMs / 1000)),
        2,
      ),
      stat(s.map((r) => r.auditProc.rssMiB)),
    ]);
  }
  L.push(
    table(
      [
        'corpus',
        'audit ms (wall)',
        'audit CPU ms',
        'CPU ms load / evaluate / report (median)',
        'js-yaml floor CPU ms',
        'yaml floor CPU ms',
        'audit/js-yaml floor (CPU)',
        'audit/yaml floor (CPU)',
        'MB/s (wall)',
        'MB/s per CPU-second',
        'peak RSS MiB',
      ],
      rows,
    ),
    '',
  );

  // Linearity.
  const gen = x.corpora.filter((c) => c.info);
  const perObj = gen.map((c) => {
    const s = x.samples.get(c.name)!;
    return {
      c,
      wall: med(s.map((r) => r.audit.auditMs)) / c.objects,
      cpu: med(s.map((r) => r.audit.cpuMs)) / c.objects,
      parseCpu: med(s.map(altCpu)) / c.objects,
      evalCpu: med(s.map((r) => r.audit.evaluateCpuMs)) / c.objects,
    };
  });
  L.push('### Linearity (time per object)', '');
  L.push(
    table(
      [
        'corpus',
        'audit µs/object (wall)',
        'audit µs/object (CPU)',
        'js-yaml floor µs/object (CPU)',
        'evaluate µs/object (CPU)',
      ],
      perObj.map((p) => [
        p.c.name,
        fmt(p.wall * 1000),
        fmt(p.cpu * 1000),
        fmt(p.parseCpu * 1000),
        fmt(p.evalCpu * 1000),
      ]),
    ),
    '',
  );

  // Parse floors.
  L.push('### Parse floors', '');
  if (x.haveAlt && x.altCheck) {
    const a = x.altCheck as {
      version: string;
      documents: number;
      valueMismatches: number;
      lineMismatches: number;
      probes: Array<{ name: string; yaml: string; jsYaml: string }>;
    };
    L.push(
      `js-yaml ${a.version} (the project's dependency) through its event parser, with YAML 1.1 scalars and merge keys but no timestamps (as the loader reads them), and each document's line from the event offsets; the loader reads through the same event parser (policies/input/fast-parse.ts) and falls back to the yaml package for text the fast path does not take. ` +
        `On ${a.documents} documents of the ${x.corpora.length > 2 ? 'second' : 'first'} corpus the js-yaml floor gave ${a.valueMismatches} value and ${a.lineMismatches} line differences from the yaml floor. Inputs that must be refused or read as YAML 1.1:`,
      '',
    );
    L.push(
      table(
        ['probe', 'yaml', 'js-yaml'],
        a.probes.map((p) => [p.name, p.yaml, p.jsYaml]),
      ),
      '',
    );
    L.push(
      table(
        [
          'corpus',
          'js-yaml floor CPU ms',
          'js-yaml floor wall ms',
          'yaml floor CPU ms',
          'yaml floor wall ms',
          'js-yaml / yaml (CPU)',
        ],
        x.corpora.map((c) => {
          const s = x.samples.get(c.name)!;
          return [
            c.name,
            stat(s.map(altCpu)),
            stat(s.map((r) => r.alt?.parseMs)),
            stat(s.map((r) => r.parse.cpuMs)),
            stat(s.map((r) => r.parse.parseMs)),
            stat(
              s.map((r) => (r.alt ? r.alt.cpuMs / r.parse.cpuMs : undefined)),
              2,
            ),
          ];
        }),
      ),
      '',
    );
  } else {
    L.push(
      `js-yaml was not found in ${ALT_DIR ?? 'the build'}/node_modules, so the js-yaml floor was not measured.`,
      '',
    );
  }

  // Targets.
  const big = gen[gen.length - 1];
  const bigS = big ? x.samples.get(big.name)! : [];
  const ratioAlt = med(bigS.map((r) => (r.alt ? r.audit.cpuMs / r.alt.cpuMs : undefined)));
  const ratioYaml = med(bigS.map((r) => r.audit.cpuMs / r.parse.cpuMs));
  const mbs = big ? med(bigS.map((r) => big.bytes / 1e6 / (r.audit.auditMs / 1000))) : NaN;
  const mbsCpu = big ? med(bigS.map((r) => big.bytes / 1e6 / (r.audit.cpuMs / 1000))) : NaN;
  const floorMbsCpu = big ? med(bigS.map((r) => (r.alt ? big.bytes / 1e6 / (r.alt.cpuMs / 1000) : undefined))) : NaN;
  const rss = med(bigS.map((r) => r.auditProc.rssMiB));
  const lin = perObj.length >= 2 ? perObj[perObj.length - 1].cpu / perObj[0].cpu : NaN;
  const linMid = perObj.length >= 3 ? perObj[perObj.length - 1].cpu / perObj[1].cpu : NaN;
  const yes = (b: boolean): string => (b ? '**met**' : '**not met**');
  const T: string[][] = [];
  T.push([
    AUDIT_TARGETS[0],
    yes(ratioAlt <= 2),
    `${fmt(ratioAlt, 2)}x the js-yaml floor's CPU (${fmt(ratioYaml, 2)}x the yaml floor's) at ${big?.objects ?? '?'} objects, same repetition; the audit's load alone is ${fmt(
      med(bigS.map((r) => (r.alt ? r.audit.loadCpuMs / r.alt.cpuMs : undefined))),
      2,
    )}x the js-yaml floor, evaluate and report come on top`,
  ]);
  T.push([
    AUDIT_TARGETS[1],
    yes(mbs >= 10),
    `${fmt(mbs, 2)} MB/s wall, ${fmt(mbsCpu, 2)} MB/s per CPU-second at ${big?.objects ?? '?'} objects; parsing alone with the fastest parser measured (the js-yaml floor) runs at ${fmt(floorMbsCpu, 2)} MB/s per CPU-second${
      floorMbsCpu < 10
        ? ', so no audit that parses its YAML reaches 10 MB/s on this machine'
        : `, so an audit within 2x of it would give ${fmt(floorMbsCpu / 2, 1)} MB/s`
    }`,
  ]);
  T.push([`${AUDIT_TARGETS[2]} ${big?.objects ?? '?'} objects`, yes(rss < 1024), `peak RSS ${fmt(rss)} MiB`]);
  // The smallest size carries JIT warm-up, so the step from the middle to the largest size counts too.
  const linWorst = Number.isFinite(linMid) ? Math.max(lin, linMid) : lin;
  const evalGrowth = perObj.length >= 2 ? perObj[perObj.length - 1].evalCpu / perObj[perObj.length - 2].evalCpu : NaN;
  T.push([
    AUDIT_TARGETS[3],
    yes(linWorst <= 1.3),
    `CPU per object at the largest size is ${fmt(lin, 2)}x that at the smallest${Number.isFinite(linMid) ? ` and ${fmt(linMid, 2)}x that at the middle size` : ''} (met when both ≤ 1.3x); evaluate CPU per object grows ${fmt(evalGrowth, 2)}x between the two largest sizes`,
  ]);
  return { corpora: C, audit: L, targets: T };
}

type PeersInput = Pick<ReportInput, 'corpora' | 'samples' | 'peers' | 'ours' | 'peerFindings'>;

/**
 * "## Peers on the same corpus, same run" (timings and ratios per corpus, the insecure-corpus
 * comparison both ways) and the peers' rows of the targets table.
 */
function peersSection(x: PeersInput): { lines: string[]; targets: string[][] } {
  const L: string[] = [];
  L.push(PEERS_HEADING, '');
  if (x.peers.length === 0) {
    L.push(
      'No peer binary was found (kube-score, kubesec, trivy) in $HCB_BENCH_PEER_BIN, the toolchain bin dir, /tmp/hcb-peers/bin or PATH; see "How to reproduce".',
      '',
    );
  } else {
    L.push(
      'Each tool gets the same files in one process (kubesec, which scans one file, gets them as one stream through `sh` and `cat`, counted in its figures). Process figures (wall, CPU, peak RSS) include start-up for every tool. Ratio = ours / theirs within the same repetition (< 1: we are faster). ' +
        'kube-score and kubesec read only Kubernetes API objects and skip the control-plane files; we check those too. ' +
        "Trivy (`trivy config`, its Kubernetes scanner only) reads the API objects too, and its KCV checks look at the flags of kubeadm's control-plane static pods, not at the kubeadm, kubelet or audit configuration files.",
      '',
    );
    const prow: string[][] = [];
    for (const c of x.corpora) {
      const s = x.samples.get(c.name)!;
      prow.push([
        c.name,
        'hcb audit',
        stat(s.map((r) => r.auditProc.wallMs)),
        stat(s.map((r) => r.auditProc.cpuMs)),
        stat(s.map((r) => r.auditProc.rssMiB)),
        '',
        '',
      ]);
      for (const p of x.peers) {
        if (s.every((r) => r.peers[p.name] === undefined)) {
          prow.push(['', p.name, `not run (above ${p.maxObjects?.toLocaleString('en')} objects)`, '', '', '', '']);
          continue;
        }
        const to = s.some((r) => r.peers[p.name]?.timedOut);
        prow.push([
          '',
          p.name + (to ? ' (timed out)' : ''),
          stat(s.map((r) => r.peers[p.name]?.wallMs)),
          stat(s.map((r) => r.peers[p.name]?.cpuMs)),
          stat(s.map((r) => r.peers[p.name]?.rssMiB)),
          stat(
            s.map((r) => r.auditProc.wallMs / (r.peers[p.name]?.wallMs ?? NaN)),
            2,
          ),
          stat(
            s.map((r) => (r.auditProc.cpuMs ?? NaN) / (r.peers[p.name]?.cpuMs ?? NaN)),
            2,
          ),
        ]);
      }
    }
    L.push(
      table(['corpus', 'tool', 'wall ms', 'CPU ms', 'peak RSS MiB', 'ours/theirs wall', 'ours/theirs CPU'], prow),
      '',
    );
    L.push('Versions: ' + x.peers.map((p) => `${p.name} ${p.version}`).join('; ') + '.', '');
  }

  // Insecure comparison.
  L.push('### What each finds on test/fixtures/insecure', '');
  const flagged = new Map<string, Set<string>>(); // control → objects
  const notEval = new Map<string, Set<string>>();
  for (const f of x.ours) {
    if (!f.object?.kind) continue;
    const key = objectKey(f.object.kind, f.object.namespace, f.object.name);
    const m =
      f.status === 'fail' || f.status === 'error'
        ? flagged
        : f.status === 'not-evaluated' || f.status === 'not-applicable'
          ? notEval
          : undefined;
    if (!m) continue;
    if (!m.has(f.control)) m.set(f.control, new Set());
    m.get(f.control)!.add(key);
  }
  const nsOf = (key: string): string => `Namespace//${key.split('/')[1]}`;
  const missRows: string[][] = [];
  for (const [peer, fs_] of x.peerFindings) {
    const byCheck = new Map<string, Set<string>>();
    for (const f of fs_) {
      if (!byCheck.has(f.check)) byCheck.set(f.check, new Set());
      byCheck.get(f.check)!.add(f.object);
    }
    for (const [check, objs] of [...byCheck].sort()) {
      const m = PEER_MAP[peer]?.[check];
      let both = 0;
      let ne = 0;
      const missed: string[] = [];
      for (const o of objs) {
        const hit = (m?.controls ?? []).some(
          (c) => flagged.get(c)?.has(o) || (m?.namespace && flagged.get(c)?.has(nsOf(o))),
        );
        const n = (m?.controls ?? []).some((c) => notEval.get(c)?.has(o));
        if (hit) both++;
        else if (n) ne++;
        else missed.push(o);
      }
      const reason =
        missed.length === 0
          ? ''
          : (m?.reason ?? (m ? 'NO WRITTEN REASON' : 'check not in bench/peers.ts PEER_MAP: NO WRITTEN REASON'));
      missRows.push([
        peer,
        check,
        String(objs.size),
        String(both),
        String(ne),
        missed.length ? `${missed.length}: ${missed.join(', ')}` : '0',
        (m?.controls ?? []).map((c) => c.replace('HCB-', '')).join(', ') || '—',
        reason,
      ]);
    }
  }
  if (missRows.length) {
    L.push(
      "Peer check → objects it flags; how many of those we flag with the matching control (same object, or its Namespace for network policies), report as not evaluated or not applicable (our finding then gives the reason, e.g. for kubeadm's control-plane static pods), or pass; why, where we pass.",
      '',
    );
    L.push(
      table(
        [
          'peer',
          'check',
          'objects',
          'we flag too',
          'we: not evaluated / not applicable',
          'only the peer flags',
          'our control',
          'reason where only the peer flags',
        ],
        missRows,
      ),
      '',
    );
  }
  // The other way round.
  const back: string[][] = [];
  for (const [control, objs] of [...flagged].sort()) {
    const cells = [...x.peerFindings].map(([peer, fs_]) => {
      const checks = Object.entries(PEER_MAP[peer] ?? {})
        .filter(([, m]) => m.controls.includes(control))
        .map(([k]) => k);
      if (checks.length === 0) return 'no such check';
      let n = 0;
      for (const o of objs)
        if (
          fs_.some(
            (f) =>
              checks.includes(f.check) && (f.object === o || (o.startsWith('Namespace//') && nsOf(f.object) === o)),
          )
        )
          n++;
      return `${n} of ${objs.size}`;
    });
    back.push([control.replace('HCB-', ''), String(objs.size), ...cells]);
  }
  L.push('Our failing controls → how many of the same objects each peer flags:', '');
  L.push(table(['our control', 'objects we flag', ...[...x.peerFindings.keys()]], back), '');

  const yes = (b: boolean): string => (b ? '**met**' : '**not met**');
  const T: string[][] = [];
  for (const p of x.peers) {
    const worst = x.corpora.map((c) =>
      med(x.samples.get(c.name)!.map((r) => (r.auditProc.cpuMs ?? NaN) / (r.peers[p.name]?.cpuMs ?? NaN))),
    );
    const worstWall = x.corpora.map((c) =>
      med(x.samples.get(c.name)!.map((r) => r.auditProc.wallMs / (r.peers[p.name]?.wallMs ?? NaN))),
    );
    // Corpora the peer did not run on (above its maxObjects) are left out of the judgement.
    const ok =
      worst.some(Number.isFinite) &&
      worst.every((v) => !Number.isFinite(v) || v < 1) &&
      worstWall.every((v) => !Number.isFinite(v) || v < 1);
    T.push([
      `faster than ${p.name} on equal input`,
      yes(ok),
      `ours/theirs per corpus, CPU: ${worst.map((v) => fmt(v, 2)).join(', ')}; wall: ${worstWall.map((v) => fmt(v, 2)).join(', ')} (${x.corpora.map((c) => c.name).join(', ')})`,
    ]);
  }
  const unexplained = missRows.filter((r) => r[7].includes('NO WRITTEN REASON'));
  // A peer whose findings on the insecure corpus could not be read (it failed, or hit the bound) was
  // not compared: the target cannot count as met for it.
  const uncompared = x.peers.map((p) => p.name).filter((n) => !x.peerFindings.has(n));
  if (x.peers.length)
    T.push([
      'nothing a peer finds that we miss without a written reason',
      yes(unexplained.length === 0 && uncompared.length === 0),
      [
        unexplained.length ? `unexplained: ${unexplained.map((r) => `${r[0]} ${r[1]}`).join(', ')}` : '',
        uncompared.length ? `not compared (no readable findings on the insecure corpus): ${uncompared.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ') || 'every peer finding we do not share has a reason in the table above',
    ]);
  const trivy = x.peers.find((p) => p.name === 'trivy');
  T.push([
    TRIVY_TARGET,
    trivy ? '**done**' : '**not done**',
    trivy
      ? `built from its Go module in the toolchain's bench lane (tools/build-toolchain.sh --only bench), offline with its compiled-in checks; compared above`
      : 'no trivy binary found: build it with `bash tools/build-toolchain.sh --only bench`',
  ]);
  return { lines: L, targets: T };
}

/** Our JSON report and each peer's findings on test/fixtures/insecure. */
function insecureFindings(
  cli: string,
  work: string,
  peers: Peer[],
): { ours: ReportInput['ours']; peerFindings: ReportInput['peerFindings'] } {
  const insecure = path.join(REPO, 'test/fixtures/insecure');
  log('insecure corpus: findings of each tool');
  const oursReport = path.join(work, 'insecure.json');
  const o = runBounded(process.execPath, [cli, 'audit', insecure, '--format', 'json', '--output', oursReport], {
    cwd: REPO,
    timeoutMs: PEER_TIMEOUT_MS,
  });
  if (o.timedOut || !fs.existsSync(oursReport))
    throw new Error(
      `bench: our audit of ${insecure} ${o.timedOut ? 'did not finish inside the bound' : `wrote no report (exit ${o.status})`}`,
    );
  const ours = (
    JSON.parse(fs.readFileSync(oursReport, 'utf8')) as {
      results: Array<{
        control: string;
        status: string;
        object?: { kind?: string; namespace?: string | null; name?: string | null };
      }>;
    }
  ).results;
  const peerFindings = new Map<string, ReturnType<Peer['findings']>>();
  for (const peer of peers) {
    const r = runBounded(peer.bin, peer.args(yamlFilesOf(insecure)), { cwd: REPO, timeoutMs: PEER_TIMEOUT_MS });
    if (r.timedOut) {
      log(`${peer.name}: did not finish on the insecure corpus inside the bound; its findings are left out`);
      continue;
    }
    try {
      peerFindings.set(peer.name, peer.findings(r.stdout, yamlFilesOf(insecure)));
    } catch (e) {
      log(`${peer.name}: cannot read its output: ${(e as Error).message}`);
    }
  }

  return { ours, peerFindings };
}

/** A `## ` section of an existing file, up to the next `## ` heading (without trailing blank lines). */
function preservedSection(file: string, heading: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) return undefined;
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  return lines.slice(start, end).join('\n').trimEnd();
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
