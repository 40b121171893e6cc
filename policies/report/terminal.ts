/**
 * The default report: a summary for a person at a terminal. Failures come first with what to
 * change; passing controls are only counted. Colours only when the caller says so (a TTY
 * without NO_COLOR; see cli/commands/audit.ts), so the same call is testable.
 */
import { Finding, Status } from '../model';
import {
  compareByUrgency,
  compareText,
  controlIndex,
  frameworksInFocus,
  frameworksLabel,
  locationLabel,
  normalizeFrameworks,
  objectLabel,
  ReportMeta,
  ReportSummary,
  remediationOf,
  reportTitle,
  sortFindings,
  STATUS_LABELS,
  STATUS_ORDER,
} from './common';

/** Groups in the one status order (policies/order.ts): what needs action first. */
const GROUPS: readonly Status[] = STATUS_ORDER;
/** Statuses listed one finding per entry; the rest are counted per control. */
const DETAILED: ReadonlySet<Status> = new Set<Status>(['fail', 'error', 'accepted', 'not-evaluated']);

const ANSI = {
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  magenta: '\u001b[35m',
  cyan: '\u001b[36m',
  reset: '\u001b[0m',
};
const STATUS_COLOUR: Record<Status, keyof typeof ANSI> = {
  fail: 'red',
  error: 'magenta',
  accepted: 'yellow',
  'not-evaluated': 'cyan',
  pass: 'green',
  'not-applicable': 'dim',
};

export function renderTerminal(rawFindings: readonly Finding[], summary: ReportSummary, meta: ReportMeta = {}): string {
  // Input text (names, messages) must not drive the terminal: control characters are replaced.
  const findings = rawFindings.map((f) => cleanDeep(f) as Finding);
  const paint = (style: keyof typeof ANSI, s: string): string => (meta.color ? `${ANSI[style]}${s}${ANSI.reset}` : s);
  const controls = controlIndex(meta);
  const focus = frameworksInFocus(meta);
  const out: string[] = [];

  out.push(paint('bold', reportTitle(meta)) + (meta.generatedAt ? `  ${meta.generatedAt}` : ''));
  out.push(countsLine(summary, paint));
  out.push('');

  for (const status of GROUPS) {
    const group = sortFindings(
      findings.filter((f) => f.status === status),
      compareByUrgency,
    );
    if (group.length === 0) continue;
    out.push(paint(STATUS_COLOUR[status], paint('bold', `${STATUS_LABELS[status].toUpperCase()} (${group.length})`)));
    if (DETAILED.has(status)) {
      for (const f of group) {
        const title = controls.get(f.control)?.title;
        const subject = objectLabel(f.object);
        out.push(
          `  ${paint(STATUS_COLOUR[status], f.control)}  ${severityTag(f, paint)}${subject ? `  ${subject}` : ''}${title ? `  ${paint('dim', `— ${title}`)}` : ''}`,
        );
        const where = [locationLabel(f.object), f.object?.constructPath ? `construct ${f.object.constructPath}` : '']
          .filter((s) => s)
          .join(' · ');
        if (where) out.push(`    ${paint('dim', where)}`);
        pushAll(out, indent(f.message, '    '));
        if (status === 'accepted' && f.exception) {
          out.push(
            `    accepted until ${f.exception.expires} (owner ${f.exception.owner}): ${f.exception.justification}`,
          );
        }
        const fix = remediationOf(f, controls);
        if ((status === 'fail' || status === 'error') && fix) pushAll(out, indent(`fix: ${fix}`, '    '));
        const refs = frameworksLabel(normalizeFrameworks(f.frameworks), focus);
        if (refs) out.push(`    ${paint('dim', refs)}`);
      }
    } else {
      const perControl = new Map<string, number>();
      for (const f of group) perControl.set(f.control, (perControl.get(f.control) ?? 0) + 1);
      const items = [...perControl.entries()].sort((a, b) => compareText(a[0], b[0]));
      pushAll(
        out,
        wrap(
          items.map(([c, n]) => (n > 1 ? `${c} (${n})` : c)),
          '  ',
          96,
        ),
      );
    }
    out.push('');
  }

  const failing = summary.byStatus.fail + summary.byStatus.error;
  const bySeverity = (['critical', 'high', 'medium', 'low', 'info'] as const)
    .filter((s) => summary.failuresBySeverity[s] > 0)
    .map((s) => `${summary.failuresBySeverity[s]} ${s}`)
    .join(', ');
  out.push(
    failing === 0
      ? paint('green', 'No failures.')
      : paint('red', `${failing} failing finding${failing === 1 ? '' : 's'} (${bySeverity}).`),
  );
  return `${out.join('\n')}\n`;
}

function countsLine(summary: ReportSummary, paint: (s: keyof typeof ANSI, t: string) => string): string {
  const parts = GROUPS.filter((s) => summary.byStatus[s] > 0).map((s) =>
    paint(STATUS_COLOUR[s], `${summary.byStatus[s]} ${STATUS_LABELS[s].toLowerCase()}`),
  );
  const head = `${summary.findings} finding${summary.findings === 1 ? '' : 's'} on ${summary.controls.total} control${summary.controls.total === 1 ? '' : 's'}`;
  return parts.length > 0 ? `${head}: ${parts.join(', ')}` : head;
}

function severityTag(f: Finding, paint: (s: keyof typeof ANSI, t: string) => string): string {
  const style: keyof typeof ANSI = f.severity === 'critical' || f.severity === 'high' ? 'bold' : 'dim';
  return paint(style, `[${f.severity}]`);
}

/**
 * Appends one at a time: a message's lines (input can put any number of line breaks in a name or
 * a value) are unbounded, and push(...array) overflows the call stack above ~100k elements.
 */
function pushAll(out: string[], lines: readonly string[]): void {
  for (const l of lines) out.push(l);
}

function indent(text: string, prefix: string): string[] {
  return text.split('\n').map((l) => `${prefix}${l}`);
}

function wrap(items: string[], prefix: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    const next = line ? `${line}, ${item}` : item;
    if (line && prefix.length + next.length > width) {
      lines.push(`${prefix}${line},`);
      line = item;
    } else {
      line = next;
    }
  }
  if (line) lines.push(`${prefix}${line}`);
  return lines;
}

const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function cleanDeep(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(CONTROL_CHARS, '\ufffd');
  if (Array.isArray(v)) return v.map(cleanDeep);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, cleanDeep(x)]));
  }
  return v;
}
