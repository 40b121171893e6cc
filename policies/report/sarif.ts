/**
 * SARIF 2.1.0 for code scanning. One rule per control (from the catalogue when the caller
 * passes it, otherwise from the findings), one result per failing finding, accepted findings
 * as suppressed results carrying the exception's justification. Passing, not-applicable and
 * not-evaluated findings produce no result: SARIF results are problems.
 */
import { createHash } from 'crypto';
import { remediationSteps, remediationText } from '../control';
import { Finding, Framework, FRAMEWORKS, Severity } from '../model';
import {
  compareText,
  controlIndex,
  ControlInfo,
  frameworksInFocus,
  NormalFrameworks,
  normalizeFrameworks,
  objectLabel,
  ReportMeta,
  remediationOf,
  ReportSummary,
  rollUpControls,
  sortFindings,
  toFixStep,
  toolName,
} from './common';
import { STDIN_NAME } from '../input/types';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

type Level = 'error' | 'warning' | 'note';

const LEVEL: Record<Severity, Level> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/** GitHub code scanning ranks security results by this CVSS-like number. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

export function renderSarif(findings: readonly Finding[], _summary: ReportSummary, meta: ReportMeta = {}): string {
  const catalogue = controlIndex(meta);
  const focus = frameworksInFocus(meta);
  const reported = sortFindings(
    findings.filter((f) => f.status === 'fail' || f.status === 'error' || f.status === 'accepted'),
  );

  // Rules: every control that has any finding, so a control that passes is still described.
  const rollups = rollUpControls(findings);
  const ids = new Set(rollups.map((r) => r.control));
  const ruleIds = [...ids].sort(compareText);
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));
  const rules = ruleIds.map((id) => {
    const info: ControlInfo | undefined = catalogue.get(id);
    const fromFindings = rollups.find((r) => r.control === id);
    const severity = info?.severity ?? fromFindings?.severity ?? 'medium';
    const frameworks = info
      ? normalizeFrameworks(info.frameworks)
      : (fromFindings?.frameworks ?? normalizeFrameworks({}));
    const title = info?.title ?? id;
    const rule: Record<string, unknown> = {
      id,
      name: ruleName(id),
      shortDescription: { text: title },
      fullDescription: { text: info?.rationale ?? title },
      defaultConfiguration: { level: LEVEL[severity] },
      properties: {
        tags: ['security', 'kubernetes', ...tags(frameworks, focus)],
        precision: 'high',
        'problem.severity': LEVEL[severity] === 'note' ? 'recommendation' : LEVEL[severity],
        'security-severity': SECURITY_SEVERITY[severity],
        frameworks: pick(frameworks, focus),
      },
    };
    const remediation = info?.remediation ?? fromFindings?.findings.find((f) => f.remediation)?.remediation;
    if (remediation) {
      rule.help = { text: remediationText(remediation) };
      // The structured form for tools: which construct and prop to change (steps without a construct are left out).
      const fix = remediationSteps(remediation).filter((s) => s.construct !== undefined);
      if (fix.length > 0) {
        (rule.properties as Record<string, unknown>).fix = fix.map(toFixStep);
      }
    }
    return rule;
  });

  const artifacts = [
    ...new Set(reported.map((f) => f.object?.file).filter((f): f is string => !!f && f !== STDIN_NAME)),
  ].sort(compareText);

  const results = reported.map((f) => {
    const result: Record<string, unknown> = {
      ruleId: f.control,
      ruleIndex: ruleIndex.get(f.control),
      level: f.status === 'error' ? 'error' : LEVEL[f.severity],
      kind: 'fail',
      message: { text: messageText(f, remediationOf(f, catalogue)) },
      locations: location(f),
      partialFingerprints: { 'hcbFinding/v1': fingerprint(f) },
      properties: {
        status: f.status,
        severity: f.severity,
        frameworks: pick(normalizeFrameworks(f.frameworks), focus),
      },
    };
    if (f.status === 'accepted') {
      result.suppressions = [
        {
          kind: 'external',
          status: 'accepted',
          justification: f.exception
            ? `${f.exception.justification} (owner ${f.exception.owner}, expires ${f.exception.expires})`
            : 'accepted by an exception',
        },
      ];
    }
    return result;
  });

  const driver: Record<string, unknown> = { name: toolName(meta) };
  if (meta.tool?.version) driver.semanticVersion = meta.tool.version;
  driver.rules = rules;
  const run: Record<string, unknown> = {
    tool: { driver },
    artifacts: artifacts.map((uri) => ({ location: { uri: toUri(uri), uriBaseId: '%SRCROOT%' } })),
    results,
    columnKind: 'unicodeCodePoints',
  };
  if (meta.generatedAt) run.invocations = [{ executionSuccessful: true, endTimeUtc: meta.generatedAt }];
  const log = { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [run] };
  return `${JSON.stringify(log, null, 2)}\n`;
}

/** Where the problem is; an empty list when the finding names neither a file nor an object. */
function location(f: Finding): Record<string, unknown>[] {
  const o = f.object ?? {};
  const loc: Record<string, unknown> = {};
  if (o.file && o.file !== STDIN_NAME) {
    const physical: Record<string, unknown> = { artifactLocation: { uri: toUri(o.file), uriBaseId: '%SRCROOT%' } };
    if (o.line !== undefined && o.line >= 1) physical.region = { startLine: o.line };
    loc.physicalLocation = physical;
  }
  const label = objectLabel(o);
  if (label || o.constructPath) {
    loc.logicalLocations = [
      ...(label ? [{ fullyQualifiedName: label, kind: 'object' }] : []),
      ...(o.constructPath ? [{ fullyQualifiedName: o.constructPath, kind: 'module' }] : []),
    ];
  }
  return Object.keys(loc).length > 0 ? [loc] : [];
}

function messageText(f: Finding, fix: string | undefined): string {
  const subject = objectLabel(f.object);
  const text = subject && !f.message.includes(subject) ? `${subject}: ${f.message}` : f.message;
  return fix && f.status !== 'accepted' ? `${text}\nFix: ${fix}` : text;
}

/** Relative, forward slashes, each segment percent-encoded: a valid URI reference. */
function toUri(file: string): string {
  return file
    .replace(/\\/g, '/')
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
}

/** Same subject and control → same fingerprint across runs, whatever line it moved to. */
function fingerprint(f: Finding): string {
  const o = f.object ?? {};
  const key = [f.control, o.apiVersion, o.kind, o.namespace, o.name, o.path, o.name ? '' : o.file]
    .map((s) => s ?? '')
    .join('\u0000');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function tags(frameworks: NormalFrameworks, focus: readonly Framework[]): string[] {
  return focus.flatMap((fw) => frameworks[fw].map((id) => `${fw}:${id}`));
}

function pick(frameworks: NormalFrameworks, focus: readonly Framework[]): Partial<NormalFrameworks> {
  return Object.fromEntries(FRAMEWORKS.filter((fw) => focus.includes(fw)).map((fw) => [fw, frameworks[fw]]));
}

/** `HCB-API-001` → `HcbApi001`: SARIF rule names are identifiers. */
function ruleName(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p)
    .map((p) => p[0].toUpperCase() + p.slice(1).toLowerCase())
    .join('');
}
