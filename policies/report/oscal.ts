/**
 * OSCAL 1.1.2 assessment-results (JSON): what auditors' tooling reads. One result for the run;
 * one observation per finding (method TEST, with the subject and its source file as evidence);
 * one OSCAL finding per control, targeting the control with state satisfied / not-satisfied;
 * accepted findings become risks with status deviation-approved and the exception's expiry as
 * deadline. UUIDs are version 5, derived from content: same findings, same document.
 *
 * Not evaluated is never satisfied: such controls are not-satisfied with reason "other".
 */
import { Finding } from '../model';
import {
  controlIndex,
  ControlRollup,
  FRAMEWORK_LABELS,
  frameworksInFocus,
  locationLabel,
  normalizeFrameworks,
  objectLabel,
  ReportMeta,
  ReportSummary,
  remediationOf,
  reportTitle,
  rollUpControls,
  STATUS_LABELS,
  toolName,
} from './common';
import { toJsonResult } from './json';
import { HCB_NAMESPACE, uuidV5 } from './uuid';
import { STDIN_NAME } from '../input/types';

export const OSCAL_VERSION = '1.1.2';
/** Namespace of our own property names (OSCAL requires one for names it does not define). */
export const HCB_PROP_NS = 'https://hcb.dev/ns/oscal';
/** Used when the caller passes no time: OSCAL requires timestamps, reports must not invent them. */
export const UNSET_TIME = '1970-01-01T00:00:00Z';

interface Prop {
  name: string;
  ns: string;
  value: string;
  class?: string;
}

export function renderOscal(findings: readonly Finding[], summary: ReportSummary, meta: ReportMeta = {}): string {
  const time = meta.generatedAt ?? UNSET_TIME;
  const catalogue = controlIndex(meta);
  const focus = frameworksInFocus(meta);
  const rollups = rollUpControls(findings);
  // An array, not rest parameters: a control's observations can be far more than a call's arguments.
  const ids = (parts: readonly string[]): string => uuidV5(parts.join('\u0000'), HCB_NAMESPACE);
  const id = (...parts: string[]): string => ids(parts);

  const observations: Record<string, unknown>[] = [];
  const risks: Record<string, unknown>[] = [];
  const oscalFindings: Record<string, unknown>[] = [];

  for (const r of rollups) {
    const observationIds: string[] = [];
    const riskIds: string[] = [];
    r.findings.forEach((f, index) => {
      // The observation's identity predates constructPath, remediation and fix in the JSON result:
      // keep them out of the key, so the UUIDs stay what earlier versions wrote.
      const { remediation: _remediation, fix: _fix, ...result } = toJsonResult(f);
      const { constructPath: _constructPath, ...object } = result.object;
      const key = JSON.stringify({ ...result, object });
      const obsId = id('observation', key, String(index));
      observationIds.push(obsId);
      const subject = objectLabel(f.object);
      const obs: Record<string, unknown> = {
        uuid: obsId,
        title: clip(`${f.control}${subject ? ` ${subject}` : ''}`),
        description: f.message,
        props: [
          prop('status', f.status),
          prop('severity', f.severity),
          ...(subject ? [prop('subject', subject)] : []),
          ...(f.object?.apiVersion ? [prop('api-version', f.object.apiVersion)] : []),
          ...(f.object?.path ? [prop('node-path', f.object.path)] : []),
          ...(f.object?.constructPath ? [prop('construct-path', f.object.constructPath)] : []),
          ...frameworkProps(normalizeFrameworks(f.frameworks), focus),
        ].filter((p): p is Prop => p !== undefined),
        methods: ['TEST'],
        types: [f.status === 'pass' || f.status === 'not-applicable' ? 'control-objective' : 'finding'],
        collected: time,
      };
      if (f.object?.file) {
        obs['relevant-evidence'] = [
          {
            ...(f.object.file !== STDIN_NAME
              ? { href: f.object.file.split('/').map(encodeURIComponent).join('/') }
              : {}),
            description: `Input document at ${locationLabel(f.object)}.`,
          },
        ];
      }
      const fix = remediationOf(f, catalogue);
      if (fix && (f.status === 'fail' || f.status === 'error')) obs.remarks = `Remediation: ${fix}`;
      observations.push(obs);

      if (f.status === 'accepted') {
        const riskId = id('risk', key, String(index));
        riskIds.push(riskId);
        const e = f.exception;
        const risk: Record<string, unknown> = {
          uuid: riskId,
          title: clip(`Accepted deviation from ${f.control}${subject ? ` for ${subject}` : ''}`),
          description: f.message,
          statement: e
            ? `${e.justification} Owner: ${e.owner}. Valid through ${e.expires}.`
            : 'Accepted by an exception whose details were not recorded with the finding.',
          status: 'deviation-approved',
          'related-observations': [{ 'observation-uuid': obsId }],
        };
        if (e && /^\d{4}-\d{2}-\d{2}$/.test(e.expires)) risk.deadline = `${e.expires}T23:59:59Z`;
        const owner = e ? prop('owner', e.owner) : undefined;
        if (owner) risk.props = [owner]; // OSCAL lists, when present, are never empty
        risks.push(risk);
      }
    });

    const info = catalogue.get(r.control);
    const finding: Record<string, unknown> = {
      uuid: ids(['finding', r.control].concat(observationIds)),
      title: clip(info ? `${r.control}: ${info.title}` : r.control),
      description: findingDescription(r),
      props: [prop('status', r.status), prop('severity', r.severity), ...frameworkProps(r.frameworks, focus)].filter(
        (p): p is Prop => p !== undefined,
      ),
      target: {
        type: 'objective-id',
        'target-id': controlToken(r.control),
        status: state(r),
      },
      'related-observations': observationIds.map((u) => ({ 'observation-uuid': u })),
    };
    if (riskIds.length > 0) finding['related-risks'] = riskIds.map((u) => ({ 'risk-uuid': u }));
    oscalFindings.push(finding);
  }

  const reviewed = (
    meta.controls && meta.controls.length > 0 ? meta.controls.map((c) => c.id) : rollups.map((r) => r.control)
  )
    .map(controlToken)
    .filter((v, i, a) => a.indexOf(v) === i)
    .sort();
  const result: Record<string, unknown> = {
    uuid: '',
    title: 'Automated audit of cluster configuration',
    description: `${toolName(meta)} checked ${summary.findings} subject${summary.findings === 1 ? '' : 's'} against ${summary.controls.total} control${summary.controls.total === 1 ? '' : 's'}: ${countsText(summary)}.`,
    start: time,
    end: time,
    'reviewed-controls': {
      'control-selections': [
        reviewed.length > 0
          ? { 'include-controls': reviewed.map((c) => ({ 'control-id': c })) }
          : { 'include-all': {} },
      ],
    },
  };
  if (observations.length > 0) result.observations = observations;
  if (risks.length > 0) result.risks = risks;
  if (oscalFindings.length > 0) result.findings = oscalFindings;
  result.uuid = id('result', JSON.stringify(result));

  const planId = id('assessment-plan', toolName(meta));
  const metadata: Record<string, unknown> = {
    title: reportTitle(meta),
    'last-modified': time,
    version: meta.tool?.version ?? '0.0.0',
    'oscal-version': OSCAL_VERSION,
    props: [prop('tool', toolName(meta))].filter((p): p is Prop => p !== undefined),
  };
  const body = {
    metadata,
    'import-ap': {
      href: `#${planId}`,
      remarks: 'The assessment plan is the control catalogue the tool carries; no separate plan document exists.',
    },
    results: [result],
    'back-matter': {
      resources: [
        {
          uuid: planId,
          title: `${toolName(meta)} control catalogue`,
          description: `Controls checked by ${toolName(meta)}, mapped to ${Object.values(FRAMEWORK_LABELS).join(', ')}.`,
        },
      ],
    },
  };
  const document = { 'assessment-results': { uuid: id('assessment-results', JSON.stringify(body)), ...body } };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function state(r: ControlRollup): Record<string, string> {
  switch (r.status) {
    case 'pass':
    case 'not-applicable':
      return { state: 'satisfied', reason: 'pass' };
    case 'fail':
      return { state: 'not-satisfied', reason: 'fail' };
    default:
      // error, accepted, not-evaluated: not shown to be met; the props and remarks say why.
      return { state: 'not-satisfied', reason: 'other' };
  }
}

function findingDescription(r: ControlRollup): string {
  const counts = new Map<string, number>();
  for (const f of r.findings) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
  const parts = [...counts.entries()].map(([s, n]) => `${n} ${STATUS_LABELS[s as Finding['status']].toLowerCase()}`);
  const overall = `Control ${r.control} is ${STATUS_LABELS[r.status].toLowerCase()} overall (${parts.join(', ')}).`;
  const failing = r.findings.filter((f) => f.status === 'fail' || f.status === 'error').map((f) => f.message);
  return failing.length > 0
    ? `${overall} ${failing.slice(0, 5).join(' ')}${failing.length > 5 ? ` (${failing.length - 5} more)` : ''}`
    : overall;
}

function frameworkProps(refs: Record<string, string[]>, focus: readonly string[]): (Prop | undefined)[] {
  return focus.flatMap((fw) => refs[fw].map((v) => prop(`${fw}-id`, v, 'framework')));
}

/** OSCAL property values are single-line, non-empty and without outer spaces. */
function prop(name: string, value: string, cls?: string): Prop | undefined {
  const v = value.replace(/\s+/g, ' ').trim();
  if (v === '') return undefined;
  return cls ? { name, ns: HCB_PROP_NS, value: v, class: cls } : { name, ns: HCB_PROP_NS, value: v };
}

/** OSCAL tokens start with a letter or underscore and hold letters, digits, '.', '-' and '_'. */
function controlToken(id: string): string {
  const t = id.replace(/[^\p{L}\p{N}._-]/gu, '_');
  return /^[\p{L}_]/u.test(t) ? t : `_${t}`;
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

function countsText(summary: ReportSummary): string {
  return (
    Object.entries(summary.byStatus)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${STATUS_LABELS[s as Finding['status']].toLowerCase()}`)
      .join(', ') || 'no findings'
  );
}
