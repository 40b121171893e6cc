/**
 * Large inputs (issue 15): `hcb audit` of generated corpora far beyond the regular benchmark, each
 * in its own process under GNU time: wall and CPU time, peak RSS, exit code and how the run ended
 * (completed, or stopped at a limit with which message). A benchmark, not a test: nothing here
 * runs in `npm test`. Prints a Markdown table for BENCHMARKS.md ("Large inputs").
 *
 *   npx ts-node --transpile-only bench/large.ts [N[:MAXDOCS]...]   (default: 100000 125000 125000:125000 1250000)
 *
 * N:MAXDOCS runs with HCB_MAX_DOCUMENTS=MAXDOCS. Corpora (bench/corpus.ts, fixed seed) and a
 * transpiled build (bench/build.ts) go to $TMPDIR/hcb-large; 1,250,000 documents need ~0.75 GB of disk.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildForBench } from './build';
import { writeCorpus } from './corpus';

const REPO = path.resolve(__dirname, '..');
const WORK = path.join(os.tmpdir(), 'hcb-large');
const TIME = '/usr/bin/time';

interface Run {
  n: number;
  maxDocs?: number;
  files: number;
  mb: number;
  wallS: number;
  cpuS: number;
  peakMiB: number;
  exit: number;
  outcome: string;
}

function field(text: string, name: string): string {
  const m = new RegExp(`${name}: (.*)`).exec(text);
  return m ? m[1].trim() : '';
}

function seconds(clock: string): number {
  return clock.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

function measure(
  cli: string,
  dir: string,
  n: number,
  maxDocs: number | undefined,
  info: { files: number; bytes: number },
): Run {
  const report = path.join(WORK, `report-${n}-${maxDocs ?? 'default'}.json`);
  const env = { ...process.env };
  if (maxDocs !== undefined) env.HCB_MAX_DOCUMENTS = String(maxDocs);
  else delete env.HCB_MAX_DOCUMENTS;
  const r = spawnSync(TIME, ['-v', process.execPath, cli, 'audit', dir, '--format', 'json', '--output', report], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const err = r.stderr ?? '';
  let outcome = 'no report';
  if (fs.existsSync(report)) {
    const results = (
      JSON.parse(fs.readFileSync(report, 'utf8')) as { results: { control: string; status: string; message: string }[] }
    ).results;
    const stop = results.find((x) => x.status === 'error' && /HCB_MAX_DOCUMENTS|heap/.test(x.message));
    outcome = stop
      ? `stopped: ${stop.message.replace(/^[^ ]+: /, '').slice(0, 110)}…`
      : `completed: ${results.length} findings, ${results.filter((x) => x.status === 'fail').length} failing, report ${(fs.statSync(report).size / 1e6).toFixed(0)} MB`;
    fs.rmSync(report);
  } else {
    const last = err
      .split('\n')
      .filter((l) => l.startsWith('hcb'))
      .pop();
    if (last) outcome = last;
  }
  return {
    n,
    maxDocs,
    files: info.files,
    mb: info.bytes / 1e6,
    wallS: seconds(field(err, 'Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)')),
    cpuS: Number(field(err, 'User time \\(seconds\\)')) + Number(field(err, 'System time \\(seconds\\)')),
    peakMiB: Number(field(err, 'Maximum resident set size \\(kbytes\\)')) / 1024,
    exit: Number(field(err, 'Exit status')),
    outcome,
  };
}

function main(): void {
  const specs = (
    process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['100000', '125000', '125000:125000', '1250000']
  ).map((s) => {
    const [n, max] = s.split(':').map(Number);
    return { n, maxDocs: max };
  });
  fs.mkdirSync(WORK, { recursive: true });
  const build = path.join(WORK, 'build');
  fs.rmSync(build, { recursive: true, force: true });
  buildForBench(REPO, build);
  const cli = path.join(build, 'cli/main.js');
  const synth = path.join(WORK, 'synth');
  fs.rmSync(synth, { recursive: true, force: true });
  execFileSync(process.execPath, [cli, 'synth', '--out', synth], { stdio: ['ignore', 'ignore', 'inherit'] });
  const controlPlane = fs.readFileSync(path.join(synth, 'control-plane.yaml'), 'utf8');
  const corpora = new Map<number, { dir: string; files: number; bytes: number }>();
  const runs: Run[] = [];
  for (const { n, maxDocs } of specs) {
    if (!corpora.has(n)) {
      const dir = path.join(WORK, `corpus-${n}`);
      fs.rmSync(dir, { recursive: true, force: true });
      const info = writeCorpus(n, dir, controlPlane, REPO);
      corpora.set(n, { dir, files: info.files, bytes: info.bytes });
    }
    const c = corpora.get(n)!;
    process.stderr.write(
      `bench/large: auditing ${n} documents${maxDocs !== undefined ? ` (HCB_MAX_DOCUMENTS=${maxDocs})` : ''}\n`,
    );
    runs.push(measure(cli, c.dir, n, maxDocs, c));
  }
  const rows = runs.map(
    (r) =>
      `| ${r.n.toLocaleString('en')} | ${r.maxDocs !== undefined ? r.maxDocs.toLocaleString('en') : 'default'} | ${r.files} | ${r.mb.toFixed(0)} | ${r.wallS.toFixed(0)} | ${r.cpuS.toFixed(0)} | ${r.peakMiB.toFixed(0)} | ${r.exit} | ${r.outcome} |`,
  );
  process.stdout.write(
    [
      '| documents | HCB_MAX_DOCUMENTS | files | MB | wall s | CPU s | peak RSS MiB | exit | outcome |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Machine: ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(', ')} at the end; Node.js ${process.version}.`,
      '',
    ].join('\n'),
  );
}

main();
