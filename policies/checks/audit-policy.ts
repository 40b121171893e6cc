/**
 * Audit policy semantics (audit.k8s.io/v1 Policy). The API server applies the FIRST rule that
 * matches a request; the level of that rule decides what is logged (no matching rule: None).
 * Checks here replay representative requests through the rules instead of looking for keywords,
 * so a catch-all `level: None` early in the list is caught for what it is.
 */
import { asDicts, asString, asStrings, Dict } from '../util/values';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export const AUDIT_LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];

export interface AuditRequest {
  user: string;
  groups: readonly string[];
  verb: string;
  /** Resource request: API group ('' for core), resource, optional subresource and name. */
  resource?: { group: string; resource: string; subresource?: string; name?: string };
  /** Namespace of a namespaced resource; '' for cluster-scoped ones. */
  namespace?: string;
  /** Non-resource request path, e.g. /healthz. */
  path?: string;
}

export interface AuditDecision {
  level: AuditLevel;
  /** 1-based index of the rule that matched; 0 when none did. */
  rule: number;
}

function matchesResource(rule: Dict, req: AuditRequest): boolean {
  if (!req.resource) return false;
  const namespaces = asStrings(rule.namespaces);
  if (namespaces.length > 0 && !namespaces.includes(req.namespace ?? '')) return false;
  const groups = asDicts(rule.resources);
  if (asArrayLength(rule.resources) === 0) return true;
  const { group, resource, subresource, name } = req.resource;
  const full = subresource ? `${resource}/${subresource}` : resource;
  return groups.some((gr) => {
    if ((asString(gr.group) ?? '') !== group) return false;
    const resources = asStrings(gr.resources);
    const resOk =
      resources.length === 0 ||
      resources.some((r) => {
        if (r === '*' || r === full) return true;
        if (subresource && r === `*/${subresource}`) return true;
        if (subresource && r === `${resource}/*`) return true;
        return false;
      });
    if (!resOk) return false;
    const names = asStrings(gr.resourceNames);
    return names.length === 0 || (name !== undefined && names.includes(name));
  });
}

function asArrayLength(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

function matchesPath(rule: Dict, req: AuditRequest): boolean {
  if (req.resource || req.path === undefined) return false;
  return asStrings(rule.nonResourceURLs).some((u) => (u.endsWith('*') ? req.path!.startsWith(u.slice(0, -1)) : u === req.path));
}

/** Does the rule apply to the request? (users, groups, verbs, then resources/namespaces or non-resource URLs.) */
export function ruleMatches(rule: Dict, req: AuditRequest): boolean {
  const users = asStrings(rule.users);
  if (users.length > 0 && !users.includes(req.user)) return false;
  const groups = asStrings(rule.userGroups);
  if (groups.length > 0 && !groups.some((g) => req.groups.includes(g))) return false;
  const verbs = asStrings(rule.verbs);
  if (verbs.length > 0 && !verbs.includes(req.verb)) return false;
  if (asArrayLength(rule.namespaces) > 0 || asArrayLength(rule.resources) > 0) return matchesResource(rule, req);
  if (asArrayLength(rule.nonResourceURLs) > 0) return matchesPath(rule, req);
  return true;
}

/** The level the policy logs a request at, and which rule decided it. */
export function auditLevelFor(policy: Dict, req: AuditRequest): AuditDecision {
  const rules = asDicts(policy.rules);
  for (let i = 0; i < rules.length; i++) {
    if (ruleMatches(rules[i], req)) {
      const level = asString(rules[i].level) as AuditLevel;
      return { level: AUDIT_LEVELS.includes(level) ? level : 'None', rule: i + 1 };
    }
  }
  return { level: 'None', rule: 0 };
}

/** Describes the rule that decided, e.g. "rule 1 (level: None, no filter)". */
export function describeRule(policy: Dict, d: AuditDecision): string {
  if (d.rule === 0) return 'no rule matches, so nothing is logged';
  const r = asDicts(policy.rules)[d.rule - 1];
  const filters = ['users', 'userGroups', 'verbs', 'resources', 'namespaces', 'nonResourceURLs'].filter((k) => asArrayLength(r[k]) > 0);
  return `rule ${d.rule} (level: ${String(r.level)}, ${filters.length === 0 ? 'matches every request' : `filters on ${filters.join(', ')}`})`;
}

/** Problems with the policy's rules themselves (unknown levels), which the API server would reject. */
export function invalidLevels(policy: Dict): string[] {
  return asDicts(policy.rules)
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => !AUDIT_LEVELS.includes(asString(r.level) as AuditLevel))
    .map(({ r, i }) => `rule ${i + 1} has level ${JSON.stringify(r.level ?? null)}`);
}

/** Identities the checks replay requests for: a person and a workload's service account. */
export const PROBE_IDENTITIES: ReadonlyArray<{ user: string; groups: string[]; label: string }> = [
  { user: 'hcb-probe@example.invalid', groups: ['hcb-probe-team', 'system:authenticated'], label: 'a user' },
  {
    user: 'system:serviceaccount:hcb-probe:app',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:hcb-probe', 'system:authenticated'],
    label: 'a service account',
  },
];

export const WRITE_VERBS = ['create', 'update', 'patch', 'delete'];
