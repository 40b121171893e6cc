/** Audit logging: the API server's audit flags and what the audit policy actually logs. */
import { posix } from 'path';
import { ControlRecord } from '../control';
import {
  AuditDecision,
  AuditLevel,
  countProbes,
  describeProbe,
  explain,
  firstRefused,
  policyProblems,
  Probe,
  ProbeResource,
  probes,
  recordedAt,
  WRITE_VERBS,
} from '../checks/audit-policy';
import { componentCheck, documentCheck, fail, pass, Verdict } from '../checks/helpers';
import { asStrings, Dict } from '../util/values';
import { parseGoInt } from '../util/go-values';
import { ComponentConfig } from '../control';

const api = 'kube-apiserver' as const;

function policyOf(o: unknown): Dict {
  return o as Dict;
}

/**
 * Where --audit-log-path sends events (k8s.io/apiserver server/options/audit.go): '' switches
 * the log backend off, '-' writes to standard output, anything else is opened (created) as a
 * file relative to the working directory. A device or pseudo file (/dev/null, /dev/stdout,
 * /proc/self/fd/1, …) is opened like a file but keeps nothing.
 */
export type LogDestination =
  | { kind: 'none' }
  | { kind: 'file'; path: string }
  | { kind: 'not-a-file'; path: string; why: string };

export function auditLogDestination(c: ComponentConfig): LogDestination {
  const p = c.flag('audit-log-path');
  if (p === undefined || p === '') return { kind: 'none' };
  if (p === '-') return { kind: 'not-a-file', path: p, why: 'writes audit events to standard output only' };
  if (!p.startsWith('/'))
    return {
      kind: 'not-a-file',
      path: p,
      why: "is a relative path: the file lands wherever the API server's working directory is (inside the container), not in a log directory on the node",
    };
  const norm = posix.normalize(p);
  if (norm === '/dev/null') return { kind: 'not-a-file', path: p, why: 'discards every audit event' };
  if (/^\/(dev|proc|sys)(\/|$)/.test(norm))
    return {
      kind: 'not-a-file',
      path: p,
      why: `is a device or pseudo file (${norm}), not a log file: nothing is kept on disk`,
    };
  if (norm.endsWith('/') || p.endsWith('/.'))
    return { kind: 'not-a-file', path: p, why: 'names a directory, not a file' };
  return { kind: 'file', path: p };
}

function webhookOf(c: ComponentConfig): string | undefined {
  const w = c.flag('audit-webhook-config-file');
  return w === undefined || w === '' ? undefined : w;
}

function retentionCheck(flag: string, minimum: number, unit: string) {
  return componentCheck(api, (c): Verdict => {
    const dest = auditLogDestination(c);
    if (dest.kind !== 'file') {
      if (webhookOf(c) !== undefined) {
        return {
          status: 'not-applicable',
          message: `Audit events go to a webhook backend and no audit log file is written, so --${flag} has no effect; retention is the backend's job.`,
        };
      }
      return fail(
        dest.kind === 'none'
          ? `No audit log file is written (--audit-log-path not set), so there is nothing to keep for ${minimum} ${unit}.`
          : `No audit log file is kept: --audit-log-path=${dest.path} ${dest.why}.`,
      );
    }
    const v = c.flag(flag);
    if (v === undefined) return fail(`--${flag} is not set; set at least ${minimum} (${unit}).`);
    // pflag IntVar reads the value with strconv.ParseInt(v, 0, 64): 0x64, 0144 and 1_00 are 100.
    const n = parseGoInt(v);
    if (n === undefined) return fail(`--${flag}=${v} is not a whole number (the API server refuses to start).`);
    return n >= minimum
      ? pass(`--${flag}=${v} (at least ${minimum} ${unit}).`)
      : fail(`--${flag}=${v} is below the blueprint's minimum of ${minimum} ${unit}.`);
  });
}

/** The credential resources: their bodies hold secret data or tokens. */
const isCredential = (r: ProbeResource): boolean =>
  (r.group === '' && !r.subresource && (r.resource === 'secrets' || r.resource === 'configmaps')) ||
  (r.group === 'authentication.k8s.io' && r.resource === 'tokenreviews') ||
  (r.group === '' && r.resource === 'serviceaccounts' && r.subresource === 'token');

/** Levels allowed for a credential request: only Metadata, except the token request (its response, not its request, holds the token). */
function credentialLevels(p: Probe): readonly AuditLevel[] {
  const res = p.request.resource!;
  return res.resource === 'serviceaccounts' && res.subresource === 'token' ? ['Metadata', 'Request'] : ['Metadata'];
}

const RBAC_KINDS = new Set(['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings']);
const isRbac = (r: ProbeResource): boolean =>
  r.group === 'rbac.authorization.k8s.io' && RBAC_KINDS.has(r.resource) && !r.subresource;

function policyInvalid(policy: Dict, apiVersion: string | undefined): Verdict | undefined {
  const problems = policyProblems(policy, apiVersion);
  return problems.length > 0
    ? fail(`Audit policy: the API server refuses this policy (and does not start): ${problems.slice(0, 3).join('; ')}.`)
    : undefined;
}

const ANY_RECORD: readonly AuditLevel[] = ['Metadata', 'Request', 'RequestResponse'];

const POLICY = 'audit.k8s.io';
const POLICY_WHAT = 'audit policy (audit.k8s.io Policy)';

export const AUDIT_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-APISERVER-AUDIT-POLICY-FILE',
    title: 'API server audit logging is switched on with a policy file',
    rationale:
      'Without an audit policy the API server records nothing, so no action can be traced to a person or workload afterwards.',
    severity: 'high',
    frameworks: { stig: ['V-242461'], cis: ['3.2.1'], ccn: ['CCN-CL-10'], bsi: ['APP.4.4.A12'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'audit',
      text: 'an AuditPolicy construct; it renders --audit-policy-file and the policy node file.',
    },
    check: componentCheck(api, (c) => {
      const v = c.flag('audit-policy-file');
      return v === undefined || v.trim() === ''
        ? fail('--audit-policy-file is not set: no audit events are produced.')
        : pass(`--audit-policy-file=${v}.`);
    }),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-DESTINATION',
    title: 'API server writes audit events to a log file or a webhook backend',
    rationale:
      'Audit events are only useful when they land somewhere durable: a log file on the control-plane host or an external audit backend.',
    severity: 'high',
    frameworks: { stig: ['V-242402', 'V-242465'], ccn: ['CCN-CL-10'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'audit.log.path',
      text: 'renders --audit-log-path; default /var/log/kubernetes/audit/audit.log.',
    },
    check: componentCheck(api, (c) => {
      const dest = auditLogDestination(c);
      const w = webhookOf(c);
      if (dest.kind === 'file')
        return pass(`--audit-log-path=${dest.path}${w ? `; --audit-webhook-config-file=${w} as well` : ''}.`);
      if (w !== undefined) {
        return pass(
          `--audit-webhook-config-file=${w}: audit events go to an external backend${dest.kind === 'not-a-file' ? ` (--audit-log-path=${dest.path} ${dest.why})` : ''}.`,
        );
      }
      if (dest.kind === 'not-a-file')
        return fail(
          `--audit-log-path=${dest.path} ${dest.why}; give a file path on the node (e.g. /var/log/kubernetes/audit/audit.log) or an audit webhook.`,
        );
      return fail('Neither --audit-log-path nor --audit-webhook-config-file is set: audit events are not stored.');
    }),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-MAXSIZE',
    title: 'Audit log files rotate at a sensible size (at least 100 MB)',
    rationale:
      'Rotating very small files churns through backups and loses history; the size limit works together with the backup count and age.',
    severity: 'low',
    frameworks: { stig: ['V-242462'], ccn: ['CCN-CL-19'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'audit.log.maxSizeMb',
      text: 'renders --audit-log-maxsize, default 100.',
    },
    check: retentionCheck('audit-log-maxsize', 100, 'megabytes'),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-MAXBACKUP',
    title: 'At least 10 rotated audit log files are kept',
    rationale: 'Keeping enough rotated files preserves the trail an investigation needs.',
    severity: 'low',
    frameworks: { stig: ['V-242463'], ccn: ['CCN-CL-19'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'audit.log.maxBackups',
      text: 'renders --audit-log-maxbackup; default 10, 20 for the high profile.',
    },
    check: retentionCheck('audit-log-maxbackup', 10, 'files'),
  },
  {
    id: 'HCB-APISERVER-AUDIT-LOG-MAXAGE',
    title: 'Audit logs are kept for at least 30 days',
    rationale: 'Incidents are often found weeks after they happen; the audit trail must still be there.',
    severity: 'low',
    frameworks: { stig: ['V-242464'], ccn: ['CCN-CL-19'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'audit.log.maxAgeDays',
      text: 'renders --audit-log-maxage; default 30, 90 for the high profile.',
    },
    check: retentionCheck('audit-log-maxage', 30, 'days'),
  },
  {
    id: 'HCB-AUDIT-POLICY-COVERAGE',
    title: 'Audit policy records every request, by every identity, with its outcome',
    rationale:
      "The policy is evaluated first-match: a rule at level None, or one that omits the ResponseComplete stage, placed before the others silently drops what follows, for everyone it matches. The STIG asks for records of every request that say what happened, where from, by whom and with what result: a Metadata record at ResponseComplete carries all of these (user and groups, source address, verb, object, request URI, response status). The STIG's sample policy logs everything at RequestResponse; credential bodies are deliberately kept out (HCB-AUDIT-POLICY-SENSITIVE-METADATA). Only GETs of health, version and metrics endpoints, reads of events, the control-plane components' own reads and nodes' reads of non-credential objects may be dropped.",
    severity: 'high',
    frameworks: {
      stig: ['V-242403', 'V-242461'],
      cis: ['3.2.1', '3.2.2'],
      ccn: ['CCN-CL-10', 'CCN-CL-18'],
      bsi: ['APP.4.4.A12'],
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'AuditPolicy',
      text: 'AuditPolicy construct: keep its rule order (required rules first, the catch-all last, defaultLevel Metadata or higher); no None rule and no omitStages ResponseComplete/Panic that match user, service-account, anonymous or node requests.',
    },
    check: documentCheck('Policy', POLICY, POLICY_WHAT, (d) => {
      const policy = policyOf(d.object);
      const invalid = policyInvalid(policy, d.object.apiVersion);
      if (invalid) return invalid;
      const bad = firstRefused(policy, probes(policy), (dec) => recordedAt(dec, ANY_RECORD));
      if (bad) return fail(`Not recorded: ${describeProbe(bad.probe)} is ${explain(policy, bad.decision)}.`);
      return pass(
        `All ${countProbes(probes(policy))} probed requests (users, admins, anonymous, service accounts, nodes and components; every namespace the policy names and cluster scope; resources, subresources and non-resource URLs) are recorded with their outcome.`,
      );
    }),
  },
  {
    id: 'HCB-AUDIT-POLICY-SENSITIVE-METADATA',
    title:
      'Audit policy logs Secrets, ConfigMaps and TokenReviews at Metadata level only, and never logs issued tokens',
    rationale:
      'Request or response bodies of these objects contain credentials and tokens; logging them copies secrets into the audit trail. Not logging them at all hides who read them. Metadata is the only right level (a TokenRequest may also be logged at Request: only its response holds the token).',
    severity: 'high',
    frameworks: { stig: ['V-242403'], cis: ['3.2.2'], ccn: ['CCN-CL-18'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'AuditPolicy',
      text: 'AuditPolicy construct: the Metadata rule for secrets, configmaps, serviceaccounts/token and tokenreviews (required rule credentials-metadata-only) must come before any rule that logs bodies or drops events.',
    },
    check: documentCheck('Policy', POLICY, POLICY_WHAT, (d) => {
      const policy = policyOf(d.object);
      const invalid = policyInvalid(policy, d.object.apiVersion);
      if (invalid) return invalid;
      const bad = firstRefused(policy, probes(policy, isCredential, false), (dec: AuditDecision, p: Probe) =>
        recordedAt(dec, credentialLevels(p)),
      );
      if (bad)
        return fail(
          `Credentials: ${describeProbe(bad.probe)} is ${explain(policy, bad.decision)}; it must be ${credentialLevels(bad.probe).join(' or ')}, with its outcome.`,
        );
      return pass(
        'Secrets, ConfigMaps and TokenReviews are logged at Metadata (TokenRequests at Metadata or Request) for every probed identity, namespace and verb.',
      );
    }),
  },
  {
    id: 'HCB-AUDIT-POLICY-RBAC-CHANGES',
    title: 'Audit policy logs RBAC changes with request and response',
    rationale:
      'Changes to roles and bindings are privilege changes; the full request and response show exactly what was granted and by whom.',
    severity: 'medium',
    frameworks: { stig: ['V-242403'], cis: ['3.2.2'], ccn: ['CCN-CL-18'], bsi: ['APP.4.4.A3'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'AuditPolicy',
      text: 'AuditPolicy construct: a RequestResponse rule for rbac.authorization.k8s.io before the catch-all rule.',
    },
    check: documentCheck('Policy', POLICY, POLICY_WHAT, (d) => {
      const policy = policyOf(d.object);
      const invalid = policyInvalid(policy, d.object.apiVersion);
      if (invalid) return invalid;
      const writes = (p: Probe) => WRITE_VERBS.includes(p.request.verb);
      const all = () => [...probes(policy, isRbac, false)].filter(writes);
      const bad = firstRefused(policy, all(), (dec) => recordedAt(dec, ['RequestResponse']));
      if (bad)
        return fail(
          `RBAC change: ${describeProbe(bad.probe)} is ${explain(policy, bad.decision)}; it must be RequestResponse, with its outcome.`,
        );
      return pass(
        'Changes to roles, role bindings, cluster roles and cluster role bindings are logged at RequestResponse for every probed identity and namespace.',
      );
    }),
  },
  {
    id: 'HCB-AUDIT-POLICY-OMIT-REQUEST-RECEIVED',
    title: 'Audit policy omits the RequestReceived stage',
    rationale:
      'Every request is logged again when it completes; the extra RequestReceived event doubles volume without adding information.',
    severity: 'low',
    frameworks: { cis: ['3.2.2'], ccn: ['CCN-CL-18', 'CCN-CL-19'] },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'AuditPolicy',
      text: "AuditPolicy renders omitStages: ['RequestReceived'] at policy level.",
    },
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
    rationale:
      'An attacker with control-plane access can delete local logs; a copy in append-only external storage survives.',
    severity: 'medium',
    frameworks: { ccn: ['CCN-CL-21'], bsi: ['APP.4.4.A12'] },
    checkpoints: ['live'],
    responsibility: 'organisational',
    automation: 'manual',
    evidence:
      'The blueprint can render --audit-webhook-config-file to send events to an external backend; where a log shipper is used instead, its configuration and the append-only target are the evidence.',
    remediation: {
      construct: 'HardenedControlPlane',
      prop: 'audit.log.path',
      text: 'forward this file to append-only storage with a log shipper; the blueprint renders no audit webhook.',
    },
  },
];
