/**
 * The compliance engine: runs the catalogue's checks over input documents and returns
 * findings in a stable order. It never throws on bad input: a check that throws gives an
 * 'error' finding, a check that returns nothing gives 'not-evaluated', and exceptions turn
 * failures into 'accepted' only while valid and unexpired.
 */
import * as v8 from 'v8';
import { CATALOGUE } from './catalogue';
import { CheckResult, Control, remediationText } from './control';
import { buildContext } from './context';
import { documentRef } from './components';
import { isExceptionDocument, isExpired, scopeMatches, validateExceptions } from './exceptions';
import {
  ControlException,
  Document,
  Finding,
  Framework,
  FRAMEWORKS,
  FrameworkRefs,
  ObjectRef,
  Severity,
  SEVERITIES,
  Status,
} from './model';
import { compareStrings } from './util/values';
import { compareFindings, STATUS_ORDER } from './order';
import { typeProblems, typeProblemsText } from './input/schema';
import { INPUT_PARSE_CONTROL } from './input/types';

export { validateExceptions, validateException } from './exceptions';
export type { ExceptionProblem } from './exceptions';

export { compareFindings };

/** Every status (a set; the order findings and roll-ups use is STATUS_ORDER in policies/order.ts). */
export const STATUSES: readonly Status[] = ['pass', 'fail', 'accepted', 'not-applicable', 'not-evaluated', 'error'];

/** Control id of the finding made when the engine cannot complete (the audit's own id for it). */
export const ENGINE_ERROR_CONTROL = 'HCB-ENGINE-ERROR';

/**
 * Share of V8's heap limit the findings may fill while the controls run: past it the engine stops
 * before memory runs out (the report needs about as much again), with an error that says so. The
 * loader's limits (HCB_MAX_DOCUMENTS, policies/input/files.ts) normally stop far earlier.
 */
export const HEAP_SHARE_FOR_FINDINGS = 0.7;

/** Control id of findings that report an invalid exception whose control is unknown. */
export const EXCEPTION_CONTROL = 'HCB-EXCEPTION';

export interface EvaluateOptions {
  exceptions?: readonly ControlException[];
  /** Clock for exception expiry. @default new Date() */
  now?: Date;
  /** Only controls that map to at least one of these frameworks. @default every control */
  frameworks?: readonly Framework[];
  /** The controls to run. @default CATALOGUE */
  controls?: readonly Control[];
  /**
   * Also report manual and organisational controls, as 'not-evaluated' findings that carry the
   * evidence the blueprint gives. @default true
   */
  includeManual?: boolean;
}

/** True when the control references at least one of the frameworks. */
export function mapsTo(control: Pick<Control, 'frameworks'>, frameworks: readonly Framework[]): boolean {
  return frameworks.some((f) => (control.frameworks[f] ?? []).length > 0);
}

function copyRefs(refs: FrameworkRefs): FrameworkRefs {
  const out: FrameworkRefs = {};
  for (const f of FRAMEWORKS) if (refs[f] && refs[f]!.length > 0) out[f] = [...refs[f]!];
  return out;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'unprintable error';
  }
}

function finding(
  control: Control,
  status: Status,
  message: string,
  object?: ObjectRef,
  remediation = remediationText(control.remediation),
): Finding {
  const f: Finding = {
    control: control.id,
    status,
    severity: control.severity,
    frameworks: copyRefs(control.frameworks),
    message,
    remediation,
  };
  if (object !== undefined) f.object = { ...object };
  return f;
}

const VALID_STATUSES = new Set<string>(STATUSES);

function runCheck(control: Control, ctx: ReturnType<typeof buildContext>): Finding[] {
  let results: CheckResult[];
  try {
    results = control.check!(ctx);
  } catch (err) {
    return [finding(control, 'error', `The check failed: ${errorText(err)}`)];
  }
  if (!Array.isArray(results) || results.length === 0) {
    return [
      finding(
        control,
        'not-evaluated',
        'The check produced no result: nothing in the input is a subject of this control.',
      ),
    ];
  }
  // The control's remediation text, once for all its findings.
  const remediation = remediationText(control.remediation);
  return results.map((r) => {
    if (!r || typeof r !== 'object' || !VALID_STATUSES.has(r.status)) {
      return finding(control, 'error', `The check returned an invalid result: ${JSON.stringify(r)}`);
    }
    return finding(control, r.status, String(r.message ?? ''), r.object, remediation);
  });
}

function applyExceptions(findings: Finding[], exceptions: readonly ControlException[], now: Date): void {
  for (const f of findings) {
    if (f.status !== 'fail') continue;
    const matching = exceptions.filter((e) => e.control === f.control && scopeMatches(e, f.object));
    if (matching.length === 0) continue;
    const valid = matching.find((e) => !isExpired(e, now));
    if (valid) {
      f.status = 'accepted';
      f.exception = { justification: valid.justification, owner: valid.owner, expires: valid.expires };
      f.message = `${f.message} (accepted by exception of ${valid.owner} until ${valid.expires}${valid.ticket ? `, ${valid.ticket}` : ''})`;
    } else {
      const e = matching[0];
      f.message = `${f.message} (the exception of ${e.owner} expired on ${e.expires}; it no longer accepts this failure)`;
    }
  }
}

function typeErrorFinding(d: Document, wrong: ReturnType<typeof typeProblems>): Finding {
  const object = documentRef(d);
  const where =
    object.file !== undefined ? `${object.file}${object.line !== undefined ? `:${object.line}` : ''}: ` : '';
  const name =
    object.kind !== undefined
      ? `${object.kind}${object.name !== undefined ? ` ${object.namespace !== undefined ? `${object.namespace}/` : ''}${object.name}` : ''}: `
      : '';
  return {
    control: INPUT_PARSE_CONTROL,
    status: 'error',
    severity: 'high',
    frameworks: {},
    object,
    message: `${where}${name}${typeProblemsText(wrong)}`,
    remediation:
      'Write the field with the type Kubernetes gives it (a boolean unquoted as true or false, a number unquoted, a list as a list); then the controls can check it.',
  };
}

/** Runs the controls over the documents. Deterministic; never throws on bad input. */
export function evaluate(docs: readonly Document[], opts: EvaluateOptions = {}): Finding[] {
  const now = opts.now ?? new Date();
  let controls = opts.controls ?? CATALOGUE;
  if (opts.frameworks && opts.frameworks.length > 0) {
    const fw = opts.frameworks;
    controls = controls.filter((c) => mapsTo(c, fw));
  }
  const includeManual = opts.includeManual ?? true;
  // Exceptions come only through opts.exceptions: a ControlExceptionList among the input is
  // neither applied nor checked (an audited manifest must never exempt itself).
  // A document wrongly typed in a field a check reads is an error and no check sees it (the
  // loader already drops such documents; this holds for every other caller too).
  const findings: Finding[] = [];
  const checked: Document[] = [];
  for (const d of Array.isArray(docs) ? docs : []) {
    if (isExceptionDocument(d?.object)) continue;
    const wrong = d && d.object !== null && typeof d.object === 'object' ? typeProblems(d.object) : [];
    if (wrong.length === 0) checked.push(d);
    else findings.push(typeErrorFinding(d, wrong));
  }
  const ctx = buildContext(checked);
  for (let i = 0; i < controls.length; i++) {
    const control = controls[i];
    if (control.automation === 'automated' && typeof control.check === 'function') {
      for (const f of runCheck(control, ctx)) findings.push(f);
      const heap = v8.getHeapStatistics();
      if (heap.used_heap_size > heap.heap_size_limit * HEAP_SHARE_FOR_FINDINGS) {
        // Nothing partial: the findings so far are released, the error stands alone.
        return [
          {
            control: ENGINE_ERROR_CONTROL,
            status: 'error',
            severity: 'high',
            frameworks: {},
            message:
              `The engine stopped after ${i + 1} of ${controls.length} controls (at ${control.id}): the ${checked.length} documents and ` +
              `${findings.length} findings fill ${Math.round(heap.used_heap_size / 2 ** 20)} MiB of the ${Math.round(heap.heap_size_limit / 2 ** 20)} MiB heap, ` +
              'and the report needs about as much again; nothing was reported. Audit the input in parts (or lower HCB_MAX_DOCUMENTS), ' +
              'or give Node.js more memory (NODE_OPTIONS=--max-old-space-size=<MiB>).',
          },
        ];
      }
    } else if (control.automation === 'automated') {
      findings.push(finding(control, 'error', 'The control is marked automated but has no check.'));
    } else if (includeManual) {
      const kind = control.automation === 'manual' ? 'Manual control' : 'Organisational control';
      findings.push(
        finding(
          control,
          'not-evaluated',
          `${kind}: not checked automatically.${control.evidence ? ` Evidence: ${control.evidence}` : ''}`,
        ),
      );
    }
  }

  const all = opts.controls ?? CATALOGUE;
  const known = new Set(all.map((c) => c.id));
  const exceptions = opts.exceptions ?? [];
  const problems = validateExceptions(exceptions, known);
  const bad = new Set(problems.map((p) => p.index));
  for (const p of problems) {
    const control = p.control !== undefined ? all.find((c) => c.id === p.control) : undefined;
    const message = `Exception ${p.index + 1}${p.control ? ` for ${p.control}` : ''} is invalid and accepts nothing: ${p.message}`;
    findings.push(
      control
        ? finding(control, 'error', message)
        : { control: EXCEPTION_CONTROL, status: 'error', severity: 'high', frameworks: {}, message },
    );
  }
  applyExceptions(
    findings,
    exceptions.filter((_, i) => !bad.has(i)),
    now,
  );
  return findings.sort(compareFindings);
}

export interface FrameworkSummary {
  /** Findings that carry at least one ID of the framework. */
  findings: number;
  byStatus: Record<Status, number>;
  /** Per requirement ID: the worst status among its findings (error, fail, not-evaluated, accepted, pass, not-applicable). */
  requirements: Record<string, Status>;
}

export interface Summary {
  total: number;
  byStatus: Record<Status, number>;
  /** Per severity, counts per status. */
  bySeverity: Record<Severity, Record<Status, number>>;
  byFramework: Record<Framework, FrameworkSummary>;
}

/** The status a requirement rolls up to when its findings differ: the one STATUS_ORDER (policies/order.ts). */
export const ROLL_UP_ORDER: readonly Status[] = STATUS_ORDER;

function zeroCounts(): Record<Status, number> {
  return { pass: 0, fail: 0, accepted: 0, 'not-applicable': 0, 'not-evaluated': 0, error: 0 };
}

/** Counts per status, per severity and per framework (with a rolled-up status per requirement ID). */
export function summarize(findings: readonly Finding[]): Summary {
  const byStatus = zeroCounts();
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, zeroCounts()])) as Record<
    Severity,
    Record<Status, number>
  >;
  const byFramework = Object.fromEntries(
    FRAMEWORKS.map((f) => [f, { findings: 0, byStatus: zeroCounts(), requirements: {} as Record<string, Status> }]),
  ) as Record<Framework, FrameworkSummary>;
  for (const f of findings) {
    byStatus[f.status] += 1;
    if (bySeverity[f.severity]) bySeverity[f.severity][f.status] += 1;
    for (const fw of FRAMEWORKS) {
      const ids = f.frameworks[fw] ?? [];
      if (ids.length === 0) continue;
      const s = byFramework[fw];
      s.findings += 1;
      s.byStatus[f.status] += 1;
      for (const id of ids) {
        const prev = s.requirements[id];
        if (prev === undefined || ROLL_UP_ORDER.indexOf(f.status) < ROLL_UP_ORDER.indexOf(prev))
          s.requirements[id] = f.status;
      }
    }
  }
  for (const fw of FRAMEWORKS) {
    const r = byFramework[fw].requirements;
    byFramework[fw].requirements = Object.fromEntries(
      Object.keys(r)
        .sort(compareStrings)
        .map((k) => [k, r[k]]),
    );
  }
  return { total: findings.length, byStatus, bySeverity, byFramework };
}
