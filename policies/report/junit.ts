/**
 * JUnit XML for CI test views: one testsuite per control, one testcase per finding.
 * fail → <failure>, error → <error>, not-evaluated / not-applicable → <skipped> with the
 * reason; accepted → <skipped> naming the exception (it failed, but nobody should be paged).
 */
import { Finding } from '../model';
import {
  controlIndex,
  frameworksInFocus,
  frameworksLabel,
  locationLabel,
  objectLabel,
  ReportMeta,
  ReportSummary,
  remediationOf,
  reportTitle,
  rollUpControls,
} from './common';
import { attrs, xmlText } from './xml';

export function renderJunit(findings: readonly Finding[], summary: ReportSummary, meta: ReportMeta = {}): string {
  const catalogue = controlIndex(meta);
  const focus = frameworksInFocus(meta);
  const skippedTotal =
    summary.byStatus.accepted + summary.byStatus['not-evaluated'] + summary.byStatus['not-applicable'];
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(
    `<testsuites${attrs({
      name: reportTitle(meta),
      tests: summary.findings,
      failures: summary.byStatus.fail,
      errors: summary.byStatus.error,
      skipped: skippedTotal,
      timestamp: meta.generatedAt,
    })}>`,
  );
  for (const r of rollUpControls(findings)) {
    const count = (s: Finding['status']): number => r.findings.filter((f) => f.status === s).length;
    const title = catalogue.get(r.control)?.title;
    lines.push(
      `  <testsuite${attrs({
        name: title ? `${r.control} ${title}` : r.control,
        tests: r.findings.length,
        failures: count('fail'),
        errors: count('error'),
        skipped: count('accepted') + count('not-evaluated') + count('not-applicable'),
        timestamp: meta.generatedAt,
      })}>`,
    );
    const refs = frameworksLabel(r.frameworks, focus);
    lines.push('    <properties>');
    lines.push(`      <property${attrs({ name: 'severity', value: r.severity })}/>`);
    for (const fw of focus) {
      for (const id of r.frameworks[fw]) lines.push(`      <property${attrs({ name: fw, value: id })}/>`);
    }
    lines.push('    </properties>');
    const names = new Map<string, number>();
    for (const f of r.findings) {
      for (const l of testcase(f, uniqueName(caseName(f), names), refs, remediationOf(f, catalogue))) lines.push(l);
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

function testcase(f: Finding, name: string, refs: string, fix: string | undefined): string[] {
  const head = `    <testcase${attrs({ name, classname: f.control, file: f.object?.file, line: f.object?.line })}`;
  const detail = [
    f.message,
    locationLabel(f.object) && `at ${locationLabel(f.object)}`,
    f.object?.constructPath && `construct ${f.object.constructPath}`,
    fix && `fix: ${fix}`,
    refs,
  ]
    .filter((s) => s)
    .join('\n');
  switch (f.status) {
    case 'pass':
      return [`${head}/>`];
    case 'fail':
      return [
        head + '>',
        `      <failure${attrs({ message: f.message, type: f.severity })}>${xmlText(detail)}</failure>`,
        '    </testcase>',
      ];
    case 'error':
      return [
        head + '>',
        `      <error${attrs({ message: f.message, type: 'error' })}>${xmlText(detail)}</error>`,
        '    </testcase>',
      ];
    case 'accepted': {
      const e = f.exception;
      const why = e ? `accepted until ${e.expires} (owner ${e.owner}): ${e.justification}` : 'accepted by an exception';
      return [head + '>', `      <skipped${attrs({ message: why })}/>`, '    </testcase>'];
    }
    case 'not-evaluated':
      return [head + '>', `      <skipped${attrs({ message: `not evaluated: ${f.message}` })}/>`, '    </testcase>'];
    case 'not-applicable':
      return [head + '>', `      <skipped${attrs({ message: `not applicable: ${f.message}` })}/>`, '    </testcase>'];
  }
}

function caseName(f: Finding): string {
  return objectLabel(f.object) || locationLabel(f.object) || f.control;
}

/** CI views merge test cases with equal names: number the repeats. */
function uniqueName(name: string, seen: Map<string, number>): string {
  const n = (seen.get(name) ?? 0) + 1;
  seen.set(name, n);
  return n === 1 ? name : `${name} #${n}`;
}
