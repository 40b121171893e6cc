/**
 * The machine-readable result: `{ results: [...], summary: {...} }`. Every result has the same
 * keys (unknown values are null, all five framework keys are present), STIG IDs are V-nnnnnn,
 * and results are sorted, so two runs over the same input are byte-identical and diffable
 * with `hcb report`. Results that need action (fail, error, accepted) carry the remediation as
 * text and as structured steps (`fix`: construct, props, text), as `hcb controls --format json`
 * and the SARIF rules do; other results carry `null` and `[]`.
 */
import { type RemediationStep, remediationSteps, remediationText } from '../control';
import { Finding, Framework, Severity, Status } from '../model';
import {
  ControlInfo,
  controlIndex,
  FixStep,
  isFailing,
  normalizeFrameworks,
  ReportMeta,
  ReportSummary,
  sortFindings,
  toFixStep,
} from './common';

export interface JsonResult {
  control: string;
  status: Status;
  severity: Severity;
  frameworks: Record<Framework, string[]>;
  object: {
    apiVersion: string | null;
    kind: string | null;
    namespace: string | null;
    name: string | null;
    file: string | null;
    line: number | null;
    /** The cdk8s construct that rendered the object (annotation hcb.dev/construct-path), for our own output. */
    constructPath: string | null;
  };
  message: string;
  /** What to do, as one text; null for results that need no action (pass, not-applicable, not-evaluated). */
  remediation: string | null;
  /** The same remediation as steps; [] when `remediation` is null. */
  fix: FixStep[];
}

export interface JsonReport {
  results: JsonResult[];
  summary: ReportSummary;
}

/** A result needs action when it fails, errs, or is accepted only until its exception expires. */
function needsAction(f: Finding): boolean {
  return isFailing(f.status) || f.status === 'accepted';
}

/**
 * The finding's remediation as steps: the catalogue's structured steps when the finding carries
 * the catalogue's text (or none), otherwise the finding's own text as one step without construct.
 */
function findingRemediation(f: Finding, controls: ReadonlyMap<string, ControlInfo>): RemediationStep[] {
  const fromCatalogue = controls.get(f.control)?.remediation;
  const own = f.remediation;
  const useCatalogue = fromCatalogue !== undefined && (own === undefined || own === remediationText(fromCatalogue));
  return remediationSteps(useCatalogue ? fromCatalogue : own);
}

/**
 * One finding as a JSON result. `controls` (the catalogue, as reports receive it in
 * `ReportMeta.controls`) gives the remediation its structure; without it the finding's text is one step.
 */
export function toJsonResult(f: Finding, controls: ReadonlyMap<string, ControlInfo> = new Map()): JsonResult {
  const o = f.object ?? {};
  const steps = needsAction(f) ? findingRemediation(f, controls) : [];
  return {
    control: f.control,
    status: f.status,
    severity: f.severity,
    frameworks: normalizeFrameworks(f.frameworks),
    object: {
      apiVersion: o.apiVersion ?? null,
      kind: o.kind ?? null,
      namespace: o.namespace ?? null,
      name: o.name ?? null,
      file: o.file ?? null,
      line: o.line ?? null,
      constructPath: o.constructPath ?? null,
    },
    message: f.message,
    remediation: steps.length > 0 ? remediationText(steps) : null,
    fix: steps.map(toFixStep),
  };
}

// The JSON result carries no metadata of the run (no time, no tool version), so that it only
// changes when the findings do; meta's catalogue only gives remediations their structure.
export function renderJson(findings: readonly Finding[], summary: ReportSummary, meta: ReportMeta = {}): string {
  const controls = controlIndex(meta);
  const report: JsonReport = { results: sortFindings(findings).map((f) => toJsonResult(f, controls)), summary };
  return `${JSON.stringify(report, null, 2)}\n`;
}
