/**
 * `hcb audit PATH...`: load manifests and control-plane configuration files, run every control,
 * write a report. Exit codes: 0 nothing at or above --fail-on failed, 1 something did (an
 * 'error' finding always counts: what could not be checked is not a pass), 2 usage error.
 *
 * Default --fail-on is `low`: every failure except severity `info` fails the run. The
 * blueprint's answer to "this one is fine here" is a reviewed exception with an owner and an
 * expiry (--exceptions), not a looser threshold; --fail-on high exists for gradual adoption.
 */
import * as path from 'path';
import { Command } from '../command';
import { FileRefused, ioError, maxConfigBytes, printable, readBoundedFile, writeFileAtomic } from '../fs-safe';
import { packageVersion } from '../package-paths';
import { type CliIo, oneOf, parseArgs, processIo, UsageError, useColour } from '../options';

export { writeFileAtomic } from '../fs-safe';
import { CATALOGUE } from '../../policies/catalogue';
import { NAMESPACE_CONTROLS } from '../../policies/catalogue/namespaces';
import { RBAC_CONTROLS } from '../../policies/catalogue/rbac';
import { WORKLOAD_CONTROLS } from '../../policies/catalogue/workloads';
import { evaluate } from '../../policies/engine';
import { ControlException, Document, Finding, Framework, FRAMEWORKS, Severity, SEVERITIES } from '../../policies/model';
import {
  displayName,
  loadInputs,
  loadProblemsToFindings,
  parseExceptions,
  INPUT_PARSE_CONTROL,
} from '../../policies/input';
import { EXCEPTION_LIST_KIND, isExceptionDocument } from '../../policies/exceptions';
import {
  ControlInfo,
  REPORT_FORMATS,
  RENDERERS,
  ReportFormat,
  ReportMeta,
  summarizeFindings,
} from '../../policies/report';

// Moved to ../options (shared by every command); re-exported for the modules and tests that import them from here.
export { type CliIo, oneOf, parseArgs, processIo, UsageError, useColour };

/** Control id of the finding made when the engine itself throws. */
export const ENGINE_ERROR_CONTROL = 'HCB-ENGINE-ERROR';

/** Descriptions of the findings the audit itself makes, for reports that list rules. */
export const RUN_CONTROLS: readonly ControlInfo[] = [
  {
    id: INPUT_PARSE_CONTROL,
    title: 'Input can be read and parsed',
    rationale: 'A document that cannot be parsed cannot be checked; its controls would otherwise pass unseen.',
    severity: 'high',
    frameworks: {},
    remediation: 'Fix the YAML or JSON at the reported line, or leave the file out of the audit.',
  },
  {
    id: ENGINE_ERROR_CONTROL,
    title: 'The policy engine completes',
    rationale: 'When the engine stops, no control result of the run can be trusted.',
    severity: 'high',
    frameworks: {},
    remediation: 'Report the error message with the input that caused it.',
  },
];

/**
 * --scope: which part of the catalogue an audit reports. `workloads` (pod templates and
 * workload controls), `namespaces` (namespace hardening), `rbac` (roles and bindings) are what an
 * application repo renders; `control-plane` is the rest of the catalogue: components, nodes and
 * their files, backups and the organisational requirements.
 */
export const AUDIT_SCOPES = ['workloads', 'namespaces', 'rbac', 'control-plane'] as const;
export type AuditScope = (typeof AUDIT_SCOPES)[number];

const SCOPE_OF = new Map<string, AuditScope>([
  ...CATALOGUE.map(
    (c) => [c.id, c.id.startsWith('HCB-WORKLOAD-') ? 'workloads' : 'control-plane'] as [string, AuditScope],
  ),
  ...WORKLOAD_CONTROLS.map((c) => [c.id, 'workloads'] as [string, AuditScope]),
  ...NAMESPACE_CONTROLS.map((c) => [c.id, 'namespaces'] as [string, AuditScope]),
  ...RBAC_CONTROLS.map((c) => [c.id, 'rbac'] as [string, AuditScope]),
]);

/** The scope of a catalogue control; undefined for findings about the run itself (input, exceptions, engine). */
export function scopeOfControl(id: string): AuditScope | undefined {
  return SCOPE_OF.get(id);
}

export type FailOn = Exclude<Severity, 'info'>;
export const FAIL_ON_LEVELS: readonly FailOn[] = ['critical', 'high', 'medium', 'low'];
export const DEFAULT_FAIL_ON: FailOn = 'low';

/** What the audit needs from the policy engine (policies/engine.ts and the catalogue). */
export interface AuditEngine {
  evaluate(
    docs: Document[],
    opts: { exceptions?: ControlException[]; now?: Date; frameworks?: Framework[] },
  ): Finding[];
  controls: readonly ControlInfo[];
}

export const AUDIT_USAGE = `usage: hcb audit PATH... [options]

Checks Kubernetes manifests and control-plane configuration files (files, directories
searched recursively for *.yaml, *.yml and *.json, or - for standard input) against the
control catalogue, and reports the findings. A directory walk does not enter hidden
entries or node_modules; it names what it passed over in a warning.

options:
  --format FORMAT      terminal (default), markdown, json, sarif, junit, html, oscal
  --output FILE        write the report to FILE (atomically) instead of standard output
  --allow-empty        accept input without any Kubernetes document (default: an error, exit 1)
  --framework NAME     only controls mapped to stig, cis, bsi, ccn or scs (repeatable,
                       or comma-separated)
  --scope SCOPE        only controls of workloads, namespaces, rbac or control-plane
                       (repeatable, or comma-separated); an application repo audits its
                       manifests with --scope workloads,namespaces,rbac. control-plane is
                       the rest: components, nodes, backups, organisational requirements.
                       Findings about the run itself (input, exceptions) always stay.
  --fail-on SEVERITY   exit 1 when a failure of this severity or higher is found:
                       critical, high, medium, low (default: low). Findings with status
                       error always fail the run.
  --exceptions FILE    exceptions: a YAML list (control, scope, justification, owner,
                       expires YYYY-MM-DD, ticket) or the ControlExceptionList document
                       hcb synth writes (exceptions.yaml); expired ones accept nothing.
                       Exceptions inside the audited input are never applied.
  --now TIME           evaluate exception expiry at TIME (ISO 8601) and stamp the report
                       with it; default: SOURCE_DATE_EPOCH when set, else the clock
  -h, --help           show this help

exit status: 0 no failing finding at or above --fail-on, 1 at least one, 2 usage error.
`;

/** Does this set of findings fail the run at this threshold? */
export function failsRun(findings: readonly Finding[], failOn: FailOn): boolean {
  const limit = SEVERITIES.indexOf(failOn);
  return findings.some((f) => f.status === 'error' || (f.status === 'fail' && SEVERITIES.indexOf(f.severity) <= limit));
}

function parseTime(value: string, what: string): Date {
  const d = /^\d+$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new UsageError(`${what} is not a time: "${value}" (use ISO 8601, e.g. 2025-06-30T00:00:00Z)`);
  return d;
}

/**
 * The values of a repeatable option that also takes comma-separated lists, each one of `allowed`
 * (case-insensitive): the chosen ones in `allowed`'s order, each once; [] when none is given.
 */
function someOf<T extends string>(values: readonly string[] | undefined, name: string, allowed: readonly T[]): T[] {
  const chosen = new Set<string>();
  for (const v of (values ?? []).flatMap((x) => x.split(',')).map((x) => x.trim().toLowerCase())) {
    if (v === '') continue;
    if (!(allowed as readonly string[]).includes(v))
      throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
    chosen.add(v);
  }
  return allowed.filter((a) => chosen.has(a));
}

function parseFrameworks(values: readonly string[] | undefined): Framework[] {
  return someOf(values, 'framework', FRAMEWORKS);
}

function parseScopes(values: readonly string[] | undefined): AuditScope[] {
  const scopes = someOf(values, 'scope', AUDIT_SCOPES);
  if (values && scopes.length === 0) throw new UsageError(`--scope needs a value: ${AUDIT_SCOPES.join(', ')}`);
  return scopes;
}

/** The catalogue and the engine of policies/. */
export function defaultEngine(): AuditEngine {
  return { evaluate: (docs, opts) => evaluate(docs, opts), controls: CATALOGUE };
}

export async function runAudit(
  args: readonly string[],
  io: CliIo = processIo(),
  engine?: AuditEngine,
): Promise<number> {
  // Everything on stderr goes through printable(): file names and messages may carry escape sequences.
  const err = (s: string): void => void io.stderr.write(`hcb audit: ${printable(s)}\n`);
  let parsed;
  let format: ReportFormat;
  let failOn: FailOn;
  let frameworks: Framework[];
  let scopes: AuditScope[];
  let explicitTime: Date | undefined;
  try {
    parsed = parseArgs(args, {
      values: ['format', 'output', 'framework', 'scope', 'fail-on', 'exceptions', 'now'],
      flags: ['help', 'allow-empty'],
      short: { h: 'help', o: 'output' },
    });
    if (parsed.flags.has('help')) {
      io.stdout.write(AUDIT_USAGE);
      return 0;
    }
    format = oneOf(parsed.options, 'format', REPORT_FORMATS, 'terminal');
    failOn = oneOf(parsed.options, 'fail-on', FAIL_ON_LEVELS, DEFAULT_FAIL_ON);
    frameworks = parseFrameworks(parsed.options.get('framework'));
    scopes = parseScopes(parsed.options.get('scope'));
    const now = parsed.options.get('now')?.at(-1);
    const epoch = io.env.SOURCE_DATE_EPOCH;
    if (now !== undefined) explicitTime = parseTime(now, '--now');
    else if (epoch !== undefined && epoch !== '') explicitTime = parseTime(epoch, 'SOURCE_DATE_EPOCH');
    if (parsed.positional.length === 0)
      throw new UsageError('no input: give one or more files or directories, or - for standard input');
    if ((parsed.options.get('output')?.length ?? 0) > 1) throw new UsageError('--output given more than once');
    if ((parsed.options.get('exceptions')?.length ?? 0) > 1) throw new UsageError('--exceptions given more than once');
    for (const single of ['format', 'fail-on', 'now']) {
      if ((parsed.options.get(single)?.length ?? 0) > 1) throw new UsageError(`--${single} given more than once`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(e.message);
      io.stderr.write(`\n${AUDIT_USAGE}`);
      return 2;
    }
    throw e;
  }
  const output = parsed.options.get('output')?.[0];
  const clockNow = (io.clock ?? (() => new Date()))();
  const evaluationTime = explicitTime ?? clockNow;

  // Exceptions are reviewed code: a broken exceptions file stops the run, it does not shrink.
  let exceptions: ControlException[] | undefined;
  const exceptionsFile = parsed.options.get('exceptions')?.[0];
  if (exceptionsFile !== undefined) {
    let text: string;
    try {
      text = await readBoundedFile(
        path.resolve(io.cwd, exceptionsFile),
        `exceptions file ${exceptionsFile}`,
        maxConfigBytes(io.env),
      );
    } catch (e) {
      err(e instanceof FileRefused ? e.message : `cannot read exceptions file ${exceptionsFile}: ${ioError(e)}`);
      return 2;
    }
    const result = parseExceptions(text, exceptionsFile);
    if (result.errors.length > 0) {
      for (const p of result.errors) err(`${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`);
      return 2;
    }
    exceptions = result.exceptions;
  }

  const loaded = await loadInputs(parsed.positional, { cwd: io.cwd, readStdin: io.readStdin });
  if (loaded.missing.length > 0) {
    for (const m of loaded.missing) err(`no such file or directory: ${m}`);
    return 2;
  }
  for (const w of loaded.warnings) err(`warning: ${w.file}${w.line !== undefined ? `:${w.line}` : ''}: ${w.message}`);
  // An audited manifest never exempts itself: exception lists in the input are only named here.
  const exceptionsName =
    exceptionsFile !== undefined ? displayName(io.cwd, path.resolve(io.cwd, exceptionsFile)) : undefined;
  for (const d of loaded.documents) {
    if (!isExceptionDocument(d.object) || d.source.file === exceptionsName) continue;
    err(
      `note: ${d.source.file ?? ''}${d.source.line !== undefined ? `:${d.source.line}` : ''}: ${EXCEPTION_LIST_KIND} in the input is not applied; pass it with --exceptions`,
    );
  }
  err(
    `read ${loaded.documents.length} document${loaded.documents.length === 1 ? '' : 's'} from ${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}${loaded.errors.length > 0 ? `, ${loaded.errors.length} could not be parsed` : ''}`,
  );

  const eng = engine ?? defaultEngine();

  let findings: Finding[] = loadProblemsToFindings(loaded.errors);
  // Nothing to audit is a failure, not a pass: a broken `helm template … | hcb audit -` must not
  // pass the gate. --allow-empty accepts it.
  const auditable = loaded.documents.filter((d) => !isExceptionDocument(d.object));
  if (auditable.length === 0 && loaded.errors.length === 0 && !parsed.flags.has('allow-empty')) {
    err(
      `no Kubernetes document in ${loaded.files.length > 0 ? loaded.files.join(', ') : 'the input'} (empty input fails; pass --allow-empty to accept it)`,
    );
    findings.push({
      control: INPUT_PARSE_CONTROL,
      status: 'error',
      severity: 'high',
      frameworks: {},
      message:
        'The input holds no Kubernetes document: nothing was audited. An empty file, /dev/null or an empty pipe usually means the command that produced the input failed.',
    });
  }
  try {
    for (const f of eng.evaluate(loaded.documents, {
      exceptions,
      now: evaluationTime,
      frameworks: frameworks.length > 0 ? frameworks : undefined,
    }))
      findings.push(f);
  } catch (e) {
    findings.push({
      control: ENGINE_ERROR_CONTROL,
      status: 'error',
      severity: 'high',
      frameworks: {},
      message: `the policy engine failed: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
  if (frameworks.length > 0) {
    // Errors that belong to no framework (unparsable input, an invalid exception, the engine
    // itself) are about the whole run: they stay, whatever framework was asked for.
    const mapped = (refs: ControlInfo['frameworks'], only: readonly Framework[]): boolean =>
      only.some((fw) => (refs[fw]?.length ?? 0) > 0);
    findings = findings.filter(
      (f) => mapped(f.frameworks, frameworks) || (f.status === 'error' && !mapped(f.frameworks, FRAMEWORKS)),
    );
  }

  const inScope = (id: string): boolean => {
    const s = scopeOfControl(id);
    return s === undefined || scopes.includes(s);
  };
  if (scopes.length > 0) findings = findings.filter((f) => inScope(f.control));

  const summary = summarizeFindings(findings);
  const version = packageVersion();
  const meta: ReportMeta = {
    tool: version ? { name: 'hcb', version } : { name: 'hcb' },
    inputs: loaded.files,
    controls: [
      ...eng.controls.filter(
        (c) =>
          (frameworks.length === 0 || frameworks.some((fw) => (c.frameworks[fw]?.length ?? 0) > 0)) &&
          (scopes.length === 0 || inScope(c.id)),
      ),
      ...RUN_CONTROLS.filter((c) => !eng.controls.some((x) => x.id === c.id)),
    ],
    frameworks: frameworks.length > 0 ? frameworks : undefined,
    color: output === undefined && format === 'terminal' && useColour(io),
  };
  // Reports carry a time only when one was given, except OSCAL, which requires one.
  if (explicitTime) meta.generatedAt = explicitTime.toISOString();
  else if (format === 'oscal') meta.generatedAt = clockNow.toISOString();

  const report = RENDERERS[format](findings, summary, meta);
  if (output !== undefined) {
    try {
      await writeFileAtomic(path.resolve(io.cwd, output), report);
    } catch (e) {
      err(`cannot write ${output}: ${ioError(e)}`);
      return 2;
    }
    err(`wrote ${format} report to ${output}`);
  } else {
    io.stdout.write(report);
  }

  const failing = failsRun(findings, failOn);
  const counts = summary.byStatus;
  err(
    `${counts.fail} failed, ${counts.error} errors, ${counts.accepted} accepted, ${counts['not-evaluated']} not evaluated, ${counts.pass} passed` +
      ` → exit ${failing ? 1 : 0} (--fail-on ${failOn})`,
  );
  return failing ? 1 : 0;
}

export const command: Command = {
  name: 'audit',
  summary: 'check manifests and control-plane config files against the control catalogue',
  run: (args) => runAudit(args),
};
