/**
 * CEL for ValidatingAdmissionPolicies, as data: the expressions a control record carries in its
 * `admission` part (policies/control.ts AdmissionCel) are built here from the same lists the
 * checks use (rbac-builtins.ts, rbac-rules.ts). constructs/admission/catalogue-admission-policies.ts
 * renders them; nothing here imports constructs/.
 */
import { BOOTSTRAP_LABEL, BOOTSTRAP_LABEL_VALUE, BUILTIN_ROLES_FLAGGED_BY } from './rbac-builtins';
import { ESCALATION_VERBS, IMPERSONATION_TARGETS, RBAC_GROUP } from './rbac-rules';

/**
 * CEL variables: the pod spec of a Pod, or the pod template of a workload controller, its
 * labels, and its containers (all of them, and without the ephemeral ones), as the catalogue's
 * checks read them.
 */
export const POD_SPEC_VARIABLES: ReadonlyArray<{ readonly name: string; readonly expression: string }> = [
  {
    name: 'podTemplate',
    expression:
      "object.kind == 'Pod' ? object : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template)",
  },
  { name: 'podSpec', expression: 'variables.podTemplate.spec' },
  {
    name: 'podLabels',
    expression:
      "has(variables.podTemplate.metadata) && has(variables.podTemplate.metadata.labels) ? variables.podTemplate.metadata.labels : {'': ''}",
  },
  {
    name: 'regularContainers',
    expression:
      '(has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []) + (has(variables.podSpec.containers) ? variables.podSpec.containers : [])',
  },
  {
    name: 'containers',
    expression:
      'variables.regularContainers + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])',
  },
];

// ------------------------------------------------------------------------------------------------
// CEL builders. Each mirrors one predicate of the catalogue (policies/catalogue/workloads.ts,
// policies/checks/rbac-rules.ts); test/unit/policies/differential.test.ts and
// test/e2e/admission-differential.test.ts hold them to the same verdicts on every fixture.
// ------------------------------------------------------------------------------------------------

export const celList = (xs: Iterable<string>): string =>
  `[${[...xs].map((x) => `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;

/** `field` of the container's securityContext if set there, else of the pod's (effective() in workloads.ts). */
export function effectiveCel(field: string): { set: string; value: string } {
  const own = `has(c.securityContext) && has(c.securityContext.${field})`;
  const pod = `has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.${field})`;
  return {
    set: `(${own}) || (${pod})`,
    value: `((${own}) ? c.securityContext.${field} : variables.podSpec.securityContext.${field})`,
  };
}

/** rbac-rules.ts grantsOn(r, group, resource, verbs) is not empty. */
function grants(group: string, resource: string, verbs: readonly string[]): string {
  const slash = resource.indexOf('/');
  const resources = ["x == '*'", `x == '${resource}'`, ...(slash > 0 ? [`x == '*${resource.slice(slash)}'`] : [])];
  return (
    `(has(r.apiGroups) && r.apiGroups.exists(g, g == '*' || g == '${group}')) && ` +
    `(has(r.resources) && r.resources.exists(x, ${resources.join(' || ')})) && ` +
    `(has(r.verbs) && r.verbs.exists(v, v == '*' || v in ${celList(verbs)}))`
  );
}

const RULE_PROBLEMS: Record<keyof typeof BUILTIN_ROLES_FLAGGED_BY, string> = {
  wildcards: ['apiGroups', 'resources', 'verbs', 'nonResourceURLs']
    .map((k) => `(has(r.${k}) && r.${k}.exists(x, x.endsWith('*')))`)
    .join(' || '),
  escalation:
    `(has(r.verbs) && r.verbs.exists(v, v in ${celList(ESCALATION_VERBS)})) || ` +
    `(has(r.verbs) && r.verbs.exists(v, v == '*') && (` +
    [
      ...['roles', 'clusterroles'].map((res) => grants(RBAC_GROUP, res, ['escalate', 'bind'])),
      ...IMPERSONATION_TARGETS.map(([group, res, verbs]) => grants(group, res, verbs)),
    ]
      .map((g) => `(${g})`)
      .join(' || ') +
    '))',
  secretsRead:
    `(${grants('', 'secrets', ['get', 'list', 'watch'])}) && ` +
    "(!has(r.resourceNames) || size(r.resourceNames) == 0 || r.verbs.exists(v, v in ['*', 'list', 'watch']))",
  persistentVolumeWrite: grants('', 'persistentvolumes', ['create', 'update', 'patch', 'delete']),
  networkPolicyWrite: grants('networking.k8s.io', 'networkpolicies', ['create', 'update', 'patch', 'delete']),
};

/** Key of a role in the built-in lists: a ClusterRole by name, a Role as namespace/name. */
const ROLE_KEY =
  "(object.kind == 'ClusterRole' ? object.metadata.name : request.namespace + '/' + object.metadata.name)";

/**
 * A role check (catalogue/rbac.ts ruleCheck): an aggregated role is not decided (its rules come
 * from other roles), a built-in role (bootstrap name and label) whose bootstrap rules the check
 * flags is not applicable, any other role complies when none of its rules has the problem.
 */
export function roleRule(flagged: keyof typeof BUILTIN_ROLES_FLAGGED_BY): string {
  const builtInFlagged =
    `has(object.metadata.labels) && '${BOOTSTRAP_LABEL}' in object.metadata.labels && object.metadata.labels['${BOOTSTRAP_LABEL}'] == '${BOOTSTRAP_LABEL_VALUE}' && ` +
    `${ROLE_KEY} in ${celList(BUILTIN_ROLES_FLAGGED_BY[flagged])}`;
  return (
    // dyn(): a Role has no aggregationRule, and the policy is type-checked against both kinds.
    "(object.kind == 'ClusterRole' && has(dyn(object).aggregationRule) && has(dyn(object).aggregationRule.clusterRoleSelectors)) || " +
    `(${builtInFlagged}) || ` +
    `!has(object.rules) || object.rules.all(r, !(${RULE_PROBLEMS[flagged]}))`
  );
}

export const BROAD_SUBJECT =
  "(s.kind == 'Group' && (s.name in ['system:authenticated', 'system:unauthenticated', 'system:anonymous', 'system:serviceaccounts'] || s.name.startsWith('system:serviceaccounts:'))) || (s.kind == 'User' && s.name == 'system:anonymous')";

export const SUBJECTS = '(has(object.subjects) ? object.subjects : [])';
