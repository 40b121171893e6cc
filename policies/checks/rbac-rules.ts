/**
 * What one RBAC PolicyRule grants, read the way the API server's RBAC authorizer matches a request
 * (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac, component-helpers auth/rbac): verbs, API
 * groups and resources match exactly or through "*"; a rule resource "*" followed by "/" and a subresource matches that subresource of
 * every resource; resourceNames restrict by name (a create has no name, so it never matches
 * them); non-resource URLs match exactly or by a trailing "*".
 *
 * Each predicate returns what is wrong with one rule, or undefined. The RBAC controls
 * (catalogue/rbac.ts) apply them to every role, and the list of built-in roles each predicate
 * flags on the API server's own policy is in rbac-builtins.ts.
 */
import { asDicts, asStrings, Dict } from '../util/values';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Verbs that change state, for resources and for non-resource URLs (HTTP verbs). */
export const WRITE_VERBS: readonly string[] = [
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'post',
  'put',
];
/**
 * escalate, bind, impersonate, and the verbs of constrained impersonation (Kubernetes 1.35+,
 * ConstrainedImpersonation, on by default in 1.36: k8s.io/apiserver pkg/endpoints/filters/
 * impersonation, modeFromVerb): `impersonate:<mode>` is the grant to impersonate an identity of that
 * mode; the secondary `impersonate-on:<mode>:<verb>` only limits what the impersonated request may
 * do and grants nothing alone, so it is not listed.
 */
export const ESCALATION_VERBS: readonly string[] = [
  'escalate',
  'bind',
  'impersonate',
  'impersonate:user-info',
  'impersonate:serviceaccount',
  'impersonate:arbitrary-node',
  'impersonate:associated-node',
];
/** Identities verb "*" lets a rule impersonate, per resource (legacy and constrained impersonation). */
export const IMPERSONATION_TARGETS: ReadonlyArray<[string, string, readonly string[]]> = [
  ['', 'users', ['impersonate', 'impersonate:user-info']],
  [
    '',
    'groups',
    [
      'impersonate',
      'impersonate:user-info',
      'impersonate:serviceaccount',
      'impersonate:arbitrary-node',
      'impersonate:associated-node',
    ],
  ],
  ['', 'serviceaccounts', ['impersonate', 'impersonate:serviceaccount']],
  ['', 'nodes', ['impersonate:arbitrary-node', 'impersonate:associated-node']],
  ['authentication.k8s.io', 'userextras/scopes', ['impersonate', 'impersonate:user-info']],
  ['authentication.k8s.io', 'uids', ['impersonate', 'impersonate:user-info']],
];
const READ_VERBS: readonly string[] = ['get', 'list', 'watch'];

/**
 * Subresources that act on a running process or node although requested with get (the
 * WebSocket form of exec/attach/port-forward, the kubelet API through nodes/proxy).
 */
const GET_IS_WRITE: ReadonlyArray<[string, string]> = [
  ['', 'nodes/proxy'],
  ['', 'pods/exec'],
  ['', 'pods/attach'],
  ['', 'pods/portforward'],
];

/**
 * Requests that create nothing: a user asking what they themselves may do. The API server binds
 * them to every authenticated user (system:basic-user).
 */
const SELF_REVIEWS: ReadonlyArray<[string, string]> = [
  ['authorization.k8s.io', 'selfsubjectaccessreviews'],
  ['authorization.k8s.io', 'selfsubjectrulesreviews'],
  ['authentication.k8s.io', 'selfsubjectreviews'],
];

function resourceMatches(ruleResource: string, resource: string): boolean {
  if (ruleResource === '*' || ruleResource === resource) return true;
  const slash = resource.indexOf('/');
  return slash > 0 && ruleResource === `*${resource.slice(slash)}`;
}

/** The verbs of `verbs` that the rule grants on `group`/`resource` (any name). */
export function grantsOn(rule: Dict, group: string, resource: string, verbs: readonly string[]): string[] {
  if (!asStrings(rule.apiGroups).some((g) => g === '*' || g === group)) return [];
  if (!asStrings(rule.resources).some((r) => resourceMatches(r, resource))) return [];
  const rv = asStrings(rule.verbs);
  return verbs.filter((v) => rv.includes('*') || rv.includes(v));
}

function resourceText(rule: Dict): string {
  const res = asStrings(rule.resources);
  if (res.length > 0) {
    const groups = asStrings(rule.apiGroups).map((g) => (g === '' ? 'core' : g));
    const names = asStrings(rule.resourceNames);
    return `${res.join(', ')}${groups.length > 0 && !(groups.length === 1 && groups[0] === 'core') ? ` (${groups.join(', ')})` : ''}${names.length > 0 ? ` named ${names.join(', ')}` : ''}`;
  }
  return asStrings(rule.nonResourceURLs).join(', ') || '?';
}

/** Only self-reviews: the rule's resources are all SELF_REVIEWS in their own group. */
function onlySelfReviews(rule: Dict): boolean {
  const res = asStrings(rule.resources);
  const groups = asStrings(rule.apiGroups);
  if (res.length === 0 || groups.length === 0) return false;
  return groups.every((g) => res.every((r) => SELF_REVIEWS.some(([sg, sr]) => sg === g && sr === r)));
}

/**
 * What in one rule must not reach everyone: write verbs (including escalate, bind, impersonate
 * and the get that opens exec, attach, port-forward or the kubelet API) and reading Secrets,
 * also when restricted to named Secrets. Empty when the rule grants none of that.
 */
export function dangerousGrants(rule: Dict): string[] {
  const out: string[] = [];
  const verbs = asStrings(rule.verbs);
  const writes = verbs.includes('*')
    ? ['*']
    : verbs.filter((v) => WRITE_VERBS.includes(v) || ESCALATION_VERBS.includes(v));
  if (writes.length > 0 && !(onlySelfReviews(rule) && writes.every((v) => v === 'create')))
    out.push(`${writes.join(', ')} on ${resourceText(rule)}`);
  if (writes.length === 0) {
    const hits = GET_IS_WRITE.filter(([g, r]) => grantsOn(rule, g, r, ['get']).length > 0).map(([, r]) => r);
    if (hits.length > 0) out.push(`get on ${hits.join(', ')}`);
  }
  const reads = grantsOn(rule, '', 'secrets', READ_VERBS);
  const names = asStrings(rule.resourceNames);
  if (reads.length > 0)
    out.push(`${reads.join(', ')} on secrets${names.length > 0 ? ` named ${names.join(', ')}` : ''}`);
  return out;
}

/** HCB-RBAC-NO-WILDCARDS: "*" (or a trailing "*" of a non-resource URL) anywhere in the rule. */
export function wildcardProblem(rule: Dict): string | undefined {
  const wild = ['apiGroups', 'resources', 'verbs', 'nonResourceURLs'].filter((k) =>
    asStrings(rule[k]).some((x) => x === '*' || x.endsWith('*')),
  );
  return wild.length > 0 ? `wildcard in ${wild.join(', ')}` : undefined;
}

/** HCB-RBAC-NO-ESCALATION-VERBS: escalate, bind or impersonate, spelled out or through verb "*". */
export function escalationProblem(rule: Dict): string | undefined {
  const verbs = asStrings(rule.verbs).filter((v) => ESCALATION_VERBS.includes(v));
  if (verbs.length > 0) return `grants ${verbs.join(', ')}`;
  if (!asStrings(rule.verbs).includes('*')) return undefined;
  // Verb "*" includes escalate and bind where the rule reaches roles, impersonate where it reaches identities.
  const implied = new Set<string>();
  for (const res of ['roles', 'clusterroles'])
    for (const v of grantsOn(rule, RBAC_GROUP, res, ['escalate', 'bind'])) implied.add(v);
  for (const [group, res, verbs] of IMPERSONATION_TARGETS)
    for (const v of grantsOn(rule, group, res, verbs)) implied.add(v);
  return implied.size > 0 ? `verb "*" grants ${[...implied].join(', ')}` : undefined;
}

/**
 * HCB-RBAC-SECRETS-READ: get, list or watch on Secrets. A get restricted to named Secrets is the
 * accepted narrow form; list and watch with resourceNames are still reported.
 */
export function secretsReadProblem(rule: Dict): string | undefined {
  const verbs = grantsOn(rule, '', 'secrets', READ_VERBS);
  if (verbs.length === 0) return undefined;
  if (asStrings(rule.resourceNames).length > 0 && !verbs.includes('list') && !verbs.includes('watch')) return undefined;
  return `${verbs.join(', ')} on secrets`;
}

/** HCB-RBAC-PERSISTENT-VOLUMES. */
export function persistentVolumeWriteProblem(rule: Dict): string | undefined {
  const verbs = grantsOn(rule, '', 'persistentvolumes', ['create', 'update', 'patch', 'delete']);
  return verbs.length > 0 ? `${verbs.join(', ')} on persistentvolumes` : undefined;
}

/** HCB-RBAC-NETWORK-POLICY-WRITE. */
export function networkPolicyWriteProblem(rule: Dict): string | undefined {
  const verbs = grantsOn(rule, 'networking.k8s.io', 'networkpolicies', ['create', 'update', 'patch', 'delete']);
  return verbs.length > 0 ? `${verbs.join(', ')} on networkpolicies` : undefined;
}

/** Every problem `problem` finds in a role's rules, as "rule N: …". */
export function ruleProblems(role: Dict, problem: (rule: Dict) => string | undefined): string[] {
  return asDicts(role.rules)
    .map((r, i) => ({ i, p: problem(r) }))
    .filter((x) => x.p !== undefined)
    .map((x) => `rule ${x.i + 1}: ${x.p}`);
}
