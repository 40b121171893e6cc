/**
 * Does a change to the loader, the engine or the report keep every result? Builds the working
 * tree (bench/build.ts), writes the benchmark corpus of N objects (bench/corpus.ts, fixed seed;
 * the control-plane set from this build's `hcb synth`) and the JSON report of our audit of it
 * (bench/child.ts audit mode, fixed clock) to OUT; with --against FILE, compares OUT with FILE byte
 * for byte and exits 1 at the first difference. Not a test (a 10,000-object corpus takes seconds
 * of CPU); run it before and after a change:
 *
 *   npx ts-node --transpile-only bench/same-findings.ts 10000 /tmp/before.json          # before
 *   npx ts-node --transpile-only bench/same-findings.ts 10000 /tmp/after.json --against /tmp/before.json
 *
 * The corpus and build go to $TMPDIR/hcb-same-findings (kept, so that bench/child.js can be
 * profiled on the same corpus: node --cpu-prof BUILD/bench/child.js audit CORPUS).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildForBench } from './build';
import { writeCorpus } from './corpus';

const REPO = path.resolve(__dirname, '..');

function main(argv: string[]): number {
  const n = Number(argv[0]);
  const out = argv[1] ? path.resolve(argv[1]) : undefined;
  const ai = argv.indexOf('--against');
  const against = ai >= 0 ? path.resolve(argv[ai + 1]) : undefined;
  if (!Number.isInteger(n) || n <= 0 || !out) {
    process.stderr.write('usage: bench/same-findings.ts N OUT.json [--against BEFORE.json]\n');
    return 2;
  }
  const work = path.join(os.tmpdir(), 'hcb-same-findings');
  const build = path.join(work, 'build');
  fs.rmSync(build, { recursive: true, force: true });
  buildForBench(REPO, build);
  const corpus = path.join(work, `corpus-${n}`);
  if (!fs.existsSync(corpus)) {
    const synth = path.join(work, 'synth');
    fs.rmSync(synth, { recursive: true, force: true });
    execFileSync(process.execPath, [path.join(build, 'cli/main.js'), 'synth', '--out', synth], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    writeCorpus(n, corpus, fs.readFileSync(path.join(synth, 'control-plane.yaml'), 'utf8'), REPO);
  }
  const line = execFileSync(process.execPath, [path.join(build, 'bench/child.js'), 'audit', corpus], {
    cwd: build,
    env: { ...process.env, HCB_BENCH_REPORT: out },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(line);
  if (!against) return 0;
  const a = fs.readFileSync(against);
  const b = fs.readFileSync(out);
  if (a.equals(b)) {
    process.stdout.write(`same: ${out} and ${against} are byte-identical (${b.length} bytes)\n`);
    return 0;
  }
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 200);
  process.stdout.write(
    `DIFFERENT at byte ${i} (${a.length} vs ${b.length} bytes)\nbefore: ${a.subarray(from, i + 200).toString()}\nafter:  ${b.subarray(from, i + 200).toString()}\n`,
  );
  return 1;
}

process.exitCode = main(process.argv.slice(2));
