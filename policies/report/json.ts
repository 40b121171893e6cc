/**
 * The machine-readable result: `{ results: [...], summary: {...} }`. Every result has the same
 * keys (unknown values are null, all five framework keys are present), STIG IDs are V-nnnnnn,
 * and results are sorted, so two runs over the same input are byte-identical and diffable
 * with `hcb report`.
 */
import { Finding, Framework, Severity, Status } from '../model';
import { normalizeFrameworks, ReportMeta, ReportSummary, sortFindings } from './common';

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
}

export interface JsonReport {
  results: JsonResult[];
  summary: ReportSummary;
}

export function toJsonResult(f: Finding): JsonResult {
  const o = f.object ?? {};
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
  };
}

// meta is part of every renderer's signature; the JSON result deliberately carries none of it
// (no time, no tool version) so that it only changes when the findings do.
export function renderJson(findings: readonly Finding[], summary: ReportSummary, _meta: ReportMeta = {}): string {
  const report: JsonReport = { results: sortFindings(findings).map(toJsonResult), summary };
  return `${JSON.stringify(report, null, 2)}\n`;
}
