/**
 * Compare two JSON results (`hcb audit --format json`): failures that are new in head, failures
 * of base that are gone (fixed, or now accepted), failures in both. A subject is identified by
 * control, apiVersion, kind, namespace and name (file when it has no name), never by line, so
 * moving an object in its file does not turn one failure into a new one plus a fixed one.
 */
import { Severity, Status, SEVERITIES } from '../model';
import { compareByUrgency, compareText, FixStep, isFailing, STATUS_LABELS, STATUS_ORDER } from './common';
import { JsonResult } from './json';
import { cell } from './markdown';

export interface ResultsFile {
  results: JsonResult[];
}

export interface ReportDiff {
  newFailures: JsonResult[];
  /** Failing in base; in head the subject passes, is accepted, or is gone (headStatus null). */
  fixed: { result: JsonResult; headStatus: Status | null }[];
  unchanged: JsonResult[];
  controls: { newlyFailing: string[]; fixed: string[]; stillFailing: string[] };
}

/** Read a JSON result; throws an Error whose message says what is wrong, for the CLI to print. */
export function parseResultsFile(text: string, name: string): ResultsFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name}: not JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const results = (data as { results?: unknown } | null)?.results;
  if (!Array.isArray(results))
    throw new Error(`${name}: expected an object with a "results" list, as written by hcb audit --format json`);
  results.forEach((r, i) => {
    const x = r as Partial<JsonResult> | null;
    if (!x || typeof x.control !== 'string' || !STATUS_ORDER.includes(x.status as Status)) {
      throw new Error(`${name}: results[${i}] needs a "control" and a "status" (one of ${STATUS_ORDER.join(', ')})`);
    }
  });
  return {
    results: (results as JsonResult[]).map((r) => ({
      control: r.control,
      status: r.status,
      severity: SEVERITIES.includes(r.severity) ? r.severity : 'medium',
      frameworks: r.frameworks ?? { stig: [], cis: [], bsi: [], ccn: [], scs: [] },
      object: {
        apiVersion: r.object?.apiVersion ?? null,
        kind: r.object?.kind ?? null,
        namespace: r.object?.namespace ?? null,
        name: r.object?.name ?? null,
        file: r.object?.file ?? null,
        line: r.object?.line ?? null,
        constructPath: typeof r.object?.constructPath === 'string' ? r.object.constructPath : null,
      },
      message: typeof r.message === 'string' ? r.message : '',
      // Older result files have no remediation; a malformed one is dropped rather than trusted.
      remediation: typeof r.remediation === 'string' ? r.remediation : null,
      fix: Array.isArray(r.fix) ? r.fix.filter(isFixStep) : [],
    })),
  };
}

function isFixStep(s: unknown): s is FixStep {
  const x = s as Partial<FixStep> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    (x.construct === null || typeof x.construct === 'string') &&
    Array.isArray(x.props) &&
    x.props.every((p) => typeof p === 'string') &&
    typeof x.text === 'string'
  );
}

export function subjectKey(r: JsonResult): string {
  const o = r.object;
  return [r.control, o.apiVersion, o.kind, o.namespace, o.name, o.name === null ? o.file : null]
    .map((s) => s ?? '')
    .join('\u0000');
}

export function diffResults(base: ResultsFile, head: ResultsFile): ReportDiff {
  const group = (rs: JsonResult[]): Map<string, JsonResult[]> => {
    const m = new Map<string, JsonResult[]>();
    for (const r of rs) {
      const k = subjectKey(r);
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    return m;
  };
  const baseFailing = group(base.results.filter((r) => isFailing(r.status)));
  const headFailing = group(head.results.filter((r) => isFailing(r.status)));
  const headAll = group(head.results);

  const diff: ReportDiff = {
    newFailures: [],
    fixed: [],
    unchanged: [],
    controls: { newlyFailing: [], fixed: [], stillFailing: [] },
  };
  const keys = [...new Set([...baseFailing.keys(), ...headFailing.keys()])].sort(compareText);
  for (const k of keys) {
    const b = baseFailing.get(k) ?? [];
    const h = headFailing.get(k) ?? [];
    // Same subject, same message first (each head failure, last first, takes the earliest base
    // failure with its message); then pair what is left in order. Indexed, not searched: one
    // subject can carry ~100k findings (e.g. parse errors of one file).
    const byMessage = new Map<string, number[]>();
    for (let j = b.length - 1; j >= 0; j--) {
      const list = byMessage.get(b[j].message);
      if (list) list.push(j);
      else byMessage.set(b[j].message, [j]);
    }
    const baseTaken = new Array<boolean>(b.length).fill(false);
    const headTaken = new Array<boolean>(h.length).fill(false);
    for (let i = h.length - 1; i >= 0; i--) {
      const j = byMessage.get(h[i].message)?.pop();
      if (j !== undefined) {
        diff.unchanged.push(h[i]);
        baseTaken[j] = true;
        headTaken[i] = true;
      }
    }
    const restBase = b.filter((_, j) => !baseTaken[j]);
    const restHead = h.filter((_, i) => !headTaken[i]);
    const paired = Math.min(restBase.length, restHead.length);
    for (let i = 0; i < paired; i++) diff.unchanged.push(restHead[i]);
    for (let i = paired; i < restHead.length; i++) diff.newFailures.push(restHead[i]);
    if (paired < restBase.length) {
      const now = (headAll.get(k) ?? []).find((x) => !isFailing(x.status));
      for (let j = paired; j < restBase.length; j++)
        diff.fixed.push({ result: restBase[j], headStatus: now ? now.status : null });
    }
  }
  const byUrgency = (a: JsonResult, b: JsonResult): number => compareByUrgency(asFinding(a), asFinding(b));
  diff.newFailures.sort(byUrgency);
  diff.unchanged.sort(byUrgency);
  diff.fixed.sort((a, b) => byUrgency(a.result, b.result));

  const failingControls = (rs: JsonResult[]): Set<string> =>
    new Set(rs.filter((r) => isFailing(r.status)).map((r) => r.control));
  const before = failingControls(base.results);
  const after = failingControls(head.results);
  diff.controls.newlyFailing = [...after].filter((c) => !before.has(c)).sort(compareText);
  diff.controls.fixed = [...before].filter((c) => !after.has(c)).sort(compareText);
  diff.controls.stillFailing = [...after].filter((c) => before.has(c)).sort(compareText);
  return diff;
}

function asFinding(r: JsonResult): Parameters<typeof compareByUrgency>[0] {
  const o: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(r.object)) if (v !== null) o[k] = v;
  return {
    control: r.control,
    status: r.status,
    severity: r.severity as Severity,
    frameworks: r.frameworks,
    object: o,
    message: r.message,
  };
}

function subject(r: JsonResult): string {
  const o = r.object;
  const name = o.namespace ? `${o.namespace}/${o.name ?? ''}` : (o.name ?? '');
  const label = [o.kind, name].filter((s) => s).join(' ');
  const where = o.file ? (o.line !== null ? `${o.file}:${o.line}` : o.file) : '';
  return [label, where && `(${where})`].filter((s) => s).join(' ');
}

export interface DiffMeta {
  base: string;
  head: string;
  color?: boolean;
}

export function renderDiffTerminal(diff: ReportDiff, meta: DiffMeta): string {
  const c = (code: string, s: string): string => (meta.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const clean = (s: string): string => s.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
  const line = (mark: string, r: JsonResult, tail = ''): string =>
    clean(`  ${mark} ${r.control} [${r.severity}] ${subject(r)}: ${r.message}${tail}`).replace(/\r?\n/g, '\n    ');
  const out: string[] = [`Compared ${clean(meta.base)} (base) with ${clean(meta.head)} (head)`, ''];
  out.push(c('1;31', `New failures (${diff.newFailures.length})`));
  for (const r of diff.newFailures) out.push(line('+', r));
  out.push('', c('1;32', `Fixed (${diff.fixed.length})`));
  for (const x of diff.fixed)
    out.push(
      line('-', x.result, `  → ${x.headStatus ? STATUS_LABELS[x.headStatus].toLowerCase() : 'no longer reported'}`),
    );
  out.push('', c('1', `Unchanged failures (${diff.unchanged.length})`));
  for (const r of diff.unchanged) out.push(line('=', r));
  out.push('', controlsLine(diff));
  return `${out.join('\n')}\n`;
}

export function renderDiffMarkdown(diff: ReportDiff, meta: DiffMeta): string {
  const table = (rows: string[][]): string[] =>
    rows.length === 0
      ? ['None.']
      : [
          '| Control | Severity | Object | Finding |',
          '| --- | --- | --- | --- |',
          ...rows.map((r) => `| ${r.join(' | ')} |`),
        ];
  const row = (r: JsonResult, extra = ''): string[] => [
    `\`${r.control.replace(/[`|]/g, "'")}\``,
    r.severity,
    cell(subject(r)) || '—',
    cell(r.message) + extra,
  ];
  const out: string[] = [
    '## Compliance changes',
    '',
    `Base \`${meta.base.replace(/[`|]/g, "'")}\` → head \`${meta.head.replace(/[`|]/g, "'")}\`: ${cell(controlsLine(diff))}`,
    '',
  ];
  // Row by row: push(...rows) overflows the call stack for ~100k new failures.
  const add = (lines: readonly string[]): void => {
    for (const l of lines) out.push(l);
  };
  out.push(`### New failures (${diff.newFailures.length})`, '');
  add(table(diff.newFailures.map((r) => row(r))));
  out.push('', `### Fixed (${diff.fixed.length})`, '');
  add(
    table(
      diff.fixed.map((x) =>
        row(
          x.result,
          ` <sub>→ ${x.headStatus ? STATUS_LABELS[x.headStatus].toLowerCase() : 'no longer reported'}</sub>`,
        ),
      ),
    ),
  );
  out.push('', `<details><summary>Unchanged failures (${diff.unchanged.length})</summary>`, '');
  add(table(diff.unchanged.map((r) => row(r))));
  out.push('', '</details>');
  return `${out.join('\n')}\n`;
}

export function renderDiffJson(diff: ReportDiff): string {
  return `${JSON.stringify(diff, null, 2)}\n`;
}

function controlsLine(diff: ReportDiff): string {
  const list = (ids: string[]): string => (ids.length > 0 ? ` (${ids.join(', ')})` : '');
  return (
    `Controls: ${diff.controls.newlyFailing.length} newly failing${list(diff.controls.newlyFailing)}, ` +
    `${diff.controls.fixed.length} fixed${list(diff.controls.fixed)}, ${diff.controls.stillFailing.length} still failing.`
  );
}
