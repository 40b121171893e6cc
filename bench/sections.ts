/**
 * BENCHMARKS.md sections for the admission (bench/admission.ts) and Pulumi (bench/pulumi.ts)
 * measurements, and the splice that `npm run bench -- --only admission|pulumi` uses to replace
 * one section (and its row of the targets table) in an existing BENCHMARKS.md.
 */
import * as fs from 'fs';
import type { AdmissionProfile, AdmissionResult, AdmissionRun } from './admission';
import { variantOf } from './pulumi';
import type { PulumiResult, PulumiRun, PulumiStep } from './pulumi';

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

/** The API server's CPU milliseconds per created object in one admission run (its /metrics). */
function cpuMsPerObject(p: AdmissionProfile, objects: number): number {
  return (p.apiserverCpuS * 1000) / objects;
}

/** A load-average triple as printed in the sections. */
function fmtLoad(l: readonly number[]): string {
  return l.map((x) => x.toFixed(1)).join(', ');
}

export const ADMISSION_HEADING = '## Admission';
export const PULUMI_HEADING = '## Pulumi';
export const ADMISSION_TARGET = 'admission latency with the generated ValidatingAdmissionPolicies';
export const PULUMI_TARGET = 'Pulumi preview/up at 50 and 500 namespaces';

type Mode = AdmissionRun['mode'];
const MODE_NAME: Record<Mode, string> = {
  without: 'without',
  with: 'with the policies (grouped, as rendered)',
  'per-control': 'one policy per control',
};

/** The runs of one mode with `inFlight` requests in flight (older results carry no per-run concurrency). */
function runsOf(r: AdmissionResult, mode: Mode, inFlight = r.concurrency): AdmissionRun[] {
  return r.runs.filter((x) => x.mode === mode && (x.concurrency ?? r.concurrency) === inFlight);
}

/** Overhead (mode − without) per repetition: the runs of a repetition ran back to back. */
function overheads(
  r: AdmissionResult,
  key: 'p50Ms' | 'p99Ms',
  mode: Mode = 'with',
  inFlight = r.concurrency,
): number[] {
  const out: number[] = [];
  for (let rep = 0; rep < r.repetitions; rep++) {
    const w = runsOf(r, mode, inFlight).find((x) => x.repetition === rep);
    const wo = runsOf(r, 'without', inFlight).find((x) => x.repetition === rep);
    if (w && wo) out.push(w[key] - wo[key]);
  }
  return out;
}

function latencyTable(r: AdmissionResult, modes: Mode[], inFlight: number): string {
  const rows: string[][] = [];
  for (const mode of modes) {
    const runs = runsOf(r, mode, inFlight);
    rows.push([
      MODE_NAME[mode],
      String(runs.length),
      stat(
        runs.map((x) => x.p50Ms),
        1,
      ),
      stat(
        runs.map((x) => x.p90Ms),
        1,
      ),
      stat(
        runs.map((x) => x.p99Ms),
        1,
      ),
      stat(
        runs.map((x) => x.maxMs),
        0,
      ),
      stat(
        runs.map((x) => x.objects / (x.wallMs / 1000)),
        0,
      ),
      String(runs.reduce((t, x) => t + x.errors, 0)),
    ]);
  }
  for (const mode of modes.filter((m) => m !== 'without'))
    rows.push([
      `overhead (${mode === 'with' ? 'grouped' : 'per control'} − without)`,
      String(overheads(r, 'p50Ms', mode, inFlight).length),
      stat(overheads(r, 'p50Ms', mode, inFlight), 1),
      '',
      stat(overheads(r, 'p99Ms', mode, inFlight), 1),
      '',
      '',
      '',
    ]);
  return table(['policies', 'runs', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'objects/s', 'errors'], rows);
}

export function admissionSection(r: AdmissionResult, date: string): string[] {
  const L: string[] = [ADMISSION_HEADING, ''];
  // The 1-minute average before the bench's own processes start: the end includes them.
  const loaded = r.loadAtStart[0];
  const modes = (['without', 'with', 'per-control'] as const).filter((m) => runsOf(r, m).length > 0);
  const sequential = r.sequentialObjects !== undefined && runsOf(r, 'with', 1).length > 0;
  L.push(
    `bench/admission.ts on ${date}: the local control plane (kube-apiserver ${r.serverVersion}, etcd, controller manager, scheduler from the toolchain; no node) on loopback ports 47600-47605, ` +
      `the blueprint's ${r.policies} ValidatingAdmissionPolicies and ${r.bindings} bindings (the default grouped layout: one policy per target and mode, one validation per control) applied by server-side apply as the stack applies them` +
      (modes.includes('per-control')
        ? `, and for comparison the same validations as ${r.perControlPolicies} policies, one per control (\`admissionLayout: 'per-control'\`, the layout before grouping). `
        : '. ') +
      `Each run creates ${r.objects.toLocaleString('en')} objects (half Deployments with 0 replicas, half suspended CronJobs, every one compliant, so each passes every matching policy's CEL and is admitted) ` +
      `in a namespace of its own, ${r.concurrency} requests in flight over keep-alive connections, after a warm-up of 200 objects. ` +
      `Latency = one POST as the client sees it; errors = any answer but 201 and any failed request. ${r.repetitions} repetitions, each one run per layout in an order reversed every other repetition` +
      (sequential
        ? `, then a sequential pair (${r.sequentialObjects!.toLocaleString('en')} objects, one request in flight, without and with the grouped policies)`
        : '') +
      `; a policy change is awaited by a dry-run privileged Deployment being refused (installed) or admitted (removed). Medians with min–max over the runs; overhead is the layout − without within a repetition.`,
    '',
  );
  L.push(
    loaded > 2
      ? `**Loaded machine**: load average ${fmtLoad(r.loadAtStart)} at the start (before the bench's own processes) and ${fmtLoad(r.loadAtEnd)} at the end on 2 CPUs (other builds and clusters were running), so the API server competes for CPU and the tail latencies (p99, max) mostly measure that; the alternating order spreads it over both modes.`
      : `Load average ${fmtLoad(r.loadAtStart)} (1, 5, 15 min) at the start, before the bench's own processes (the longer averages still hold what ran before), and ${fmtLoad(r.loadAtEnd)} at the end, its own control plane and client included, on 2 CPUs: nothing else ran.`,
    '',
  );
  L.push(`${r.concurrency} requests in flight:`, '', latencyTable(r, modes, r.concurrency), '');
  if (sequential)
    L.push(
      'One request in flight (no request queues behind another, so the overhead is what one request gains):',
      '',
      latencyTable(r, ['without', 'with'], 1),
      '',
    );
  const prof = (mode: Mode) =>
    runsOf(r, mode)
      .filter((x) => x.profile)
      .map((x) => x.profile!);
  if (prof('with').length && prof('without').length) {
    L.push(
      `Where the time goes, from the API server's own /metrics read before and after each run with ${r.concurrency} in flight (differences; the controller manager's writes in the same window, e.g. the Deployments' ReplicaSets, are included): ` +
        'API server CPU seconds (process_cpu_seconds_total), per created object; time inside each admission plugin per call (apiserver_admission_controller_admission_duration_seconds); ' +
        "time in the policies' validation expressions (apiserver_validating_admission_policy_check_duration_seconds, summed over policies).",
      '',
    );
    const vap = (p: AdmissionProfile) => p.plugins['ValidatingAdmissionPolicy/validate'];
    const cel = (p: AdmissionProfile) => Object.values(p.policies).reduce((t, x) => t + x.sumMs, 0);
    const prow: string[][] = modes.map((mode) => [
      MODE_NAME[mode],
      stat(
        prof(mode).map((p) => p.apiserverCpuS),
        1,
      ),
      stat(
        prof(mode).map((p) => cpuMsPerObject(p, r.objects)),
        2,
      ),
      stat(
        prof(mode).map((p) => vap(p)?.count),
        0,
      ),
      stat(
        prof(mode).map((p) => (vap(p) ? vap(p)!.sumMs / vap(p)!.count : undefined)),
        3,
      ),
      stat(
        prof(mode).map((p) => cel(p)),
        0,
      ),
      stat(
        prof(mode).map((p) => Object.values(p.policies).reduce((t, x) => t + x.count, 0)),
        0,
      ),
    ]);
    L.push(
      table(
        [
          'policies',
          'API server CPU s',
          'CPU ms per created object',
          'ValidatingAdmissionPolicy plugin calls',
          'plugin ms per call',
          'validation expressions ms (all policies)',
          'policy evaluations',
        ],
        prow,
      ),
      '',
    );
    if (modes.filter((m) => m !== 'without').every((m) => prof(m).every((p) => cel(p) === 0)))
      L.push(
        'The validation-expression column stays 0: kube-apiserver records apiserver_validating_admission_policy_check_duration_seconds only for denials and evaluation errors, not for admitted requests (k8s.io/apiserver pkg/admission/plugin/policy/validating/dispatcher.go), and every create here is admitted. ' +
          "So the plugin's time per call is the figure here; it is wall time inside the plugin (waiting for CPU included), the API server's CPU seconds are the load-independent one.",
        '',
      );
    const names = [...new Set(prof('with').flatMap((p) => Object.keys(p.policies)))];
    const per = names
      .map((n) => ({
        n,
        ms: med(prof('with').map((p) => p.policies[n]?.sumMs)),
        count: med(prof('with').map((p) => p.policies[n]?.count)),
      }))
      .sort((a, b) => b.ms - a.ms);
    if (per.length)
      L.push(
        'Validation-expression time per policy with the policies installed (median per run; top 10 of ' +
          per.length +
          '):',
        '',
        table(
          ['policy', 'evaluations', 'total ms', 'µs per evaluation'],
          per.slice(0, 10).map((x) => [x.n, fmt(x.count, 0), fmt(x.ms, 1), fmt((x.ms * 1000) / x.count, 1)]),
        ),
        '',
      );
  }
  const samples = r.runs.flatMap((x) => x.errorSamples.map((t) => `${x.mode}: ${t}`)).slice(0, 3);
  if (samples.length) L.push('Errors seen (first three):', '', ...samples.map((t) => `- ${t.replace(/\n/g, ' ')}`), '');
  return L;
}

export function admissionTarget(r: AdmissionResult): string[] {
  const errors = r.runs.reduce((t, x) => t + x.errors, 0);
  const p99 = med(overheads(r, 'p99Ms'));
  const p50 = med(overheads(r, 'p50Ms'));
  const met = errors === 0 && p99 < 5;
  // The API server's CPU per created object (its /metrics, read around each run), median over the runs.
  const cpuPerObject = (mode: Mode): number =>
    med(runsOf(r, mode).flatMap((x) => (x.profile ? [cpuMsPerObject(x.profile, r.objects)] : [])));
  const seq99 = med(overheads(r, 'p99Ms', 'with', 1));
  const seq50 = med(overheads(r, 'p50Ms', 'with', 1));
  const perControl = runsOf(r, 'per-control').length > 0;
  return [
    ADMISSION_TARGET,
    met ? '**met**' : '**not met**',
    `${errors} errors in ${r.runs.reduce((t, x) => t + x.objects, 0).toLocaleString('en')} creates; with ${r.concurrency} in flight p99 overhead ${fmt(p99, 1)} ms, p50 overhead ${fmt(p50, 1)} ms (median over ${r.repetitions} repetitions; target: no errors and p99 overhead under 5 ms)` +
      (Number.isFinite(seq99)
        ? `; one request in flight: p99 overhead ${fmt(seq99, 1)} ms, p50 ${fmt(seq50, 1)} ms`
        : '') +
      `; the API server's CPU per created object ${fmt(cpuPerObject('without'), 1)} ms without the policies, ${fmt(cpuPerObject('with'), 1)} ms with them` +
      (perControl
        ? ` (${fmt(cpuPerObject('per-control'), 1)} ms with one policy per control, the layout before grouping)`
        : '') +
      (r.loadAtStart[0] > 2 ? `; measured on a loaded machine (see "Admission")` : ''),
  ];
}

const STEP_NAMES: Record<PulumiStep['step'], string> = {
  preview: 'preview (empty stack)',
  up: 'up (create)',
  'preview-unchanged': 'preview (no changes)',
  'up-unchanged': 'up (no changes)',
  destroy: 'destroy',
};

export function pulumiSection(r: PulumiResult, date: string): string[] {
  const L: string[] = [PULUMI_HEADING, ''];
  const sizes = [...new Set(r.runs.map((x) => x.namespaces))].sort((a, b) => a - b);
  const repsAt = (n: number): number =>
    Math.max(...r.runs.filter((x) => x.namespaces === n).map((x) => x.repetition + 1));
  const repText = sizes.map((n) => `${repsAt(n)} at ${n}`).join(', ');
  const large = r.runs.filter((x) => x.namespaces >= 500);
  const largeFinal = large.length > 0 && large.every((x) => x.checkpoints === 'final');
  L.push(
    `bench/pulumi.ts on ${date}: the project's own program (stacks/index.ts, Pulumi ${r.pulumiVersion}, Kubernetes provider ${r.providerVersion}) on the local target with hcb:node false ` +
      '(control plane only, on loopback ports 47620-47625), N hardened namespaces in hcb:namespaces, in a throwaway copy of the project with its own Pulumi home and file backend. ' +
      `Each run starts from an empty stack: preview, up, preview and up with nothing to change, destroy (which also stops and purges the control plane). repetitions per size: ${repText} (at 500 namespaces and more only the product's hand-off runs${largeFinal ? ", with the final checkpoint only (PULUMI_SKIP_CHECKPOINTS=true): with every step checkpointed up did not end inside the bench's one-hour bound (the Pulumi CLI rewrote the whole state file, 15-20 MB at that size, after each of about 3,000 resources; measured 2026-11-29). The comparison at 50 namespaces shows what checkpointing costs" : ', and it stops after the no-change preview: the no-change up and destroy are left out there'}); ` +
      'wall and CPU (pulumi and every process it waits for: the Node.js program, the provider) from /usr/bin/time. ms/resource = wall / Kubernetes objects in the stack. ' +
      'The up times include starting the control plane (a few seconds of each, the same for every N).',
    '',
  );
  const loaded = r.loadAtStart[0];
  L.push(
    loaded > 2
      ? `**Loaded machine**: load average ${fmtLoad(r.loadAtStart)} at the start (before the bench's own processes), ${fmtLoad(r.loadAtEnd)} at the end, on 2 CPUs.`
      : `Load average ${fmtLoad(r.loadAtStart)} (1, 5, 15 min) at the start, before the bench's own processes, and ${fmtLoad(r.loadAtEnd)} at the end, its own included, on 2 CPUs: nothing else ran.`,
    '',
  );
  L.push(
    'Hand-offs (stacks/apply.ts `handOff`; the program reads the internal switch HCB_PULUMI_HANDOFF): `configgroup` = `k8s.yaml.ConfigGroup`, the product, where the program registers each object; ' +
      '`yaml-v2` = `k8s.yaml.v2.ConfigGroup`, a component the provider constructs and which registers each object. Both give one Pulumi resource per Kubernetes object. ' +
      '`(final checkpoint only)` = the same with PULUMI_SKIP_CHECKPOINTS=true: the Pulumi CLI writes the state once when the update ends (also when it fails or is interrupted; not if the CLI itself is killed) instead of after every resource operation. ' +
      'For each size and repetition the variants run back to back (which goes first rotating), so their ratios are taken under the same load.',
    '',
  );
  const handoffs = [...new Set(r.runs.map((x) => variantOf(x)))];
  const rows: string[][] = [];
  for (const n of sizes)
    for (const h of handoffs) {
      const runs = r.runs.filter((x) => x.namespaces === n && variantOf(x) === h);
      if (runs.length === 0) continue;
      const k8s = med(runs.map((x) => (x.kubernetesResources > 0 ? x.kubernetesResources : undefined)));
      // Preview-only runs count what the preview would create (every type), not Kubernetes objects.
      const previewed = med(runs.map((x) => (x.kubernetesResources > 0 ? undefined : x.resources || undefined)));
      const per = (x: PulumiRun): number => x.kubernetesResources || x.resources;
      for (const step of Object.keys(STEP_NAMES) as Array<PulumiStep['step']>) {
        const steps = runs.map((x) => x.steps.find((s) => s.step === step));
        if (steps.every((s) => s === undefined)) continue;
        const lead = rows.findIndex((row) => row[0] === String(n) && row[1] === h) >= 0;
        rows.push([
          lead ? '' : String(n),
          lead ? '' : h,
          Number.isFinite(k8s)
            ? String(k8s)
            : Number.isFinite(previewed)
              ? `${previewed} (previewed, all types)`
              : 'n/a',
          STEP_NAMES[step],
          stat(
            steps.map((s) => (s && s.status === 0 ? s.wallMs / 1000 : undefined)),
            1,
          ),
          stat(
            steps.map((s) => (s && s.status === 0 && s.cpuMs !== undefined ? s.cpuMs / 1000 : undefined)),
            1,
          ),
          stat(
            steps.map((s, i) => (s && s.status === 0 && per(runs[i]) > 0 ? s.wallMs / per(runs[i]) : undefined)),
            0,
          ),
          stat(
            steps.map((s, i) =>
              s && s.status === 0 && s.cpuMs !== undefined && per(runs[i]) > 0 ? s.cpuMs / per(runs[i]) : undefined,
            ),
            0,
          ),
          stat(
            steps.map((s) => (s && s.status === 0 ? s.rssMiB : undefined)),
            0,
          ),
          [...new Set(steps.map((s) => s?.summary).filter(Boolean))][0] ?? '',
        ]);
      }
    }
  L.push(
    table(
      [
        'namespaces',
        'hand-off',
        'Kubernetes objects',
        'step',
        'wall s',
        'CPU s',
        'ms/object (wall)',
        'CPU ms/object',
        'peak RSS MiB',
        'pulumi says',
      ],
      rows,
    ),
    '',
  );
  // Variant / the product's default per step, within one size and repetition (same load).
  const comparisons: Array<[string, string, string]> = [
    ['yaml-v2', 'configgroup', 'yaml-v2 / configgroup within each repetition (< 1: yaml-v2 is faster):'],
    [
      'configgroup (final checkpoint only)',
      'configgroup',
      'configgroup with the final checkpoint only / with every step checkpointed, within each repetition (< 1: skipping the checkpoints is faster; the difference is what writing the state file after every resource costs):',
    ],
  ];
  for (const [va, vb, caption] of comparisons) {
    if (!handoffs.includes(va) || !handoffs.includes(vb)) continue;
    const ratioRows: string[][] = [];
    for (const n of sizes)
      for (const step of Object.keys(STEP_NAMES) as Array<PulumiStep['step']>) {
        const reps2 = [...new Set(r.runs.filter((x) => x.namespaces === n).map((x) => x.repetition))];
        const pairs = reps2.map((rep) => {
          const get = (h: string) =>
            r.runs
              .find((x) => x.namespaces === n && x.repetition === rep && variantOf(x) === h)
              ?.steps.find((s) => s.step === step && s.status === 0);
          return [get(va), get(vb)] as const;
        });
        const ok = pairs.filter(([a, b]) => a && b);
        if (ok.length === 0) continue;
        ratioRows.push([
          ratioRows.some((x) => x[0] === String(n)) ? '' : String(n),
          STEP_NAMES[step],
          stat(
            ok.map(([a, b]) => a!.wallMs / b!.wallMs),
            2,
          ),
          stat(
            ok.map(([a, b]) => (a!.cpuMs ?? NaN) / (b!.cpuMs ?? NaN)),
            2,
          ),
          String(ok.length),
        ]);
      }
    if (ratioRows.length)
      L.push(caption, '', table(['namespaces', 'step', 'wall ratio', 'CPU ratio', 'pairs'], ratioRows), '');
  }
  const failed = r.runs.filter((x) => x.error);
  if (failed.length)
    L.push(
      'Runs that failed:',
      '',
      ...failed.map(
        (x) =>
          `- ${x.namespaces} namespaces, ${variantOf(x)}, repetition ${x.repetition + 1}: ${x.error!.split('\n')[0]}`,
      ),
      '',
    );
  return L;
}

export function pulumiTarget(r: PulumiResult): string[] {
  const sizes = [...new Set(r.runs.filter((x) => !x.error).map((x) => x.namespaces))].sort((a, b) => a - b);
  const handoffs = [...new Set(r.runs.map((x) => variantOf(x)))];
  const per = (n: number, step: PulumiStep['step'], h: string): number =>
    med(
      r.runs
        .filter((x) => x.namespaces === n && !x.error && variantOf(x) === h)
        .map((x) => {
          const s = x.steps.find((y) => y.step === step);
          return s && s.cpuMs !== undefined && x.kubernetesResources ? s.cpuMs / x.kubernetesResources : undefined;
        }),
    );
  const done = sizes.includes(50) && sizes.includes(500);
  const text = sizes
    .map(
      (n) =>
        `${n} namespaces: ` +
        handoffs
          // Only the variants that ran at this size (at 500 namespaces: ConfigGroup only).
          .filter((h) => r.runs.some((x) => x.namespaces === n && variantOf(x) === h))
          .map((h) => `${h} up ${fmt(per(n, 'up', h), 0)}, preview ${fmt(per(n, 'preview', h), 0)} CPU ms/object`)
          .join('; '),
    )
    .join('. ');
  return [
    PULUMI_TARGET,
    done ? '**measured**' : sizes.length ? '**partly measured**' : '**not done**',
    `${text || 'no run completed'}${done ? '' : ` (sizes measured: ${sizes.join(', ') || 'none'}; see "Pulumi")`}`,
  ];
}

/**
 * Replaces the `## ` section `heading` of `file` (inserting it before `before` when absent) and
 * the targets-table row whose first cell is `targetRow[0]`.
 */
export function spliceSection(
  file: string,
  heading: string,
  section: string[],
  before: string,
  targetRow: string[],
): void {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const start = lines.indexOf(heading);
  const body = [...section];
  while (body.length && body[body.length - 1] === '') body.pop();
  body.push('');
  if (start >= 0) {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    lines.splice(start, end - start, ...body);
  } else {
    let at = lines.indexOf(before);
    if (at < 0) at = lines.length;
    lines.splice(at, 0, ...body);
  }
  const row = `| ${targetRow.join(' | ')} |`;
  const i = lines.findIndex((l) => l.startsWith(`| ${targetRow[0]} |`));
  if (i >= 0) lines[i] = row;
  fs.writeFileSync(file, lines.join('\n'));
}
