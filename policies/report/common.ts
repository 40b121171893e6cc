/**
 * What every report format shares: metadata passed in by the caller, the summary, a stable
 * order of findings, framework references in one normal form and a per-control roll-up.
 * Everything here is pure: the same findings give the same output, byte for byte.
 */
import { type Remediation, type RemediationStep, remediationText, stepProps } from '../control';
import { STATUS_ORDER, compareStatus, compareFindings } from '../order';
import { Finding, Framework, FRAMEWORKS, FrameworkRefs, ObjectRef, Severity, SEVERITIES, Status } from '../model';

/** What a report needs to know about a control (a subset of the catalogue's Control). */
export interface ControlInfo {
  id: string;
  title: string;
  rationale?: string;
  severity: Severity;
  frameworks: FrameworkRefs;
  /** The catalogue's structured remediation, or a plain text. */
  remediation?: Remediation | string;
}

export interface ReportMeta {
  /** The tool that produced the findings. @default { name: 'hcb' } */
  tool?: { name: string; version?: string };
  /** ISO 8601 time of the run. Written only when given: reports carry no clock of their own. */
  generatedAt?: string;
  /** Heading of the report. @default 'Cluster hardening audit' */
  title?: string;
  /** Input files that were read (shown in some formats). */
  inputs?: readonly string[];
  /** The catalogue, for titles and rationales (SARIF rules, Markdown, HTML). */
  controls?: readonly ControlInfo[];
  /** Frameworks in focus (`--framework`). @default all five */
  frameworks?: readonly Framework[];
  /** Terminal only: use ANSI colours. @default false */
  color?: boolean;
}

/** Every status, in the order reports list them: what needs action first (the one order, policies/order.ts). */
export { STATUS_ORDER, compareStatus, compareFindings };

export const FRAMEWORK_LABELS: Record<Framework, string> = {
  stig: 'DISA Kubernetes STIG',
  cis: 'CIS Kubernetes Benchmark',
  bsi: 'BSI IT-Grundschutz APP.4.4',
  ccn: 'CCN-STIC Kubernetes',
  scs: 'SCS baseline security',
};

export const STATUS_LABELS: Record<Status, string> = {
  error: 'Error',
  fail: 'Fail',
  accepted: 'Accepted',
  'not-evaluated': 'Not evaluated',
  pass: 'Pass',
  'not-applicable': 'Not applicable',
};

export function isFailing(status: Status): boolean {
  return status === 'fail' || status === 'error';
}

export function emptyStatusCounts(): Record<Status, number> {
  return { error: 0, fail: 0, accepted: 0, 'not-evaluated': 0, pass: 0, 'not-applicable': 0 };
}

export interface ReportSummary {
  /** Number of findings. */
  findings: number;
  byStatus: Record<Status, number>;
  /** Controls, each counted once under its rolled-up status (see rollUpStatus). */
  controls: { total: number; byStatus: Record<Status, number> };
  /** Failing findings (fail and error) per severity. */
  failuresBySeverity: Record<Severity, number>;
  /** Per framework: the controls that map to it, by rolled-up status. */
  frameworks: Record<Framework, { controls: number; byStatus: Record<Status, number> }>;
}

export function summarizeFindings(findings: readonly Finding[]): ReportSummary {
  const byStatus = emptyStatusCounts();
  const failuresBySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) {
    byStatus[f.status] += 1;
    if (isFailing(f.status)) failuresBySeverity[f.severity] += 1;
  }
  const rollups = rollUpControls(findings);
  const controls = { total: rollups.length, byStatus: emptyStatusCounts() };
  const frameworks = Object.fromEntries(
    FRAMEWORKS.map((fw) => [fw, { controls: 0, byStatus: emptyStatusCounts() }]),
  ) as ReportSummary['frameworks'];
  for (const r of rollups) {
    controls.byStatus[r.status] += 1;
    for (const fw of FRAMEWORKS) {
      if (r.frameworks[fw].length > 0) {
        frameworks[fw].controls += 1;
        frameworks[fw].byStatus[r.status] += 1;
      }
    }
  }
  return { findings: findings.length, byStatus, controls, failuresBySeverity, frameworks };
}

/** One control's findings, with the status that stands for the control as a whole. */
export interface ControlRollup {
  control: string;
  status: Status;
  severity: Severity;
  frameworks: NormalFrameworks;
  findings: Finding[];
}

/**
 * A control's status is its most pressing finding's: error, fail, not-evaluated, accepted,
 * pass, not-applicable in that order (STATUS_ORDER), so one unevaluated subject keeps it from "pass".
 */
export function rollUpStatus(statuses: Iterable<Status>): Status {
  let best: Status = 'not-applicable';
  let seen = false;
  for (const s of statuses) {
    seen = true;
    if (STATUS_ORDER.indexOf(s) < STATUS_ORDER.indexOf(best)) best = s;
  }
  return seen ? best : 'not-evaluated';
}

export function rollUpControls(findings: readonly Finding[]): ControlRollup[] {
  const by = new Map<string, Finding[]>();
  for (const f of findings) {
    const list = by.get(f.control);
    if (list) list.push(f);
    else by.set(f.control, [f]);
  }
  return [...by.keys()].sort(compareText).map((control) => {
    const list = sortFindings(by.get(control) ?? []);
    return {
      control,
      status: rollUpStatus(list.map((f) => f.status)),
      severity: list.map((f) => f.severity).sort(compareSeverity)[0] ?? 'info',
      frameworks: mergeFrameworks(list.map((f) => f.frameworks)),
      findings: list,
    };
  });
}

/** Framework references with all five keys, STIG IDs as V-nnnnnn, sorted and unique. */
export type NormalFrameworks = Record<Framework, string[]>;

export function normalizeFrameworks(refs: FrameworkRefs | undefined): NormalFrameworks {
  // Findings of one control carry equal references and reports list them one after another: the
  // last input (string lists only) and its result are remembered; a fresh copy is returned.
  if (refs === undefined || !stringRefs(refs)) return mergeFrameworks([refs ?? {}]);
  if (lastNormalized === undefined || !sameRefs(refs, lastNormalized.refs)) {
    const copy: FrameworkRefs = {};
    for (const fw of FRAMEWORKS) if (refs[fw] !== undefined) copy[fw] = [...refs[fw]];
    lastNormalized = { refs: copy, result: mergeFrameworks([refs]) };
  }
  const out = {} as NormalFrameworks;
  for (const fw of FRAMEWORKS) out[fw] = [...lastNormalized.result[fw]];
  return out;
}

let lastNormalized: { refs: FrameworkRefs; result: NormalFrameworks } | undefined;

function stringRefs(refs: FrameworkRefs): boolean {
  for (const fw of FRAMEWORKS) {
    const ids: unknown = refs[fw];
    if (ids === undefined) continue;
    if (!Array.isArray(ids)) return false;
    for (const id of ids) if (typeof id !== 'string') return false;
  }
  return true;
}

function sameRefs(a: FrameworkRefs, b: FrameworkRefs): boolean {
  for (const fw of FRAMEWORKS) {
    const x = a[fw];
    const y = b[fw];
    if (x === undefined || y === undefined) {
      if (x !== y) return false;
      continue;
    }
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

function mergeFrameworks(all: readonly (FrameworkRefs | undefined)[]): NormalFrameworks {
  const out = {} as NormalFrameworks;
  for (const fw of FRAMEWORKS) {
    // Normalising is a function of the written id: each distinct one is normalised once.
    const raw = new Set<string>();
    for (const refs of all) for (const id of refs?.[fw] ?? []) raw.add(id);
    const ids = new Set<string>();
    for (const id of raw) ids.add(fw === 'stig' ? normalizeStigId(id) : String(id).trim());
    out[fw] = [...ids].filter((id) => id !== '').sort(compareNatural);
  }
  return out;
}

/** `242390`, `v-242390`, `V242390` → `V-242390`; anything else is left as written. */
export function normalizeStigId(id: string): string {
  const m = /^\s*v?-?\s*(\d+)\s*$/i.exec(String(id));
  return m ? `V-${m[1]}` : String(id).trim();
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `1.2.9` before `1.2.10`, `APP.4.4.A2` before `APP.4.4.A10`; ties broken by code units. */
export function compareNatural(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const numeric = i % 2 === 1;
    if (numeric) {
      const d = Number(pa[i]) - Number(pb[i]);
      if (d !== 0) return d;
    }
    return compareText(pa[i], pb[i]);
  }
  return pa.length - pb.length || compareText(a, b);
}

export function compareSeverity(a: Severity, b: Severity): number {
  return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b);
}

/** Most pressing first: status, then severity, then the stable order above. */
export function compareByUrgency(a: Finding, b: Finding): number {
  return compareStatus(a.status, b.status) || compareSeverity(a.severity, b.severity) || compareFindings(a, b);
}

export function sortFindings(findings: readonly Finding[], compare = compareFindings): Finding[] {
  return [...findings].sort(compare);
}

/** `Deployment team-a/web`, `NodeFileManifest /etc/kubernetes/pki/ca.key`, `file /etc/…`, or ''. */
export function objectLabel(o: ObjectRef | undefined): string {
  if (!o) return '';
  const name = o.namespace ? `${o.namespace}/${o.name ?? ''}` : (o.name ?? '');
  const label = [o.kind, name, o.path].filter((s) => s).join(' ');
  return label !== '' && o.path && !o.kind && !name ? `file ${o.path}` : label;
}

/** The finding's remediation, or the control's when the finding carries none. */
export function remediationOf(f: Finding, controls: Map<string, ControlInfo>): string | undefined {
  if (f.remediation !== undefined) return f.remediation;
  const r = controls.get(f.control)?.remediation;
  return r === undefined ? undefined : remediationText(r);
}

/** One remediation step as machine-readable reports write it: construct and props to change (null and [] outside the constructs) and what to do. */
export interface FixStep {
  construct: string | null;
  props: string[];
  text: string;
}

export function toFixStep(s: RemediationStep): FixStep {
  return { construct: s.construct ?? null, props: stepProps(s), text: s.text };
}

/** `manifests/app.yaml:12`, or '' when the finding has no file. */
export function locationLabel(o: ObjectRef | undefined): string {
  if (!o?.file) return '';
  return o.line !== undefined ? `${o.file}:${o.line}` : o.file;
}

export function controlIndex(meta: ReportMeta): Map<string, ControlInfo> {
  return new Map((meta.controls ?? []).map((c) => [c.id, c]));
}

export function frameworksInFocus(meta: ReportMeta): readonly Framework[] {
  return meta.frameworks && meta.frameworks.length > 0
    ? FRAMEWORKS.filter((f) => meta.frameworks?.includes(f))
    : FRAMEWORKS;
}

export function reportTitle(meta: ReportMeta): string {
  return meta.title ?? 'Cluster hardening audit';
}

export function toolName(meta: ReportMeta): string {
  return meta.tool?.name ?? 'hcb';
}

/** Framework references as one line: `STIG V-242390 · CIS 1.2.1`. */
export function frameworksLabel(refs: NormalFrameworks, only: readonly Framework[] = FRAMEWORKS): string {
  return only
    .filter((fw) => refs[fw].length > 0)
    .map((fw) => `${fw.toUpperCase()} ${refs[fw].join(', ')}`)
    .join(' · ');
}
