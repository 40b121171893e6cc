import { largeCheckpointsFromEnv, mergePulumiResults, PulumiResult, PulumiRun, variantOf } from '../../../bench/pulumi';
import { pulumiSection, pulumiTarget } from '../../../bench/sections';

const run = (over: Partial<PulumiRun>, upMs: number): PulumiRun => ({
  namespaces: 50,
  handoff: 'configgroup',
  repetition: 0,
  kubernetesResources: 300,
  resources: 320,
  steps: [
    { step: 'preview', wallMs: 10_000, cpuMs: 12_000, rssMiB: 200, status: 0, summary: '+ 320 to create' },
    { step: 'up', wallMs: upMs, cpuMs: upMs, rssMiB: 300, status: 0, summary: '+ 320 created' },
  ],
  ...over,
});

const result = (runs: PulumiRun[]): PulumiResult => ({
  pulumiVersion: 'v3.215.0',
  providerVersion: '4.25.0',
  runs,
  loadAtStart: [0.1, 0.1, 0.1],
  loadAtEnd: [1, 1, 1],
});

describe('bench: Pulumi variants (hand-off and checkpointing)', () => {
  it('names a run by its hand-off, and by its checkpointing when that is not the default', () => {
    expect(variantOf({ handoff: 'configgroup' })).toBe('configgroup');
    expect(variantOf({})).toBe('configgroup');
    expect(variantOf({ handoff: 'yaml-v2', checkpoints: 'every-step' })).toBe('yaml-v2');
    expect(variantOf({ handoff: 'configgroup', checkpoints: 'final' })).toBe('configgroup (final checkpoint only)');
  });

  it('takes the checkpointing at 500 namespaces from the environment, and refuses other values', () => {
    expect(largeCheckpointsFromEnv({})).toBe('final');
    expect(largeCheckpointsFromEnv({ HCB_BENCH_PULUMI_LARGE_CHECKPOINTS: 'every-step' })).toBe('every-step');
    expect(() => largeCheckpointsFromEnv({ HCB_BENCH_PULUMI_LARGE_CHECKPOINTS: 'none' })).toThrow(
      /HCB_BENCH_PULUMI_LARGE_CHECKPOINTS: none is not every-step or final/,
    );
  });

  it('numbers the repetitions of each variant on its own when results are merged', () => {
    const a = result([run({}, 90_000), run({ checkpoints: 'final' }, 60_000)]);
    const b = result([run({ checkpoints: 'final' }, 62_000), run({}, 88_000)]);
    const m = mergePulumiResults([a, b]);
    expect(m.runs.map((x) => `${variantOf(x)} ${x.repetition}`)).toEqual([
      'configgroup 0',
      'configgroup (final checkpoint only) 0',
      'configgroup (final checkpoint only) 1',
      'configgroup 1',
    ]);
  });

  it('shows each variant in its own rows and the ratio of final-only to every-step per repetition', () => {
    const r = result([
      run({ repetition: 0 }, 90_000),
      run({ repetition: 0, checkpoints: 'final' }, 45_000),
      run({ repetition: 1 }, 100_000),
      run({ repetition: 1, checkpoints: 'final' }, 60_000),
    ]);
    const text = pulumiSection(r, '2026-11-30').join('\n');
    expect(text).toContain('| 50 | configgroup (final checkpoint only) |');
    // Ratios 0.5 and 0.6: median 0.55 (the two-decimal stat), over 2 pairs.
    expect(text).toMatch(/with the final checkpoint only \/ with every step checkpointed/);
    // The ratio table's up row (its size cell is blank after the preview row).
    const row = text.split('\n').find((l) => /^\| {1,2}\| up \(create\) \|/.test(l));
    expect(row).toBeDefined();
    expect(row).toMatch(/0\.55/);
    expect(row).toMatch(/\| 2 \|$/);
    // No yaml-v2 runs: no yaml-v2 comparison.
    expect(text).not.toMatch(/yaml-v2 \/ configgroup/);
    expect(pulumiTarget(r)[2]).toMatch(/configgroup \(final checkpoint only\) up/);
  });

  it('names in the target row only the variants that ran at each size', () => {
    const r = result([run({}, 90_000), run({ namespaces: 500, checkpoints: 'final' }, 600_000)]);
    const text = pulumiTarget(r)[2];
    expect(text).toMatch(
      /^50 namespaces: configgroup up 300, preview 40 CPU ms\/object\. 500 namespaces: configgroup \(final checkpoint only\) up 2000, preview 40 CPU ms\/object$/,
    );
    expect(text).not.toMatch(/n\/a/);
  });

  it('says the 500-namespace runs skipped checkpoints when they did', () => {
    const r = result([run({ namespaces: 500, checkpoints: 'final' }, 600_000)]);
    expect(pulumiSection(r, '2026-11-30').join('\n')).toMatch(
      /runs, with the final checkpoint only \(PULUMI_SKIP_CHECKPOINTS=true\)/,
    );
    const every = result([run({ namespaces: 500 }, 600_000)]);
    expect(pulumiSection(every, '2026-11-30').join('\n')).not.toMatch(
      /runs, with the final checkpoint only \(PULUMI_SKIP_CHECKPOINTS=true\)/,
    );
  });
});
