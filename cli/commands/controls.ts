/**
 * `hcb controls`: the control catalogue and how it covers each framework. The Markdown output is
 * what docs/coverage.md's tables are made from.
 */
import { Command } from '../command';
import { CATALOGUE } from '../../policies/catalogue';
import { Control, remediationSteps, remediationText, stepProps } from '../../policies/control';
import { noPositional, oneOf, parseOptions, UsageError, usageFailure } from '../options';
import { coverage, FrameworkCoverage } from '../../policies/coverage';
import { FRAMEWORK_DEFINITIONS } from '../../policies/frameworks';
import { Framework, FRAMEWORKS } from '../../policies/model';

const USAGE = `usage: hcb controls [--framework stig|cis|bsi|ccn|scs] [--format text|markdown|json]

Prints the control catalogue and, per framework, which requirement IDs automated, manual and
organisational controls cover. A BSI, CCN or SCS requirement counts as automated only when an
automated control checks all of it (policies/frameworks/coverage-claims.ts); the others that
automated controls check in part are listed as partly automated.
`;

export type ControlsFormat = 'text' | 'markdown' | 'json';
const CONTROLS_FORMATS: readonly ControlsFormat[] = ['text', 'markdown', 'json'];

const LABEL: Record<Framework, string> = { stig: 'STIG', cis: 'CIS', bsi: 'BSI', ccn: 'CCN', scs: 'SCS' };

function selected(framework: Framework | undefined): { controls: Control[]; frameworks: Framework[] } {
  const frameworks = framework ? [framework] : [...FRAMEWORKS];
  const controls = [...CATALOGUE]
    .filter((c) => frameworks.some((f) => (c.frameworks[f] ?? []).length > 0))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { controls, frameworks };
}

function refs(c: Control, f: Framework, cov?: FrameworkCoverage): string {
  return (c.frameworks[f] ?? []).map((id) => (isPartial(cov, id, c.id) ? `${id} (partial)` : id)).join(', ');
}

function isPartial(cov: FrameworkCoverage | undefined, id: string, control: string): boolean {
  return cov?.mappings[id]?.find((m) => m.control === control)?.coverage === 'partial';
}

/** The Coverage cell of one requirement: its category, and for partly automated ones who answers the rest. */
function coverageKind(c: FrameworkCoverage, id: string): string {
  if (c.automated.includes(id)) return 'automated';
  if (c.partial.includes(id)) {
    const others = new Set((c.mappings[id] ?? []).filter((m) => m.automation !== 'automated').map((m) => m.automation));
    const rest = others.has('manual') ? 'manual' : others.has('organisational') ? 'organisational' : '';
    return rest ? `partly automated, rest ${rest}` : 'partly automated';
  }
  if (c.manual.includes(id)) return 'manual';
  if (c.organisational.includes(id)) return 'organisational';
  return '**not covered**';
}

function md(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderControls(format: ControlsFormat, framework?: Framework): string {
  const { controls, frameworks } = selected(framework);
  const cov = coverage(CATALOGUE, frameworks);
  if (format === 'json') {
    const data = {
      controls: controls.map((c) => ({
        id: c.id,
        title: c.title,
        rationale: c.rationale,
        severity: c.severity,
        automation: c.automation,
        responsibility: c.responsibility,
        checkpoints: c.checkpoints,
        frameworks: Object.fromEntries(
          FRAMEWORKS.filter((f) => (c.frameworks[f] ?? []).length > 0).map((f) => [f, c.frameworks[f]]),
        ),
        remediation: remediationText(c.remediation),
        // The same remediation as steps: which construct and props to change, and what to do.
        fix: remediationSteps(c.remediation).map((s) => ({
          construct: s.construct ?? null,
          props: stepProps(s),
          text: s.text,
        })),
        ...(c.evidence ? { evidence: c.evidence } : {}),
      })),
      coverage: cov,
    };
    return `${JSON.stringify(data, null, 2)}\n`;
  }
  if (format === 'markdown') return renderMarkdown(controls, frameworks, cov);
  return renderText(controls, frameworks, cov);
}

function renderMarkdown(controls: Control[], frameworks: Framework[], cov: FrameworkCoverage[]): string {
  const covOf = (f: Framework) => cov.find((c) => c.framework === f);
  const out: string[] = [];
  out.push('## Framework coverage', '');
  out.push('| Framework | Requirements | Automated | Manual | Organisational | Not covered | Partly automated |');
  out.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const c of cov) {
    out.push(
      `| ${md(c.name)} (${md(c.edition)}) | ${c.total} | ${c.automated.length} | ${c.manual.length} | ${c.organisational.length} | ${c.uncovered.length} | ${c.partial.length} |`,
    );
  }
  out.push('');
  out.push(
    'A BSI, CCN or SCS requirement counts as automated only when automated controls check all of it; a control marked',
    '(partial) checks a part, and a requirement only such controls check is counted as partly automated, not as',
    'automated, manual or organisational. Each claim and its reason: `policies/frameworks/coverage-claims.ts`',
    '(`hcb controls --format json` prints them).',
    '',
  );
  for (const c of cov) {
    const def = FRAMEWORK_DEFINITIONS[c.framework];
    out.push(`### ${md(c.name)}`, '');
    out.push('| ID | Topic | Coverage | Controls |', '|---|---|---|---|');
    for (const r of def.requirements) {
      const ctl = (c.controls[r.id] ?? []).map((x) => (isPartial(c, r.id, x) ? `${x} (partial)` : x));
      out.push(`| ${r.id} | ${md(r.topic)} | ${coverageKind(c, r.id)} | ${ctl.join(', ')} |`);
    }
    out.push('');
  }
  out.push('## Controls', '');
  out.push(`| Control | Title | Severity | Automation | ${frameworks.map((f) => LABEL[f]).join(' | ')} |`);
  out.push(`|---|---|---|---|${frameworks.map(() => '---').join('|')}|`);
  for (const c of controls) {
    out.push(
      `| ${c.id} | ${md(c.title)} | ${c.severity} | ${c.automation} | ${frameworks.map((f) => refs(c, f, covOf(f))).join(' | ')} |`,
    );
  }
  out.push('');
  return `${out.join('\n')}\n`;
}

function renderText(controls: Control[], frameworks: Framework[], cov: FrameworkCoverage[]): string {
  const covOf = (f: Framework) => cov.find((c) => c.framework === f);
  const out: string[] = [];
  const w = Math.max(...controls.map((c) => c.id.length), 7);
  out.push(`${'CONTROL'.padEnd(w)}  ${'SEVERITY'.padEnd(8)}  ${'AUTOMATION'.padEnd(14)}  TITLE`);
  for (const c of controls) {
    out.push(`${c.id.padEnd(w)}  ${c.severity.padEnd(8)}  ${c.automation.padEnd(14)}  ${c.title}`);
    const fw = frameworks
      .filter((f) => (c.frameworks[f] ?? []).length > 0)
      .map((f) => `${LABEL[f]} ${refs(c, f, covOf(f))}`);
    if (fw.length > 0) out.push(`${''.padEnd(w)}  ${fw.join('; ')}`);
  }
  out.push('', 'COVERAGE');
  for (const c of cov) {
    out.push(
      `${c.name} (${c.edition}): ${c.total} requirements, ${c.automated.length} automated, ${c.partial.length} partly automated, ${c.manual.length} manual, ${c.organisational.length} organisational, ${c.uncovered.length} not covered`,
    );
    if (c.automated.length > 0) out.push(`  automated:        ${c.automated.join(' ')}`);
    if (c.partial.length > 0) out.push(`  partly automated: ${c.partial.join(' ')}`);
    if (c.manual.length > 0) out.push(`  manual:           ${c.manual.join(' ')}`);
    if (c.organisational.length > 0) out.push(`  organisational:   ${c.organisational.join(' ')}`);
    if (c.uncovered.length > 0) out.push(`  NOT COVERED:      ${c.uncovered.join(' ')}`);
    if (c.unclaimed.length > 0) out.push(`  NO CLAIM:         ${c.unclaimed.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

export const command: Command = {
  name: 'controls',
  summary: 'list the control catalogue and its coverage of STIG, CIS, BSI, CCN and SCS',
  async run(args: string[]): Promise<number> {
    let format: ControlsFormat;
    let framework: Framework | undefined;
    try {
      const o = parseOptions(args, { values: ['format', 'framework'], flags: ['help'], short: { h: 'help' } });
      if (o.flags.has('help')) {
        process.stdout.write(USAGE);
        return 0;
      }
      noPositional(o);
      format = oneOf(o.options, 'format', CONTROLS_FORMATS, 'text');
      framework = o.value('framework') === undefined ? undefined : oneOf(o.options, 'framework', FRAMEWORKS, 'stig');
    } catch (e) {
      if (e instanceof UsageError) return usageFailure(process.stderr, 'controls', USAGE, e.message);
      throw e;
    }
    process.stdout.write(renderControls(format, framework));
    return 0;
  },
};
