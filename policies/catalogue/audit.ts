/** Audit logging: the API server's audit flags and what the audit policy actually logs. */
import { Control } from '../control';
import { auditLevelFor, AuditRequest, describeRule, invalidLevels, PROBE_IDENTITIES, WRITE_VERBS } from '../checks/audit-policy';
import { componentCheck, documentCheck, fail, pass, Verdict } from '../checks/helpers';
import { asStrings, Dict } from '../util/values';
import { ComponentConfig } from '../control';

const api = 'kube-apiserver' as const;

function policyOf(o: unknown): Dict {
  return o as Dict;
}

function auditedToFile(c: ComponentConfig): boolean {
  const p = c.flag('audit-log-path');
  return p !== undefined && p.trim() !== '';
}

function retentionCheck(flag: string, minimum: number, unit: string) {
  return componentCheck(api, (c): Verdict => {
    if (!auditedToFile(c)) {
      if ((c.flag('audit-webhook-config-file') ?? '') !== '') {
        return { status: 'not-applicable', message: `Audit events go to a webhook backend (no --audit-log-path), so --${flag} has no effect; retention is the backend's job.` };
      }
      return fail(`No audit log file is written (--audit-log-path not set), so there is nothing to keep for ${minimum} ${unit}.`);
    }
    const v = c.flag(flag);
    if (v === undefined) return fail(`--${flag} is not set; set at least ${minimum} (${unit}).`);
    const n = Number(v);
    if (!Number.isInteger(n)) return fail(`--${flag}=${v} is not a whole number.`);
    return n >= minimum ? pass(`--${flag}=${v} (at least ${minimum} ${unit}).`) : fail(`--${flag}=${v} is below the blueprint's minimum of ${minimum} ${unit}.`);
  });
}

/** The audit policy must log these at exactly Metadata: their bodies hold secrets or credentials. */
const SENSITIVE: ReadonlyArray<{ label: string; resource: AuditRequest['resource']; namespace: string; verbs: string[] }> = [
  { label: 'Secrets', resource: { group: '', resource: 'secrets' }, namespace: 'hcb-probe', verbs: ['get', 'list', 'watch', ...WRITE_VERBS] },
  { label: 'ConfigMaps', resource: { group: '', resource: 'configmaps' }, namespace: 'hcb-probe', verbs: ['get', 'list', 'watch', ...WRITE_VERBS] },
  { label: 'TokenReviews', resource: { group: 'authentication.k8s.io', resource: 'tokenreviews' }, namespace: '', verbs: ['create'] },
];

const RBAC_RESOURCES: ReadonlyArray<{ resource: string; namespace: string }> = [
  { resource: 'roles', namespace: 'hcb-probe' },
  { resource: 'rolebindings', namespace: 'hcb-probe' },
  { resource: 'clusterroles', namespace: '' },
  { resource: 'clusterrolebindings', namespace: '' },
];

/** Changes that must leave a trace (at least Metadata). */
const TRACKED_CHANGES: ReadonlyArray<{ label: string; resource: NonNullable<AuditRequest['resource']>; namespace: string; verbs: string[] }> = [
  { label: 'pods', resource: { group: '', resource: 'pods' }, namespace: 'hcb-probe', verbs: WRITE_VERBS },
  { label: 'pods/exec', resource: { group: '', resource: 'pods', subresource: 'exec' }, namespace: 'hcb-probe', verbs: ['create', 'get'] },
  { label: 'deployments', resource: { group: 'apps', resource: 'deployments' }, namespace: 'hcb-probe', verbs: WRITE_VERBS },
  { label: 'namespaces', resource: { group: '', resource: 'namespaces' }, namespace: '', verbs: WRITE_VERBS },
  { label: 'serviceaccounts/token', resource: { group: '', resource: 'serviceaccounts', subresource: 'token' }, namespace: 'hcb-probe', verbs: ['create'] },
  { label: 'networkpolicies', resource: { group: 'networking.k8s.io', resource: 'networkpolicies' }, namespace: 'hcb-probe', verbs: WRITE_VERBS },
  { label: 'persistentvolumes', resource: { group: '', resource: 'persistentvolumes' }, namespace: '', verbs: WRITE_VERBS },
  { label: 'validatingadmissionpolicies', resource: { group: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicies' }, namespace: '', verbs: WRITE_VERBS },
];

function replay(
  policy: Dict,
  resource: NonNullable<AuditRequest['resource']>,
  namespace: string,
  verbs: readonly string[],
  accept: (level: string) => boolean,
): string | undefined {
  for (const who of PROBE_IDENTITIES) {
    for (const verb of verbs) {
      const d = auditLevelFor(policy, { user: who.user, groups: who.groups, verb, resource, namespace });
      if (!accept(d.level)) {
        const what = resource.subresource ? `${resource.resource}/${resource.subresource}` : resource.resource;
        return `${verb} on ${what} by ${who.label} is logged at ${d.level}: ${describeRule(policy, d)}`;
      }
    }
  }
  return undefined;
}

function policyValidity(policy: Dict, apiVersion: string | undefined): string | undefined {
  if (apiVersion !== 'audit.k8s.io/v1') return `apiVersion ${apiVersion ?? '(none)'} is not audit.k8s.io/v1, the only version current API servers read`;
  const bad = invalidLevels(policy);
  if (bad.length > 0) return `the policy is invalid: ${bad.join('; ')}`;
  return undefined;
}

const POLICY = 'audit.k8s.io';
const POLICY_WHAT = 'audit policy (audit.k8s.io Policy)';

export const AUDIT_CONTROLS: readonly Control[] = [
  {
    id: 'HCB-APISERVER-AUDIT-POLICY-FILE',
    title: 'API server audit logging is switched on with a policy file',
    rationale: 'Without an audit policy the API server records nothing, so no action can be traced to a person or workload afterwards.',
    severity: 'high',
    frameworks: { stig: ['V-242461'], cis: ['3.2.1'], ccn: ['CCN-CL-10'], bsi: ['APP.4.4.A12'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'HardenedControlPlane prop audit (AuditPolicy construct) renders --audit-policy-file and the policy node file.',
    check: componentCheck(api, (c) => {
      const v = c.flag('audit-policy-file');
      return v === undefined || v.trim() === '' ? fail('--audit-policy-file is not set: no audit events are produced.') : pass(`--audit-policy-file=${v}.`);
    }),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-DESTINATION',
    title: 'API server writes audit events to a log file or a webhook backend',
    rationale: 'Audit events are only useful when they land somewhere durable: a log file on the control-plane host or an external audit backend.',
    severity: 'high',
    frameworks: { stig: ['V-242402', 'V-242465'], ccn: ['CCN-CL-10'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: "HardenedControlPlane prop audit.logPath (renders --audit-log-path) or audit.webhookConfigFile (renders --audit-webhook-config-file).",
    check: componentCheck(api, (c) => {
      const p = c.flag('audit-log-path');
      const w = c.flag('audit-webhook-config-file');
      if (p !== undefined && p.trim() === '-') return fail('--audit-log-path=- writes audit events to standard output only; give a file path.');
      if (p !== undefined && p.trim() !== '') return pass(`--audit-log-path=${p}.`);
      if (w !== undefined && w.trim() !== '') return pass(`--audit-webhook-config-file=${w}: audit events go to an external backend.`);
      return fail('Neither --audit-log-path nor --audit-webhook-config-file is set: audit events are not stored.');
    }),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-MAXSIZE',
    title: 'Audit log files rotate at a sensible size (at least 100 MB)',
    rationale: 'Rotating very small files churns through backups and loses history; the size limit works together with the backup count and age.',
    severity: 'low',
    frameworks: { stig: ['V-242462'], ccn: ['CCN-CL-19'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'HardenedControlPlane prop audit.maxSizeMb (renders --audit-log-maxsize, default 100).',
    check: retentionCheck('audit-log-maxsize', 100, 'megabytes'),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-MAXBACKUP',
    title: 'At least 10 rotated audit log files are kept',
    rationale: 'Keeping enough rotated files preserves the trail an investigation needs.',
    severity: 'low',
    frameworks: { stig: ['V-242463'], ccn: ['CCN-CL-19'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'HardenedControlPlane prop audit.maxBackups (renders --audit-log-maxbackup, default 10).',
    check: retentionCheck('audit-log-maxbackup', 10, 'files'),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-MAXAGE',
    title: 'Audit logs are kept for at least 30 days',
    rationale: 'Incidents are often found weeks after they happen; the audit trail must still be there.',
    severity: 'low',
    frameworks: { stig: ['V-242464'], ccn: ['CCN-CL-19'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'HardenedControlPlane prop audit.maxAgeDays (renders --audit-log-maxage, default 30).',
    check: retentionCheck('audit-log-maxage', 30, 'days'),
  },
  {
    id: 'HCB-AUDIT-POLICY-COVERAGE',
    title: 'Audit policy records every change to workloads, namespaces and access',
    rationale:
      'The policy is evaluated first-match: a broad rule at level None placed before the specific rules silently drops everything after it. Changes by users and service accounts must leave at least a metadata record.',
    severity: 'high',
    frameworks: { stig: ['V-242403', 'V-242461'], cis: ['3.2.1', '3.2.2'], ccn: ['CCN-CL-10', 'CCN-CL-18'], bsi: ['APP.4.4.A12'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'AuditPolicy construct: keep its rule order (specific rules first, the Metadata catch-all last) and add no None rule that matches user requests.',
    check: documentCheck('Policy', POLICY, POLICY_WHAT, (d) => {
      const policy = policyOf(d.object);
      const invalid = policyValidity(policy, d.object.apiVersion);
      if (invalid) return fail(`Audit policy: ${invalid}.`);
      for (const t of TRACKED_CHANGES) {
        const problem = replay(policy, t.resource, t.namespace, t.verbs, (l) => l !== 'None');
        if (problem) return fail(`Not recorded: ${problem}.`);
      }
      return pass(`Changes to ${TRACKED_CHANGES.map((t) => t.label).join(', ')} by users and service accounts are recorded.`);
    }),
  },
  {
    id: 'HCB-AUDIT-POLICY-SENSITIVE-METADATA',
    title: 'Audit policy logs Secrets, ConfigMaps and TokenReviews at Metadata level only',
    rationale:
      'Request or response bodies of these objects contain credentials and tokens; logging them copies secrets into the audit trail. Not logging them at all hides who read them. Metadata is the only right level.',
    severity: 'high',
    frameworks: { stig: ['V-242403'], cis: ['3.2.2'], ccn: ['CCN-CL-18'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'AuditPolicy construct: the Metadata rule for secrets, configmaps and tokenreviews must come before any rule that logs bodies or drops events.',
    check: documentCheck('Policy', POLICY, POLICY_WHAT, (d) => {
      const policy = policyOf(d.object);
      const invalid = policyValidity(policy, d.object.apiVersion);
      if (invalid) return fail(`Audit policy: ${invalid}.`);
      for (const s of SENSITIVE) {
        const problem = replay(policy, s.resource!, s.namespace, s.verbs, (l) => l === 'Metadata');
        if (problem) return fail(`${s.label}: ${problem}; it must be Metadata.`);
      }
      return pass('Secrets, ConfigMaps and TokenReviews are logged at Metadata for users and service accounts.');
    }),
  },
  {
    id: 'HCB-AUDIT-POLICY-RBAC-CHANGES',
    title: 'Audit policy logs RBAC changes with request and response',
    rationale: 'Changes to roles and bindings are privilege changes; the full request and response show exactly what was granted and by whom.',
    severity: 'medium',
    frameworks: { stig: ['V-242403'], cis: ['3.2.2'], ccn: ['CCN-CL-18'], bsi: ['APP.4.4.A3'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'AuditPolicy construct: a RequestResponse rule for rbac.authorization.k8s.io before the catch-all rule.',
    check: documentCheck('Policy', POLICY, POLICY_WHAT, (d) => {
      const policy = policyOf(d.object);
      const invalid = policyValidity(policy, d.object.apiVersion);
      if (invalid) return fail(`Audit policy: ${invalid}.`);
      for (const r of RBAC_RESOURCES) {
        const problem = replay(policy, { group: 'rbac.authorization.k8s.io', resource: r.resource }, r.namespace, WRITE_VERBS, (l) => l === 'RequestResponse');
        if (problem) return fail(`RBAC change: ${problem}; it must be RequestResponse.`);
      }
      return pass('Changes to roles, role bindings, cluster roles and cluster role bindings are logged at RequestResponse.');
    }),
  },
  {
    id: 'HCB-AUDIT-POLICY-OMIT-REQUEST-RECEIVED',
    title: 'Audit policy omits the RequestReceived stage',
    rationale: 'Every request is logged again when it completes; the extra RequestReceived event doubles volume without adding information.',
    severity: 'low',
    frameworks: { cis: ['3.2.2'], ccn: ['CCN-CL-18', 'CCN-CL-19'] },
    checkpoints: ['synth', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: "AuditPolicy construct renders omitStages: ['RequestReceived'] at policy level.",
    check: documentCheck('Policy', POLICY, POLICY_WHAT, (d) => {
      const policy = policyOf(d.object);
      if (asStrings(policy.omitStages).includes('RequestReceived')) return pass('omitStages includes RequestReceived.');
      const rules = (Array.isArray(policy.rules) ? policy.rules : []) as Dict[];
      const logging = rules.filter((r) => r && r.level !== 'None');
      if (logging.length > 0 && logging.every((r) => asStrings(r.omitStages).includes('RequestReceived'))) {
        return pass('Every logging rule omits RequestReceived.');
      }
      return fail('RequestReceived is not omitted: every request is logged twice.');
    }),
  },
  {
    id: 'HCB-AUDIT-EXTERNAL-STORAGE',
    title: 'Audit logs are shipped to storage outside the cluster',
    rationale: 'An attacker with control-plane access can delete local logs; a copy in append-only external storage survives.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-21'], bsi: ['APP.4.4.A12'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'manual',
    evidence:
      'The blueprint can render --audit-webhook-config-file to send events to an external backend; where a log shipper is used instead, its configuration and the append-only target are the evidence.',
    remediation: 'HardenedControlPlane prop audit.webhookConfigFile, or a log shipper that forwards the audit log file to append-only storage.',
  },
];
