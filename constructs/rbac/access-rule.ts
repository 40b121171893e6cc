import { Construct } from 'constructs';
import { PolicyRule } from 'cdk8s-plus-28/lib/imports/k8s';
import { BlueprintPropError } from '../common/errors';

/** One RBAC rule: verbs on resources of one API group. */
export interface AccessRule {
  /** API group; '' is the core group. */
  readonly apiGroup: string;
  /** Resources (and subresources such as 'pods/log'). No wildcards. */
  readonly resources: string[];
  /** Verbs. No wildcards; escalate, bind and impersonate are refused. */
  readonly verbs: string[];
  /**
   * Limits the rule to these object names.
   * @default - all objects of the resources
   */
  readonly resourceNames?: string[];
}

export const READ: readonly string[] = ['get', 'list', 'watch'];
export const WRITE: readonly string[] = ['create', 'delete', 'patch', 'update'];
/** Verbs that let a subject grant or assume more than it holds (BSI APP.4.4.A3). */
export const PRIVILEGE_VERBS: readonly string[] = ['bind', 'escalate', 'impersonate'];
const KNOWN_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/**
 * Checks rules against least privilege and renders them:
 * no wildcards, no escalate/bind/impersonate, no listing or watching Secrets, Secrets read only
 * by name, no token minting, no RBAC changes. Returns the rendered rules in the given order.
 */
export function renderLeastPrivilegeRules(
  scope: Construct,
  prop: string,
  rules: readonly AccessRule[],
  opts: { allowRbacWrites?: boolean } = {},
): PolicyRule[] {
  if (!Array.isArray(rules))
    throw new BlueprintPropError(
      scope,
      prop,
      rules,
      'must be a list of rules',
      'pass [{ apiGroup, resources, verbs }]',
    );
  return rules.map((r, i) => {
    const p = `${prop}[${i}]`;
    if (typeof r?.apiGroup !== 'string' || r.apiGroup.includes('*')) {
      throw new BlueprintPropError(
        scope,
        `${p}.apiGroup`,
        r?.apiGroup,
        'must name one API group, no wildcard',
        "use '' for the core group or e.g. 'apps'",
      );
    }
    for (const [field, list] of [
      ['resources', r.resources],
      ['verbs', r.verbs],
    ] as const) {
      if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) {
        throw new BlueprintPropError(
          scope,
          `${p}.${field}`,
          list,
          'must be a non-empty list of names',
          `list the ${field} explicitly`,
        );
      }
      if (list.some((x) => x.includes('*'))) {
        throw new BlueprintPropError(
          scope,
          `${p}.${field}`,
          list,
          'contains a wildcard (BSI APP.4.4.A3: minimum necessary rights)',
          `list the ${field} explicitly`,
        );
      }
    }
    for (const v of r.verbs) {
      if (PRIVILEGE_VERBS.includes(v)) {
        throw new BlueprintPropError(
          scope,
          `${p}.verbs`,
          r.verbs,
          `"${v}" lets the holder gain rights it does not have`,
          `remove "${v}"; platform administrators grant such rights outside the blueprint's presets`,
        );
      }
      if (!KNOWN_VERBS.includes(v)) {
        throw new BlueprintPropError(
          scope,
          `${p}.verbs`,
          r.verbs,
          `"${v}" is not a Kubernetes API verb`,
          `use ${KNOWN_VERBS.join(', ')}`,
        );
      }
    }
    const names = r.resourceNames;
    if (
      names !== undefined &&
      (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || n === ''))
    ) {
      throw new BlueprintPropError(
        scope,
        `${p}.resourceNames`,
        names,
        'must be a non-empty list of names when given',
        'list object names or omit the field',
      );
    }
    if (r.apiGroup === '' && r.resources.includes('secrets')) {
      const bad = r.verbs.filter((v: string) => v === 'list' || v === 'watch');
      if (bad.length > 0) {
        throw new BlueprintPropError(
          scope,
          `${p}.verbs`,
          r.verbs,
          `"${bad.join('", "')}" on secrets reads every Secret of the namespace`,
          'read Secrets with get and resourceNames only',
        );
      }
      if (r.verbs.includes('get') && names === undefined) {
        throw new BlueprintPropError(
          scope,
          `${p}.resourceNames`,
          undefined,
          'get on secrets without resourceNames reads every Secret',
          'name the Secrets the identity may read',
        );
      }
    }
    if (r.apiGroup === '' && r.resources.includes('serviceaccounts/token')) {
      throw new BlueprintPropError(
        scope,
        `${p}.resources`,
        r.resources,
        'serviceaccounts/token mints tokens for other identities',
        'remove it; each identity gets its own token',
      );
    }
    if (
      !opts.allowRbacWrites &&
      r.apiGroup === 'rbac.authorization.k8s.io' &&
      r.verbs.some((v: string) => v !== 'get' && v !== 'list' && v !== 'watch')
    ) {
      throw new BlueprintPropError(
        scope,
        `${p}.verbs`,
        r.verbs,
        'changing RBAC is kept to namespace administrators and the platform',
        'grant read verbs only',
      );
    }
    return {
      apiGroups: [r.apiGroup],
      resources: [...r.resources],
      verbs: [...r.verbs].sort(),
      ...(names ? { resourceNames: [...names] } : {}),
    };
  });
}
