/**
 * Where evaluate time goes, per control, and whether it grows with the input: loads generated
 * corpora (bench/corpus.ts, fixed seed) once each, builds the check context once, then runs every
 * automated control's check on it, one after the other, several times, and prints for each control
 * the median CPU µs per document at each size and the growth between sizes (1.0 = linear). A
 * benchmark, not a test: nothing here runs in `npm test`.
 *
 *   npx ts-node --transpile-only bench/controls.ts [N...]   (default: 5000 20000; 3 repetitions)
 *
 * The control-plane set of each corpus is the blueprint's own control-plane.yaml when
 * HCB_BENCH_CONTROL_PLANE names one (from `hcb synth`), else test/fixtures/insecure's.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeCorpus } from './corpus';
import { loadInputs } from '../policies/input';
import { CATALOGUE } from '../policies/catalogue';
import { buildContext } from '../policies/context';

const REPO = path.resolve(__dirname, '..');
const REPS = Number(process.env.HCB_BENCH_REPS ?? 3);

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).length > 0 ? process.argv.slice(2).map(Number) : [5000, 20000];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-controls-'));
  const cpFile = process.env.HCB_BENCH_CONTROL_PLANE;
  const cpText = cpFile
    ? fs.readFileSync(cpFile, 'utf8')
    : fs
        .readdirSync(path.join(REPO, 'test/fixtures/insecure/control-plane'))
        .map((f) => fs.readFileSync(path.join(REPO, 'test/fixtures/insecure/control-plane', f), 'utf8'))
        .join('\n---\n');
  const controls = CATALOGUE.filter((c) => c.automation === 'automated' && typeof c.check === 'function');
  const perDoc = new Map<string, number[]>();
  const context: number[] = [];
  const total: number[] = [];
  try {
    for (const n of sizes) {
      const dir = path.join(work, `c${n}`);
      writeCorpus(n, dir, cpText, REPO);
      const loaded = await loadInputs([dir], { cwd: work });
      const docs = loaded.documents;
      const c0 = cpuUs();
      const ctx = buildContext(docs);
      context.push((cpuUs() - c0) / docs.length);
      const times = new Map<string, number[]>();
      for (let r = 0; r < REPS; r++) {
        for (const c of controls) {
          const t = cpuUs();
          c.check!(ctx);
          const list = times.get(c.id) ?? [];
          list.push(cpuUs() - t);
          times.set(c.id, list);
        }
      }
      let sum = 0;
      for (const c of controls) {
        const us = median(times.get(c.id)!) / docs.length;
        sum += us;
        perDoc.set(c.id, [...(perDoc.get(c.id) ?? []), us]);
      }
      total.push(sum);
      process.stderr.write(
        `${n} objects: ${docs.length} documents, checks ${((sum * docs.length) / 1000).toFixed(0)} ms CPU (median of ${REPS})\n`,
      );
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const head = sizes.map((n) => `µs/doc at ${n}`);
  const growth = (xs: number[]): string => (xs.length > 1 && xs[0] > 0 ? (xs[xs.length - 1] / xs[0]).toFixed(2) : '');
  const lines = [`| control | ${head.join(' | ')} | growth |`, `|---|${head.map(() => '---|').join('')}---|`];
  lines.push(`| (context) | ${context.map((x) => x.toFixed(2)).join(' | ')} | ${growth(context)} |`);
  lines.push(`| **all checks** | ${total.map((x) => x.toFixed(1)).join(' | ')} | ${growth(total)} |`);
  const rows = [...perDoc.entries()].sort((a, b) => b[1][b[1].length - 1] - a[1][a[1].length - 1]);
  for (const [id, xs] of rows.slice(0, Number(process.env.HCB_BENCH_TOP ?? 15))) {
    lines.push(`| ${id} | ${xs.map((x) => x.toFixed(2)).join(' | ')} | ${growth(xs)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
