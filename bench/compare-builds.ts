/**
 * CPU time of the audit of one corpus by two builds, runs alternated so that the machine's load
 * hits both alike (a loaded machine inflates wall time, far less CPU time): the median CPU ms of
 * load, evaluate and report (bench/child.ts audit mode) and the peak RSS of each build. Used to
 * measure what a change to the loader, engine or report gains; not a test.
 *
 *   npx ts-node --transpile-only bench/compare-builds.ts BEFORE_BUILD AFTER_BUILD CORPUS_DIR [REPS]
 *
 * A build is a directory made by bench/build.ts (bench/same-findings.ts leaves one of the working
 * tree in $TMPDIR/hcb-same-findings/build); for the state of a commit:
 *   git archive COMMIT constructs policies cli stacks bench tsconfig.json package.json | tar -x -C SRC
 *   ln -s $PWD/node_modules SRC/node_modules
 *   npx ts-node --transpile-only -e "require('./bench/build').buildForBench('SRC','BUILD')"
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

interface Sample {
  loadCpuMs: number;
  evaluateCpuMs: number;
  renderCpuMs: number;
  cpuMs: number;
  peakRssMiB: number;
  findings: number;
}

function run(build: string, corpus: string): Sample {
  const tf = path.join(os.tmpdir(), `hcb-compare-${process.pid}`);
  const r = spawnSync('/usr/bin/time', ['-o', tf, '-f', '%M', process.execPath, 'bench/child.js', 'audit', corpus], {
    cwd: build,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${build}: exit ${r.status}: ${r.stderr}`);
  const v = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Sample;
  v.peakRssMiB = Number(fs.readFileSync(tf, 'utf8').trim().split('\n').pop()) / 1024;
  fs.rmSync(tf, { force: true });
  return v;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function main(argv: string[]): void {
  const [a, b, corpus] = argv.slice(0, 3).map((p) => path.resolve(p));
  const reps = Number(argv[3] ?? 3);
  const samples: Record<'before' | 'after', Sample[]> = { before: [], after: [] };
  for (let i = 0; i < reps; i++) {
    // Alternate which goes first.
    const order: Array<['before' | 'after', string]> =
      i % 2 === 0
        ? [
            ['before', a],
            ['after', b],
          ]
        : [
            ['after', b],
            ['before', a],
          ];
    for (const [name, build] of order) {
      const s = run(build, corpus);
      samples[name].push(s);
      process.stderr.write(
        `${name} ${i + 1}: load ${s.loadCpuMs.toFixed(0)} evaluate ${s.evaluateCpuMs.toFixed(0)} report ${s.renderCpuMs.toFixed(0)} total ${s.cpuMs.toFixed(0)} ms CPU, ${s.peakRssMiB.toFixed(0)} MiB\n`,
      );
    }
  }
  const keys = ['loadCpuMs', 'evaluateCpuMs', 'renderCpuMs', 'cpuMs', 'peakRssMiB'] as const;
  const rows = keys.map((k) => {
    const x = median(samples.before.map((s) => s[k]));
    const y = median(samples.after.map((s) => s[k]));
    return `| ${k} | ${x.toFixed(0)} | ${y.toFixed(0)} | ${(y / x).toFixed(2)} |`;
  });
  process.stdout.write(
    [
      `corpus ${corpus}, ${reps} runs each, medians; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(', ')}`,
      '| | before | after | after/before |',
      '|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

main(process.argv.slice(2));
