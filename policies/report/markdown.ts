/**
 * Markdown for a pull request comment or job summary: counts by status and framework, the
 * failures with their remediation, accepted exceptions with who accepted them until when, and
 * what could not be evaluated. Cell text is escaped so input cannot break the tables.
 */
import { Finding, Status } from '../model';
import {
  compareByUrgency,
  controlIndex,
  FRAMEWORK_LABELS,
  frameworksInFocus,
  frameworksLabel,
  locationLabel,
  normalizeFrameworks,
  objectLabel,
  ReportMeta,
  ReportSummary,
  remediationOf,
  reportTitle,
  rollUpControls,
  sortFindings,
  STATUS_LABELS,
  STATUS_ORDER,
} from './common';

export function renderMarkdown(findings: readonly Finding[], summary: ReportSummary, meta: ReportMeta = {}): string {
  const controls = controlIndex(meta);
  const focus = frameworksInFocus(meta);
  const out: string[] = [];
  const failing = summary.byStatus.fail + summary.byStatus.error;

  out.push(`## ${inline(reportTitle(meta))}`, '');
  const verdict = failing === 0 ? '✅ **No failures**' : `❌ **${failing} failing finding${failing === 1 ? '' : 's'}**`;
  out.push(
    `${verdict} — ${summary.findings} findings on ${summary.controls.total} controls${meta.generatedAt ? ` (${inline(meta.generatedAt)})` : ''}`,
    '',
  );

  out.push('### Summary', '');
  out.push('| Status | Findings | Controls |', '| --- | ---: | ---: |');
  for (const s of STATUS_ORDER)
    out.push(`| ${STATUS_LABELS[s]} | ${summary.byStatus[s]} | ${summary.controls.byStatus[s]} |`);
  out.push('');

  const columns: Status[] = ['pass', 'fail', 'error', 'accepted', 'not-evaluated', 'not-applicable'];
  out.push(`| Framework | Controls | ${columns.map((s) => STATUS_LABELS[s]).join(' | ')} |`);
  out.push(`| --- | ---: | ${columns.map(() => '---:').join(' | ')} |`);
  for (const fw of focus) {
    const c = summary.frameworks[fw];
    out.push(`| ${FRAMEWORK_LABELS[fw]} | ${c.controls} | ${columns.map((s) => c.byStatus[s]).join(' | ')} |`);
  }
  out.push('', 'Controls are counted once per framework under their most pressing status.', '');

  const failures = sortFindings(
    findings.filter((f) => f.status === 'fail' || f.status === 'error'),
    compareByUrgency,
  );
  out.push(`### Failures (${failures.length})`, '');
  if (failures.length === 0) {
    out.push('None.', '');
  } else {
    out.push(
      '| Control | Severity | Object | Location | Finding | Remediation |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const f of failures) {
      const title = controls.get(f.control)?.title;
      const refs = frameworksLabel(normalizeFrameworks(f.frameworks), focus);
      const control = [`\`${code(f.control)}\``, title ? cell(title) : '', refs ? `<sub>${cell(refs)}</sub>` : '']
        .filter((s) => s)
        .join('<br>');
      const where = [locationLabel(f.object), f.object?.constructPath ? `construct ${f.object.constructPath}` : '']
        .filter((s) => s)
        .map((s) => `\`${code(s)}\``)
        .join('<br>');
      out.push(
        `| ${control} | ${f.status === 'error' ? `${f.severity} (error)` : f.severity} | ${cell(objectLabel(f.object)) || '—'} | ${where || '—'} | ${cell(f.message)} | ${cell(remediationOf(f, controls) ?? '') || '—'} |`,
      );
    }
    out.push('');
  }

  const accepted = sortFindings(findings.filter((f) => f.status === 'accepted'));
  out.push(`### Accepted exceptions (${accepted.length})`, '');
  if (accepted.length === 0) {
    out.push('None.', '');
  } else {
    out.push('| Control | Object | Justification | Owner | Expires |', '| --- | --- | --- | --- | --- |');
    for (const f of accepted) {
      const e = f.exception;
      out.push(
        `| \`${code(f.control)}\` | ${cell(objectLabel(f.object) || locationLabel(f.object)) || '—'} | ${cell(e?.justification ?? '') || '—'} | ${cell(e?.owner ?? '') || '—'} | ${cell(e?.expires ?? '') || '—'} |`,
      );
    }
    out.push('');
  }

  const notEvaluated = sortFindings(findings.filter((f) => f.status === 'not-evaluated'));
  out.push(`### Not evaluated (${notEvaluated.length})`, '');
  if (notEvaluated.length === 0) {
    out.push('None: every control found what it needed in the input.', '');
  } else {
    for (const f of notEvaluated) {
      const subject = objectLabel(f.object) || locationLabel(f.object);
      out.push(`- \`${code(f.control)}\`${subject ? ` (${cell(subject)})` : ''}: ${cell(f.message)}`);
    }
    out.push('');
  }

  const passing = rollUpControls(findings).filter((r) => r.status === 'pass');
  if (passing.length > 0) {
    out.push(`<details><summary>Passing controls (${passing.length})</summary>`, '');
    for (const r of passing) {
      const title = controls.get(r.control)?.title;
      out.push(`- \`${code(r.control)}\`${title ? ` ${cell(title)}` : ''}`);
    }
    out.push('', '</details>', '');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** Text inside a table cell: no pipes, no HTML, no Markdown emphasis or links from input (also `hcb report`'s tables). */
export function cell(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#~])/g, '\\$1')
    .replace(/\r?\n/g, '<br>');
}

/** Text for a heading or a line: same escaping, no line breaks. */
function inline(s: string): string {
  return cell(s).replace(/<br>/g, ' ');
}

/** Text inside a code span: backticks and pipes cannot be escaped there, so they are replaced. */
function code(s: string): string {
  return s.replace(/`/g, "'").replace(/\|/g, '¦').replace(/\r?\n/g, ' ');
}
